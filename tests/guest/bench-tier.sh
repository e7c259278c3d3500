# The benchmark's tiering scenario, inside a fresh VM booted with
# --numa 2 --mem 1024M (node 0: the CPUs, fast; node 1: CPU-less, slow):
#
#   bench-tier.sh VARIANT SCALE [SECONDS]
#
# The seeds' DAMOS-based tiering with the fast node filled. masim holds a
# cold filler of 68% of node 0's MemTotal on node 0 (written once, never
# touched again) and a hot set of 30% of it on node 1, read and written
# all the time at random 4 KiB strides. Filler and hot set together do
# not fit on node 0, so the hot set gets there only as far as cold pages
# make room. The ideal end: the whole hot set on node 0, as much of the
# filler demoted as that needs, node 0's used memory held at the
# promotion goal (goal_used_bp, the module's default 99.7%).
#
# Variants (every age-like value is multiplied by SCALE):
# - none: no tiering; the hot set stays on node 1.
# - damon_static: the nearest 6.12 has to upstream's samples/damon/mtier.c
#   (whose node-memory quota goals need 6.16), through the DAMON sysfs
#   interface: a paddr kdamond per node, node 1's migrate_hot (regions
#   accessed at all, young pages only) to node 0, node 0's migrate_cold
#   (not accessed for 1 s x SCALE, young pages left alone) to node 1, fixed
#   quotas of 200 MiB per 1 s, no goals, no watermarks; the module's
#   tiering intervals and region numbers.
# - autotune_tier: damon_autotune's tiering on 0,1 with its defaults,
#   tier_cold_min_age 1 s x SCALE (its default 1 s).
#
# For SECONDS (default 120) after the variant starts it prints, every 1-2
# s, one "bench: sample" line: t (s since the start, /proc/uptime), hot0
# and cold0 (% of the hot set and of the filler on node 0, from
# numa_maps), used0_bp, free0_bp, used1_bp (node meminfo), promoted and
# demoted (bytes migrated by the variant so far) and kdamond_ticks
# (utime + stime of all kdamonds, USER_HZ); then "bench: end". On a
# set-up failure: "bench: error WHY", exit status 1.
#
# Sizes come from node 0's MemTotal at run time (about 330 MiB on the
# KASAN test kernel: 224 MiB of filler, 99 MiB of hot set).
. /test/lib.sh
variant=$1 scale=$2 secs=${3:-120}
us() { awk -v s="$1" -v k="$scale" 'BEGIN { printf "%d", s * k * 1000000 }'; }
K=/sys/kernel/mm/damon/admin/kdamonds
GOAL_BP=9970 COLD_AGE_US=$(us 1) AGGR_US=100000 QUOTA=$((200 << 20))
die() { echo "bench: error $*"; exit 1; }

[ -d /sys/devices/system/node/node1 ] || die "no node 1"
kunit_quiet 2>/dev/null

# The workload first: the variant starts on it, ready.
total=$(node_kb MemTotal 0)
cold_kb=$((total * 68 / 100)) hot_kb=$((total * 30 / 100))
printf 'cold, %dK\nhot, %dK\n\nrun\n3600000\nhot, 1, 4096, 1\n' $cold_kb $hot_kb > /tmp/bt.cfg
start_masim /tmp/bt.cfg --loops 0 --bind cold:0 --bind hot:1 || die "masim: $(tail -n 1 /tmp/masim.log)"
[ "$(region_share cold 0)" -ge 95 ] || die "filler not on node 0"
[ "$(region_share hot 1)" -ge 95 ] || die "hot set not on node 1"
[ "$(node_kb MemFree 0)" -lt "$hot_kb" ] || die "the hot set fits on node 0 without demotion"
hot_at=$(sed -n 's/^masim: region hot at //p' /tmp/masim.log)
cold_at=$(sed -n 's/^masim: region cold at //p' /tmp/masim.log)

