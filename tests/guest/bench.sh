# One benchmark run, inside a fresh VM (tools/bench/bench.py boots it):
#
#   bench.sh SCENARIO VARIANT SCALE SET [SECONDS]
#
# Turns swap on (/dev/vda), sets up VARIANT, runs masim on
# /samples/bench/SET/SCENARIO.cfg (SET: full or quick) for SECONDS
# (default: the configuration's own length) and prints, once a second, one "bench: sample" line of counters,
# then masim's per-phase accesses/ms ("bench: phase") and "bench: end".
# Tick counts (kdamond_ticks) are in USER_HZ, 100 per second.
# Every age-like value of a variant is multiplied by SCALE.
#
# Variants: none (no DAMON), reclaim_default (DAMON_RECLAIM, defaults but
# min_age), reclaim_custom (DAMON_RECLAIM, min_age 60 s), autotune_min_age
# (damon_autotune, min_age tuned from 10 s), autotune_free_goal
# (damon_autotune, 10% free memory goal on node 0).
. /test/lib.sh
scenario=$1 variant=$2 scale=$3 cfg=/samples/bench/$4/$1.cfg secs=${5:-0}
us() { awk -v s="$1" -v k="$scale" 'BEGIN { printf "%d", s * k * 1000000 }'; }
R=/sys/module/damon_reclaim/parameters

mkswap /dev/vda >/dev/null && swapon /dev/vda || { echo "bench: error no swap"; exit 1; }
kunit_quiet
case $variant in
none) ;;
reclaim_default | reclaim_custom)
	age=120; [ "$variant" = reclaim_custom ] && age=60
	echo "$(us $age)" > $R/min_age
	echo Y > $R/enabled ;;
autotune_min_age)
	insmod /damon_autotune.ko enabled=Y autotune_min_age=Y min_age="$(us 10)" \
		min_age_min="$(us 1)" min_age_max="$(us 600)" \
		autotune_min_age_interval_ms="$(awk -v k="$scale" 'BEGIN { printf "%d", 5000 * k }')" ;;
autotune_free_goal)
	insmod /damon_autotune.ko enabled=Y min_age="$(us 10)" quota_mem_free_goal_bp=1000 \
		quota_goal_nid=0 ;;
*) echo "bench: error unknown variant $variant"; exit 1 ;;
esac

# The kdamond whose CPU time counts: DAMON_RECLAIM's or ours.
kpid() {
	case $variant in
	reclaim_*) cat $R/kdamond_pid ;;
	autotune_*) cat "$P/kdamond_pid" ;;
	*) echo -1 ;;
	esac
}
damon_bytes() {
	case $variant in
	reclaim_*) cat $R/bytes_reclaimed_regions ;;
	autotune_*) param bytes_reclaimed_regions ;;
	*) echo 0 ;;
	esac
}
opt() { [ -f "$P/$1" ] && cat "$P/$1" || echo 0; }
sample() {
	local pid ticks=0
	pid=$(kpid)
	[ "$pid" -gt 0 ] 2>/dev/null && ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null)
	echo "bench: sample t=$1 $(awk '/^(pgsteal_kswapd|pgsteal_direct|workingset_refault_anon|workingset_refault_file|pgfault|pgmajfault|pswpin|pswpout) / {printf "%s=%s ", $1, $2}' /proc/vmstat)$(for r in memory io cpu; do awk -v r="$r" '/^some/ {split($5, a, "="); printf "psi_%s_total_us=%s ", r, a[2]}' "/proc/pressure/$r"; done)damon_bytes=$(damon_bytes) kdamond_ticks=${ticks:-0} min_age_us=$(opt current_min_age) quota_sz=$(opt effective_quota_sz) goal_bp=$(opt goal_score_bp) free_bp=$(node_free_bp 0)"
}

start_masim "$cfg" --loops 0 || { echo "bench: error masim"; exit 1; }
[ "$secs" -gt 0 ] || secs=$(awk '/^[0-9]+$/ {ms += $1} END {print int(ms / 1000)}' "$cfg")
echo "bench: start scenario=$scenario variant=$variant scale=$scale seconds=$secs"
# t: seconds since the workload started (a sample takes a while under TCG).
now() { cut -d' ' -f1 /proc/uptime; }
t0=$(now)
t=0
while awk -v t="$t" -v s="$secs" 'BEGIN { exit !(t <= s) }'; do
	sample "$t"
	sleep 1
	t=$(awk -v a="$(now)" -v b="$t0" 'BEGIN { printf "%.2f", a - b }')
done
stop_masim
sed -n 's/^masim: phase \([^:]*\): .* \([0-9.]*\) accesses\/ms$/bench: phase \1 \2/p' /tmp/masim.log
echo "bench: end"
echo "itest: done"
