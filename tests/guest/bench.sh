# One benchmark run, inside a fresh VM (tools/bench/bench.py boots it):
#
#   bench.sh SCENARIO VARIANT SCALE SET [SECONDS]
#
# Turns swap on (/dev/vda), sets up SCENARIO's workload and VARIANT, and
# for SECONDS prints, about once a second, one "bench: sample" line of
# counters; then masim's per-phase accesses/ms ("bench: phase") and
# "bench: end". Tick counts (kdamond_ticks) are in USER_HZ, 100 per
# second. Every age-like value of a variant is multiplied by SCALE.
#
# Scenarios:
# - dama1, dama2, reuse: masim runs /samples/bench/SET/SCENARIO.cfg (SET:
#   full or quick); SECONDS defaults to the configuration's own length.
#   Variants: none (no DAMON); DAMON_RECLAIM: reclaim_default (its
#   defaults but min_age, scaled: 120 s), reclaim_custom (min_age 60 s),
#   reclaim_default_wm0 and reclaim_custom_wm0 (the same with its low
#   watermark 0, as the variants of damon_autotune below: its 20% low
#   watermark turns it off in these workloads); damon_autotune:
#   fixed_N (min_age N seconds, scaled, not tuned, low watermark 0: the
#   sweep whose best point is the oracle), autotune_min_age (min_age
#   tuned from 10 s, DAMON_RECLAIM's watermarks), autotune_min_age_wm
#   (the same, low watermark 0: it keeps working under pressure; the
#   default controller, or ALGO_OURS), autotune_min_age_dama_wm (the
#   same with DAMA's controller, autotune_min_age_algo=ALGO_DAMA),
#   autotune_free_goal (10% free memory goal on node 0, watermarks
#   always on: the goal decides how much it does), autotune_free_goal_nocap
#   (the same without the time quota, quota_ms=0: whether the controller
#   reaches the goal when the 10 ms/s cap does not bind; --variants only). Every damon_autotune
#   and DAMON_RECLAIM variant keeps the other parameters at their
#   defaults (the 10 ms/s time quota included), so that they differ only
#   in min_age and in how it is chosen. A variant whose module refuses
#   its parameters prints "bench: error" and ends the run: it never runs
#   the workload without its DAMON.
#   masim faults its pages in as it writes them (--no-populate): its
#   regions, populated at once, went out of memory with the swap disk
#   empty in most runs (all of 1 GiB just referenced, nothing to evict);
#   and kswapd's watermark gaps are 2% of memory (watermark_scale_factor
#   200) in every variant.
# - failcharge: the fail-charge RFC's case: 45% of the memory mlocked
#   (DAMON's pageout fails there), clean page cache (a sparse file on
#   /dev/vdb) filling all but 8%, reclaim with a hard quota of 8 MiB per
#   1 s interval, every region a target (min_age 0), until 40% is free.
#   SECONDS defaults to 60. Variants: reclaim_quota (DAMON_RECLAIM, the
#   quota, watermarks at 40% free), failcharge_off (damon_autotune, a
#   40% free goal, upstream charging), failcharge_on (the same with
#   fail_charge_num=1 fail_charge_denom=4096).
. /test/lib.sh
scenario=$1 variant=$2 scale=$3 cfg=/samples/bench/$4/$1.cfg secs=${5:-0}
us() { awk -v s="$1" -v k="$scale" 'BEGIN { printf "%d", s * k * 1000000 }'; }
R=/sys/module/damon_reclaim/parameters

FC_QUOTA=$((8 << 20))
# The min_age controllers (autotune_min_age_algo) of "ours" and of DAMA's:
# empty is the module's default (the parameter is not passed at all).
ALGO_OURS=
ALGO_DAMA=dama

