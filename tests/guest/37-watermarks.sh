# The watermarks switch reclaim on and off, as DAMON_RECLAIM's do, both
# run in this boot one after the other with the same parameters: the
# metric is the system's free memory rate (MemFree per thousand of
# MemTotal, DAMON's DAMOS_WMARK_FREE_MEM_RATE); a tmpfs file, grown and
# shrunk in place, moves it across the marks (no swap: nothing this file
# allocates can be paged out, so reclaim does not move it back).
#
# Whether the scheme is active is read from bytes_reclaim_tried_regions:
# the statistics are copied after each aggregation, and there is no
# aggregation while the scheme is inactive (DAMON only checks the
# watermarks); while it is active, min_age=0 makes every region a target,
# free memory included, so the 16 MiB per second size quota is tried.
#
# 1. With the marks at f0 - 80, f0 - 160 and f0 - 320 per thousand (f0 the
#    rate with nothing allocated), 8 levels in a row: above high (off),
#    between high and mid from off (stays off), between mid and low (on),
#    between high and mid from on (stays on), above high (off), between
#    mid and low (on), below low (off), between low and mid (on). Each
#    state is checked for both, and the sequences must be equal.
# 2. wmarks_interval decides how soon an inactive scheme sees the change:
#    enabled above high, the level dropped between mid and low at once;
#    with a 1 s interval the scheme is active within 5 s of the change,
#    with a 20 s interval it is not within 12 s of enabling (the next
#    check is at 20 s) and is by 45 s. For both.
itest_plan 31

check wm_damon_reclaim_built_in test -d $R
grep -q '^/' /proc/swaps && swapoff -a
check wm_no_swap sh -c "! grep -q '^/' /proc/swaps"
mkdir -p /mnt/wm
check wm_tmpfs mount -t tmpfs -o size=80% none /mnt/wm
wm_saved=$(params_save $R min_age quota_ms quota_sz quota_reset_interval_ms \
	wmarks_high wmarks_mid wmarks_low wmarks_interval)
rmmod damon_autotune 2>/dev/null
check wm_insmod insmod /damon_autotune.ko

free_pm() { awk '/^MemTotal/ {t = $2} /^MemFree/ {f = $2} END {print int(f * 1000 / t)}' /proc/meminfo; }
total_kb=$(awk '/^MemTotal/ {print $2}' /proc/meminfo)
f0=$(free_pm)
high=$((f0 - 80)) mid=$((f0 - 160)) low=$((f0 - 320))
echo "watermarks: free rate $f0 per thousand of $total_kb KiB; marks high $high, mid $mid, low $low"

# level PER_THOUSAND: grows or shrinks /mnt/wm/fill, in place (never
# through a higher free rate), so that the free rate is about
# PER_THOUSAND.
wm_size_mb=0
level() {
	local want=$(( (f0 - $1) * total_kb / 1000 / 1024 ))
	[ $want -lt 0 ] && want=0
	if [ $want -gt $wm_size_mb ]; then
		dd if=/dev/zero of=/mnt/wm/fill bs=1M seek=$wm_size_mb count=$((want - wm_size_mb)) \
			conv=notrunc 2>/dev/null
	else
		truncate -s ${want}M /mnt/wm/fill
	fi
	wm_size_mb=$want
}

# active DIR: the scheme of DIR's reclaimer is active: its tried bytes
# change within 4 s (after 2 s for a change of level to be seen: an
# inactive scheme checks the marks every wmarks_interval, 1 s here, and an
# active one at every sample, and the statistics are copied after each
# 100 ms aggregation; 4 s are 4 of the 1 s quota windows).
active() {
	local t0 t1
	sleep 2
	t0=$(cat "$1/bytes_reclaim_tried_regions")
	sleep 4
	t1=$(cat "$1/bytes_reclaim_tried_regions")
	echo "watermarks: $2: free rate $(free_pm), tried +$(( (t1 - t0) >> 10 )) KiB in 4 s" >&2
	[ "$t1" != "$t0" ]
}

# wm_on DIR INTERVAL_US: DIR's reclaimer enabled with the marks,
# INTERVAL_US between checks while inactive, min_age 0, 16 MiB per
# second, no time quota.
wm_on() {
	reclaimer_on "$1" min_age=0 quota_ms=0 quota_sz=16777216 quota_reset_interval_ms=1000 \
		wmarks_high=$high wmarks_mid=$mid wmarks_low=$low wmarks_interval="$2"
}

# sequence NAME DIR: part 1 for DIR's reclaimer; sets SEQ_NAME.
sequence() {
	local name=$1 d=$2 seq="" step lvl want s i=0
	level "$f0"
	check "wm_${name}_on" wm_on "$d" 1000000
	for step in "above:$f0:off" "high_mid:$((f0 - 120)):off" "mid_low:$((f0 - 240)):on" \
		"high_mid:$((f0 - 120)):on" "above:$f0:off" "mid_low:$((f0 - 240)):on" \
		"below:$((f0 - 400)):off" "low_mid:$((f0 - 240)):on"; do
		lvl=${step%%:*} want=${step##*:} s=${step#*:}
		level "${s%%:*}"
		if active "$d" "$name $lvl"; then s=on; else s=off; fi
		i=$((i + 1))
		check_eq "wm_${name}_${i}_${lvl}_$want" "$s" "$want"
		seq="$seq$s,"
	done
	check "wm_${name}_off" reclaimer_off "$d"
	level "$f0"
	eval "SEQ_$name=\$seq"
}

# latency DIR INTERVAL_US: part 2; prints the seconds from enabling to
# the first change of tried bytes (polled every second, up to 45 s), then
# the seconds from the level's change (made 2 s after enabling) to it; or
# "none none".
latency() {
	local d=$1 t0 t1 base
	level "$f0"
	wm_on "$d" "$2" || { echo failed failed; return; }
	t0=$(uptime_s)
	sleep 2
	base=$(cat "$d/bytes_reclaim_tried_regions")
	level $((f0 - 240))
	t1=$(uptime_s)
	while [ "$(cat "$d/bytes_reclaim_tried_regions")" = "$base" ]; do
		[ $(( $(uptime_s) - t0 )) -ge 45 ] && break
		sleep 1
	done
	if [ "$(cat "$d/bytes_reclaim_tried_regions")" = "$base" ]; then
		echo none none
	else
		echo $(( $(uptime_s) - t0 )) $(( $(uptime_s) - t1 ))
	fi
	reclaimer_off "$d"
	level "$f0"
}

sequence autotune $P
sequence reclaim $R
echo "watermarks: on/off by level: damon_autotune $SEQ_autotune DAMON_RECLAIM $SEQ_reclaim"
check_eq wm_same_as_damon_reclaim "$SEQ_autotune" "$SEQ_reclaim"

for who in autotune:$P reclaim:$R; do
	name=${who%%:*} d=${who#*:}
	set -- $(latency "$d" 1000000)
	short_enable=$1 short_level=$2
	set -- $(latency "$d" 20000000)
	long_enable=$1
	echo "watermarks: $name: active $short_enable s after enabling ($short_level s after the level changed) with a 1 s interval, $long_enable s after enabling with 20 s"
	check_num "wm_${name}_1s_interval_seen_soon" "$short_level" -le 5
	check_num "wm_${name}_20s_interval_not_seen_before_next_check" "$long_enable" -gt 12
	check_num "wm_${name}_20s_interval_seen_after_next_check" "$long_enable" -le 45
done

params_restore $R "$wm_saved"
rmmod damon_autotune
rm -f /mnt/wm/fill
umount /mnt/wm
