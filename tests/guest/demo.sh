# The demo `make run` boots (tools/run.sh), in a VM with two NUMA nodes
# (node 0: the CPUs, fast; node 1: CPU-less, slow) and a swap disk:
#
#   demo.sh [MODE [SECONDS]]
#
# MODE autotune (default): damon_autotune with reclaim aimed at a free-
# memory goal on the slow node, fail-charge, min_age tuning and tiering on
# 0,1, all in one DAMON group. MODE reclaim: the built-in DAMON_RECLAIM
# on the same workload, with the same starting min_age (fixed) and its
# watermarks always active (its defaults switch it off below 20% free,
# where this workload lives); it has neither a goal nor tiering. Both run
# without a time quota (quota_ms=0; the size quota stays 128 MiB per 1 s):
# under TCG, 10 ms of pageout a second (the default) is a few KiB, and
# damon_autotune's goal loop never exceeds the time quota.
#
# The workload (masim, sized from the nodes' MemTotal at run time): a cold
# set written once and never touched again (on node 0, where it takes the
# fast memory), four warm sets used in turn, one 2 s phase each (each is
# idle for 6 s of every 8), and a hot set, read and written in every
# phase; the warm and hot sets on node 1, which they fill to about 92%,
# so that the goal's 30% free is not met at the start, in every run (left
# to the kernel, the warm sets landed on either node, and node 1 started
# 39.6% free in one run and 2.2% in the next). Together (cold 40% of
# memory, warm 4 x 9%, hot 10%) they exceed what fits in memory with the
# goal met: something has to go to swap, and the hot set belongs on node
# 0, where the cold set leaves too little room for it.
#
# For SECONDS (default 120) after the variant starts it prints, about once
# a second, one "demo: sample" line (tools/demo.py turns them into the
# table, the summary and the plot): t (s since the start), free0_bp and
# free1_bp (node meminfo), quota (the effective size quota, bytes),
# min_age_us (the one in force), swpout (pages written to swap so far, by
# anyone: DAMON's pageout of anonymous memory is asynchronous and its
# bytes_reclaimed_regions does not count it), damon_tried (bytes DAMON's
# reclaim tried), promoted and demoted (bytes migrated by tiering),
# refaults (workingset_refault_anon + _file), acc_ms (masim's accesses/ms
# in its last phase) and hot0 (% of the hot set's resident pages on node
# 0). Then "demo: end".
. /test/lib.sh
mode=${1:-autotune} secs=${2:-120}
R=/sys/module/damon_reclaim/parameters
# The goal: 30% of the slow node free. Tiering fills the fast node with
# hot memory (up to tier_promote_goal_used_bp of it in use) and demotes
# cold memory to the slow one; reclaim keeps room there by paging the
# coldest memory out. A free-memory goal on node 0 would fight promotion.
GOAL_NID=1 GOAL_BP=3000
MIN_AGE_US=2000000
say() { echo "demo: $*"; }
die() {
	say "error $*"
	echo "itest: not ok demo_runs: $*"
	echo "itest: done"
	exit 1
}

[ -d /sys/devices/system/node/node1 ] || die "no node 1: boot with --numa 2"
mkswap /dev/vda >/dev/null 2>&1 && swapon /dev/vda || die "no swap on /dev/vda"
kunit_quiet 2>/dev/null
say "kernel $(uname -r), node 0 $(($(node_kb MemTotal 0) / 1024)) MiB, node 1 $(($(node_kb MemTotal 1) / 1024)) MiB, swap $(awk '/SwapTotal/ {print int($2 / 1024)}' /proc/meminfo) MiB"

# The workload first: the variant starts on it, ready.
total=$(( $(node_kb MemTotal 0) + $(node_kb MemTotal 1) ))
cold_kb=$((total * 40 / 100)) warm_kb=$((total * 9 / 100)) hot_kb=$((total * 10 / 100))
{
	printf 'cold, %dK\n' $cold_kb
	for w in a b c d; do printf 'warm_%s, %dK\n' $w $warm_kb; done
	printf 'hot, %dK\n' $hot_kb
	for w in a b c d; do
		printf '\nwarm_%s\n2000\nhot, 1, 4096, 1\nwarm_%s, 1, 4096, 1\n' $w $w
	done
} > /tmp/demo.cfg
say "workload: masim, hot $((hot_kb / 1024)) MiB and 4 x $((warm_kb / 1024)) MiB warm used in turn (node 1), $((cold_kb / 1024)) MiB cold (node 0); writing it"
start_masim /tmp/demo.cfg --loops 0 --bind cold:0 --bind hot:1 \
	--bind warm_a:1 --bind warm_b:1 --bind warm_c:1 --bind warm_d:1 || die "masim: $(tail -n 1 /tmp/masim.log)"
hot_at=$(sed -n 's/^masim: region hot at //p' /tmp/masim.log)
say "workload ready: hot set $(region_share hot 0)% on node 0, node 0 free $(node_free_bp 0) bp, node 1 free $(node_free_bp 1) bp"