# load_module PARAM=VALUE...: damon_autotune, enabled, with these
# parameters. A refusal, or a parameter the module does not have (the
# kernel loads a module with an unknown parameter, only warning that it
# ignored it), ends the run with a "bench: error" line that says why:
# bench.py reports it and does not run the variant again.
load_module() {
	local out kv
	out=$(insmod /damon_autotune.ko enabled=Y "$@" 2>&1) || {
		echo "bench: error insmod refused $*: $out"
		exit 1
	}
	for kv in "$@"; do
		[ -e "$P/${kv%%=*}" ] || {
			echo "bench: error damon_autotune has no parameter ${kv%%=*} (given $kv)"
			exit 1
		}
	done
}
mkswap /dev/vda >/dev/null && swapon /dev/vda || { echo "bench: error no swap"; exit 1; }
kunit_quiet

[ "$scenario" = failcharge ] || echo 200 > /proc/sys/vm/watermark_scale_factor

# The fail-charge workload comes first: reclaim starts on it, ready.
if [ "$scenario" = failcharge ]; then
	printf 'pinned, %dK\ntouch, 4K\n\nrun\n6000000\ntouch, 0, 4096, 1\n' \
		$(( $(node_kb MemTotal) * 45 / 100 )) > /tmp/pin.cfg
	start_masim /tmp/pin.cfg --mlock pinned || { echo "bench: error masim"; exit 1; }
	mkdir -p /mnt/scratch && mount -t ext4 /dev/vdb /mnt/scratch ||
		{ echo "bench: error no disk"; exit 1; }
	fill_page_cache /mnt/scratch/cache $(( $(node_kb MemFree) - $(node_kb MemTotal) * 8 / 100 ))
	[ "$secs" -gt 0 ] || secs=60
fi

case $variant in
none) ;;
reclaim_default | reclaim_custom | reclaim_default_wm0 | reclaim_custom_wm0)
	age=120; [ "${variant#reclaim_custom}" = "$variant" ] || age=60
	echo "$(us $age)" > $R/min_age
	[ "${variant%_wm0}" = "$variant" ] || echo 0 > $R/wmarks_low
	echo Y > $R/enabled ;;
fixed_*)
	age=${variant#fixed_}
	case $age in '' | *[!0-9]*) echo "bench: error bad variant $variant"; exit 1 ;; esac
	load_module min_age="$(us "$age")" wmarks_low=0 ;;
autotune_min_age | autotune_min_age_wm | autotune_min_age_dama_wm)
	low=200; [ "$variant" = autotune_min_age ] || low=0
	algo=$ALGO_OURS; [ "$variant" = autotune_min_age_dama_wm ] && algo=$ALGO_DAMA
	load_module autotune_min_age=Y min_age="$(us 10)" \
		min_age_min="$(us 1)" min_age_max="$(us 600)" wmarks_low=$low \
		${algo:+autotune_min_age_algo=$algo} \
		autotune_min_age_interval_ms="$(awk -v k="$scale" 'BEGIN { printf "%d", 5000 * k }')" ;;
autotune_free_goal | autotune_free_goal_nocap)
	cap=; [ "$variant" = autotune_free_goal_nocap ] && cap=quota_ms=0
	load_module min_age="$(us 10)" quota_mem_free_goal_bp=1000 \
		quota_goal_nid=0 wmarks_high=1000 wmarks_mid=999 wmarks_low=0 $cap ;;
reclaim_quota)
	for kv in min_age=0 quota_ms=0 quota_sz=$FC_QUOTA quota_reset_interval_ms=1000 \
		wmarks_high=400 wmarks_mid=399 wmarks_low=0 enabled=Y; do
		echo "${kv#*=}" > "$R/${kv%%=*}"
	done ;;
failcharge_off | failcharge_on)
	num=0 denom=0; [ "$variant" = failcharge_on ] && num=1 denom=4096
	load_module min_age=0 \
		wmarks_high=1000 wmarks_mid=999 wmarks_low=0 wmarks_interval=1000000 \
		quota_ms=0 quota_sz=$FC_QUOTA quota_reset_interval_ms=1000 \
		quota_goal_nid=0 quota_mem_free_goal_bp=4000 quota_goal_tuner=temporal \
		fail_charge_num=$num fail_charge_denom=$denom ;;
*) echo "bench: error unknown variant $variant"; exit 1 ;;
esac