# static_context KDAMOND NODE: kdamond KDAMOND's one paddr context over
# NODE's memory, with the module's tiering intervals and region numbers,
# and one scheme directory (schemes/0) with a fixed 200 MiB per 1 s quota
# (mtier's weights), no goal, no watermarks.
static_context() {
	local c=$K/$1/contexts/0 range s
	range=$(node_range "$2")
	[ -n "$range" ] || die "no range for node $2"
	echo 1 > $K/$1/contexts/nr_contexts
	echo paddr > $c/operations
	echo 5000 > $c/monitoring_attrs/intervals/sample_us
	echo $AGGR_US > $c/monitoring_attrs/intervals/aggr_us
	echo 60000000 > $c/monitoring_attrs/intervals/update_us
	echo 10 > $c/monitoring_attrs/nr_regions/min
	echo 1000 > $c/monitoring_attrs/nr_regions/max
	echo 1 > $c/targets/nr_targets
	echo 1 > $c/targets/0/regions/nr_regions
	echo "${range% *}" > $c/targets/0/regions/0/start
	echo "${range#* }" > $c/targets/0/regions/0/end
	echo 1 > $c/schemes/nr_schemes
	s=$c/schemes/0
	echo 4096 > $s/access_pattern/sz/min
	echo 18446744073709551615 > $s/access_pattern/sz/max
	echo 0 > $s/quotas/ms
	echo $QUOTA > $s/quotas/bytes
	echo 1000 > $s/quotas/reset_interval_ms
	echo 0 > $s/quotas/weights/sz_permil
	echo 100 > $s/quotas/weights/nr_accesses_permil
	echo 100 > $s/quotas/weights/age_permil
	echo none > $s/watermarks/metric
	echo 1 > $s/filters/nr_filters
	echo young > $s/filters/0/type
}

# static_scheme KDAMOND ACTION TARGET_NID NR_ACCESSES_MIN NR_ACCESSES_MAX
# AGE_MIN YOUNG_FILTERED_OUT: the one scheme of kdamond KDAMOND (its
# context set up by static_context on the node of the same number).
static_scheme() {
	local s=$K/$1/contexts/0/schemes/0
	static_context "$1" "$1"
	echo "$2" > $s/action
	echo "$3" > $s/target_nid
	echo "$4" > $s/access_pattern/nr_accesses/min
	echo "$5" > $s/access_pattern/nr_accesses/max
	echo "$6" > $s/access_pattern/age/min
	echo 4294967295 > $s/access_pattern/age/max
	echo "$7" > $s/filters/0/matching
}

# PROMOTED, DEMOTED: the files whose values are the variant's bytes
# migrated (none: nothing, 0).
PROMOTED= DEMOTED=
case $variant in
none) ;;
damon_static)
	[ -d $K ] || die "no DAMON sysfs interface"
	echo 2 > $K/nr_kdamonds || die "nr_kdamonds"
	# Node 0's cold pages to node 1: regions not accessed for the cold
	# age (in aggregation intervals), minus the pages found young.
	static_scheme 0 migrate_cold 1 0 0 $((COLD_AGE_US / AGGR_US)) Y
	# Node 1's hot pages to node 0: regions accessed at least once per
	# aggregation interval, only the pages found young.
	static_scheme 1 migrate_hot 0 1 4294967295 0 N
	echo on > $K/0/state && echo on > $K/1/state || die "kdamonds do not start"
	PROMOTED=$K/1/contexts/0/schemes/0/stats/sz_applied
	DEMOTED=$K/0/contexts/0/schemes/0/stats/sz_applied ;;
autotune_tier)
	insmod /damon_autotune.ko enabled=Y reclaim=N tier=Y tier_nodes=0,1 \
		tier_cold_min_age="$COLD_AGE_US" || die "insmod"
	GOAL_BP=$(param tier_promote_goal_used_bp)
	PROMOTED=$P/tier_promote_bytes_migrated
	DEMOTED=$P/tier_demote_bytes_migrated ;;
*) die "unknown variant $variant" ;;
esac
read -r t0 _ < /proc/uptime
# The kdamonds' stat files, found once (they run until the end; their
# threads exist once insmod or "echo on" returns). No fork: the first
# seconds are slow, the kdamonds and masim taking both CPUs.
KSTATS= nk=0
for f in /proc/[0-9]*/comm; do
	read -r c < "$f" 2>/dev/null
	case $c in kdamond*) KSTATS="$KSTATS ${f%comm}stat" nk=$((nk + 1)) ;; esac
