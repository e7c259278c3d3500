# quota_ms limits the rate: DAMON turns the time quota into a size (the
# throughput it has measured, bytes tried per ns of trying, times
# quota_ms) and tries at most that per quota reset interval. Reclaim with
# no size quota, min_age 0 (every region not accessed is a target, free
# memory included) and always active, for 10 s with quota_ms=1 and with
# quota_ms=200: the bytes tried per second with 1 ms are a small part of
# those with 200 ms (a quarter at most), for damon_autotune and, as the
# control, DAMON_RECLAIM with the same parameters in this boot.
itest_plan 10

qms_saved=$(params_save $R min_age quota_ms quota_sz quota_reset_interval_ms \
	wmarks_high wmarks_mid wmarks_low wmarks_interval)
rmmod damon_autotune 2>/dev/null
check qms_insmod insmod /damon_autotune.ko
QMS_ALWAYS="min_age=0 quota_sz=0 quota_reset_interval_ms=1000 wmarks_high=1000 wmarks_mid=999 wmarks_low=0 wmarks_interval=1000000"

# tried_per_s DIR MS: bytes DIR's reclaimer tries per second over 10 s
# (3 s after enabling), with quota_ms=MS; prints nothing if it could not
# be enabled or a counter could not be read.
tried_per_s() {
	local d=$1 t0 t1 esz=
	# shellcheck disable=SC2086
	reclaimer_on "$d" $QMS_ALWAYS quota_ms="$2" || return 1
	sleep 3
	t0=$(cat "$d/bytes_reclaim_tried_regions")
	sleep 10
	t1=$(cat "$d/bytes_reclaim_tried_regions")
	[ -e "$d/effective_quota_sz" ] && esz=", effective_quota_sz $(cat "$d/effective_quota_sz") B"
	reclaimer_off "$d"
	is_int "$t0" "$t1" || return 1
	echo "quota_ms: $(basename "$(dirname "$d")") quota_ms=$2: tried $(( (t1 - t0) / 10 >> 10 )) KiB/s$esz" >&2
	echo $(( (t1 - t0) / 10 ))
}

for who in autotune:$P reclaim:$R; do
	name=${who%%:*} d=${who#*:}
	small=$(tried_per_s "$d" 1)
	large=$(tried_per_s "$d" 200)
	check "qms_${name}_runs_with_1ms" [ -n "$small" ]
	check "qms_${name}_runs_with_200ms" [ -n "$large" ]
	check_num "qms_${name}_1ms_tries" "$small" -gt 0
	check_num "qms_${name}_1ms_limits_rate" $((4 * ${small:-0})) -le "${large:-0}" "$small" "$large"
	eval "SMALL_$name=\$small LARGE_$name=\$large"
done
echo "quota_ms: KiB/s tried, 1 ms / 200 ms: damon_autotune $((${SMALL_autotune:-0} >> 10)) / $((${LARGE_autotune:-0} >> 10)), DAMON_RECLAIM $((${SMALL_reclaim:-0} >> 10)) / $((${LARGE_reclaim:-0} >> 10))"

params_restore $R "$qms_saved"
check qms_rmmod rmmod damon_autotune