# Where the variant's DAMON counters are: DAMON_RECLAIM's or ours.
case $variant in
reclaim_*) D=$R ;;
autotune_* | failcharge_* | fixed_*) D=$P ;;
*) D=/nonexistent ;;
esac
# What the variant runs with, as read back (one line).
[ -d "$D" ] && echo "bench: params $(cd "$D" && grep -H . * 2>/dev/null | tr '\n' ' ')"
KPID=-1

# sample T: one "bench: sample" line, read by a single awk (forks are slow
# under memory pressure in TCG): /proc/vmstat, the PSI totals, DAMON's
# bytes and our tuned values, the kdamond's user+system ticks, node 0's
# free memory.
sample() {
	awk -v t="$1" -v d="$D" -v kstat="/proc/$KPID/stat" '
	function get(f,    v) { v = 0; if ((getline v < f) <= 0) v = 0; close(f); return v }
	function getm(f,    v) { v = -1; if ((getline v < f) <= 0) v = -1; close(f); return v }
	FILENAME == "/proc/vmstat" && $1 ~ /^(pgsteal_kswapd|pgsteal_direct|workingset_refault_anon|workingset_refault_file|pgfault|pgmajfault|pswpin|pswpout)$/ {
		out = out $1 "=" $2 " "
	}
	FILENAME ~ /^\/proc\/pressure\// && $1 == "some" {
		split($5, a, "="); r = FILENAME; sub(/.*\//, "", r)
		out = out "psi_" r "_total_us=" a[2] " "
	}
	FILENAME ~ /node0\/meminfo$/ && $3 == "MemTotal:" { tot = $4 }
	FILENAME ~ /node0\/meminfo$/ && $3 == "MemFree:" { free = $4 }
	END {
		ticks = 0
		if ((getline line < kstat) > 0) { split(line, s, " "); ticks = s[14] + s[15] }
		printf "bench: sample t=%s %sdamon_bytes=%.0f damon_tried=%.0f quota_exceeds=%d kdamond_ticks=%d min_age_us=%.0f quota_sz=%.0f wanted_sz=%.0f saturated=%d last_window=%.0f goal_bp=%d free_bp=%d\n", \
			t, out, get(d "/bytes_reclaimed_regions"), get(d "/bytes_reclaim_tried_regions"), \
			get(d "/nr_quota_exceeds"), ticks, get(d "/current_min_age"), \
			get(d "/effective_quota_sz"), get(d "/wanted_quota_sz"), get(d "/nr_quota_saturated"), \
			getm(d "/bytes_reclaimed_last_interval"), get(d "/goal_score_bp"), tot ? int(free * 10000 / tot) : 0
	}' /proc/vmstat /proc/pressure/memory /proc/pressure/io /proc/pressure/cpu \
		/sys/devices/system/node/node0/meminfo
}

if [ "$scenario" != failcharge ]; then
	start_masim "$cfg" --loops 0 --no-populate || { echo "bench: error masim"; exit 1; }
	[ "$secs" -gt 0 ] || secs=$(awk '/^[0-9]+$/ {ms += $1} END {print int(ms / 1000)}' "$cfg")
fi
# The kdamond whose CPU time counts, once it runs.
[ -f "$D/kdamond_pid" ] && wait_until 10 sh -c "[ \$(cat $D/kdamond_pid) -gt 0 ]" && KPID=$(cat "$D/kdamond_pid")
echo "bench: start scenario=$scenario variant=$variant scale=$scale seconds=$secs kdamond=$KPID fc_quota=$FC_QUOTA"
# t: seconds since the workload started, by the clock (a sample takes a
# while under TCG); read without a fork.
up() { read -r u _ < /proc/uptime; echo "${u%.*}"; }
t0=$(up)
while [ $(( $(up) - t0 )) -le "$secs" ]; do
	sample "$(( $(up) - t0 ))"
	sleep 1
done
stop_masim
sed -n 's/^masim: phase \([^:]*\): .* \([0-9.]*\) accesses\/ms$/bench: phase \1 \2/p' /tmp/masim.log
echo "bench: end"
echo "itest: done"