case $mode in
autotune)
	insmod /damon_autotune.ko enabled=Y \
		quota_goal_nid=$GOAL_NID quota_mem_free_goal_bp=$GOAL_BP \
		wmarks_high=1000 wmarks_mid=999 wmarks_low=0 \
		fail_charge_num=1 fail_charge_denom=4096 \
		autotune_min_age=Y min_age=$MIN_AGE_US min_age_min=1000000 min_age_max=60000000 \
		quota_ms=0 \
		tier=Y tier_nodes=0,1 || die "insmod damon_autotune"
	D=$P
	say "damon_autotune: goal node $GOAL_NID free $GOAL_BP bp (tuner $(param quota_goal_tuner)), fail-charge 1/4096, min_age tuned from $((MIN_AGE_US / 1000000)) s in 1-60 s, tiering on $(param tier_active_nodes) (node 0 used up to $(param tier_promote_goal_used_bp) bp), $(nr_kdamonds) kdamonds"
	;;
reclaim)
	[ -d $R ] || die "no DAMON_RECLAIM in this kernel"
	for kv in min_age=$MIN_AGE_US quota_ms=0 wmarks_high=1000 wmarks_mid=999 wmarks_low=0 enabled=Y; do
		echo "${kv#*=}" > "$R/${kv%%=*}" || die "DAMON_RECLAIM ${kv%%=*}"
	done
	D=$R
	say "DAMON_RECLAIM: min_age $((MIN_AGE_US / 1000000)) s fixed, quota $(cat $R/quota_ms) ms / $(($(cat $R/quota_sz) >> 20)) MiB per $(cat $R/quota_reset_interval_ms) ms, watermarks always active, no goal, no tiering"
	;;
*) die "unknown mode $mode (autotune, reclaim)" ;;
esac
wait_until 10 sh -c "[ \$(cat $D/kdamond_pid) -gt 0 ]" || die "no kdamond"
echo "itest: ok demo_${mode}_started"
read -r t0 _ < /proc/uptime
say "start mode=$mode seconds=$secs goal_nid=$GOAL_NID goal_bp=$GOAL_BP tier_goal_used_bp=$( [ $mode = autotune ] && param tier_promote_goal_used_bp || echo 0) hot_mib=$((hot_kb / 1024)) warm_mib=$((warm_kb / 1024)) cold_mib=$((cold_kb / 1024))"

# sample: one "demo: sample" line from a single awk (forks are slow under
# memory pressure in TCG).
sample() {
	awk -v t0="$t0" -v d="$D" -v hot="$hot_at" -v mode="$mode" '
	function get(f,    v) { v = 0; if ((getline v < f) <= 0) v = 0; close(f); return v }
	FILENAME ~ /meminfo$/ && $3 == "MemTotal:" { tot[$2] = $4 }
	FILENAME ~ /meminfo$/ && $3 == "MemFree:" { free[$2] = $4 }
	FILENAME == "/proc/vmstat" { vm[$1] = $2 }
	FILENAME ~ /numa_maps$/ && $1 == hot {
		for (i = 2; i <= NF; i++) if ($i ~ /^N[0-9]+=/) {
			split($i, kv, "=")
			all += kv[2]
			if (kv[1] == "N0") on0 += kv[2]
		}
	}
	FILENAME ~ /masim.log$/ && / accesses\/ms$/ { acc = $(NF - 1) }
	END {
		getline up < "/proc/uptime"; split(up, u, " ")
		if (mode == "autotune") {
			quota = get(d "/effective_quota_sz"); age = get(d "/current_min_age")
			pro = get(d "/tier_promote_bytes_migrated"); dem = get(d "/tier_demote_bytes_migrated")
		} else {
			quota = get(d "/quota_sz"); age = get(d "/min_age"); pro = 0; dem = 0
		}
		printf "demo: sample t=%.1f free0_bp=%d free1_bp=%d quota=%.0f min_age_us=%.0f swpout=%d damon_tried=%.0f promoted=%.0f demoted=%.0f refaults=%d acc_ms=%.1f hot0=%.1f\n", \
			u[1] - t0, tot[0] ? free[0] * 10000 / tot[0] : 0, tot[1] ? free[1] * 10000 / tot[1] : 0, \
			quota, age, vm["pswpout"], get(d "/bytes_reclaim_tried_regions"), pro, dem, \
			vm["workingset_refault_anon"] + vm["workingset_refault_file"], acc, all ? on0 * 100 / all : 0
	}' /sys/devices/system/node/node0/meminfo /sys/devices/system/node/node1/meminfo \
		/proc/vmstat "/proc/$masim_pid/numa_maps" /tmp/masim.log
}

n=0
while :; do
	read -r u _ < /proc/uptime
	[ $(( ${u%.*} - ${t0%.*} )) -le "$secs" ] || break
	sample
	n=$((n + 1))
	sleep 1
done
say "end samples=$n"
phases=$(grep -c ' accesses/ms$' /tmp/masim.log)
[ $mode = autotune ] &&
	say "min_age increases $(param min_age_increases), decreases $(param min_age_decreases); goal score $(param goal_score_bp) bp; quota saturated in $(param nr_quota_saturated) windows"
stop_masim
case $mode in
autotune) rmmod damon_autotune ;;
reclaim) echo N > $R/enabled ;;
esac
check_num demo_workload_ran "$phases" -ge $((secs / 4)) "$phases"
check_num demo_sampled "$n" -ge $((secs / 3)) "$n"
echo "itest: done"