done
[ "$variant" = none ] || [ $nk -ge 2 ] || die "$nk kdamonds"
echo "bench: start scenario=tiering variant=$variant scale=$scale seconds=$secs hot_mib=$((hot_kb / 1024)) cold_mib=$((cold_kb / 1024)) goal_used_bp=$GOAL_BP"

# sample: one "bench: sample" line from a single awk (forks are slow under
# memory pressure in TCG): masim's numa_maps, both nodes' meminfo, the
# migrated-bytes files and the kdamonds' stat files.
sample() {
	awk -v t0="$t0" -v hot="$hot_at" -v cold="$cold_at" -v pf="$PROMOTED" -v df="$DEMOTED" \
		-v ks="$KSTATS" '
	function get(f,    v) { v = 0; if (f == "" || (getline v < f) <= 0) v = 0; close(f); return v }
	function bp(n, what) { return tot[n] ? int((what == "used" ? tot[n] - free[n] : free[n]) * 10000 / tot[n]) : 0 }
	function pct(a) { return all[a] ? on0[a] * 100 / all[a] : 0 }
	FILENAME ~ /numa_maps$/ && ($1 == hot || $1 == cold) {
		for (i = 2; i <= NF; i++) if ($i ~ /^N[0-9]+=/) {
			split($i, kv, "=")
			all[$1] += kv[2]
			if (kv[1] == "N0") on0[$1] += kv[2]
		}
	}
	FILENAME ~ /meminfo$/ && $3 == "MemTotal:" { tot[$2] = $4 }
	FILENAME ~ /meminfo$/ && $3 == "MemFree:" { free[$2] = $4 }
	# Node 0: pages on the per-CPU free lists, which MemFree leaves out.
	FILENAME == "/proc/zoneinfo" && $1 == "Node" { zn = $2 + 0 }
	FILENAME == "/proc/zoneinfo" && $1 == "count:" && zn == 0 { pcp0 += $2 }
	END {
		getline up < "/proc/uptime"; split(up, u, " ")
		n = split(ks, kf, " "); ticks = 0
		for (i = 1; i <= n; i++) {
			if ((getline line < kf[i]) > 0) { split(line, s, " "); ticks += s[14] + s[15] }
			close(kf[i])
		}
		printf "bench: sample t=%.1f hot0=%.1f cold0=%.1f used0_bp=%d free0_bp=%d used1_bp=%d promoted=%.0f demoted=%.0f kdamond_ticks=%d pcp0_kib=%d\n", \
			u[1] - t0, pct(hot), pct(cold), bp(0, "used"), bp(0, "free"), bp(1, "used"), \
			get(pf), get(df), ticks, pcp0 * 4
	}' "/proc/$masim_pid/numa_maps" /sys/devices/system/node/node0/meminfo \
		/sys/devices/system/node/node1/meminfo /proc/zoneinfo
}

# damon_static: the sysfs stats files change only on request, which the
# kdamond serves after its next aggregation: up to 15 s later while it
# migrates 200 MiB under TCG on the KASAN kernel. Asked for in the
# background every second, so that no sample waits (a sample shows the
# values of the last request served); after the last, one more sample
# with the final counts, once both kdamonds served a request.
updater=
if [ "$variant" = damon_static ]; then
	while :; do
		echo update_schemes_stats > $K/0/state
		echo update_schemes_stats > $K/1/state
		sleep 1
	done 2>/dev/null &
	updater=$!
fi

while :; do
	read -r u _ < /proc/uptime
	[ $(( ${u%.*} - ${t0%.*} )) -le "$secs" ] || break
	sample
	sleep 1
done
if [ -n "$updater" ]; then
	kill "$updater"
	wait "$updater" 2>/dev/null
	echo update_schemes_stats > $K/0/state
	echo update_schemes_stats > $K/1/state
	sample
fi
echo "bench: end"
stop_masim
case $variant in
damon_static) echo off > $K/0/state; echo off > $K/1/state ;;
autotune_tier) rmmod damon_autotune ;;
esac
echo "itest: done"
