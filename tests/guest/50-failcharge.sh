# The fail-charge scenario of the seed, scaled down: 45% of the memory
# mlocked (pageout fails there), page cache filling the rest, reclaim
# with a hard quota aiming at 40% free memory (temporal tuner). Without
# fail-charge, failed regions use up the quota; with fail_charge_num=1
# fail_charge_denom=4096 (charged per region at the charge point, as
# upstream 7.2 does), each 1 s interval reclaims its quota until the goal.
# Asserts the reclaim per window against the quota, both ways, and the
# per-interval rate against it, and prints both series.
itest_plan 10

[ -b /dev/vdb ] || { fail failcharge_needs_disk "no /dev/vdb"; return; }
mkdir -p /mnt/scratch
mount -t ext4 /dev/vdb /mnt/scratch || { fail failcharge_mount; return; }


total_kb=$(node_kb MemTotal)
pin_kb=$((total_kb * 45 / 100))
printf 'pinned, %dK\ntouch, 4K\n\nrun\n600000\ntouch, 0, 4096, 1\n' "$pin_kb" > /tmp/pin.cfg
check masim_pinned_ready start_masim /tmp/pin.cfg --mlock pinned
quota=$((8 << 20))

# run_variant NAME NUM DENOM: fill the page cache, reclaim for 20 s after
# reclaim starts, print the per-interval series (KiB per second of
# /proc/uptime, so that a late sample does not count as a fast interval),
# and set, over the intervals before the goal was met: N_<NAME> intervals,
# FULL_<NAME> of them at >= 95% of the quota, OVER_<NAME> of them above
# what the windows the interval overlaps allow, MEAN_<NAME> KiB/s;
# WN_<NAME> and WFULL_<NAME>: the same count for the charge windows
# themselves, read from bytes_reclaimed_last_interval at each sample (the
# samples take longer than 1 s under TCG, so a sample's delta straddles
# windows: about one in five held two windows, the others less than one,
# in the last runs); and
# PERFULL_<NAME>: the KiB reclaimed per window whose quota was used up
# (bytes_reclaimed_regions over nr_quota_exceeds, whole run).
run_variant() {
	local name=$1 num=$2 denom=$3 fill_mb series="" prev cur t0 t1 dt rate i
	local n=0 sum=0 full=0 over=0 started=0 qk=$((quota >> 10))
	local win wseries="" wn=0 wfull=0
	echo 3 > /proc/sys/vm/drop_caches
	fill_mb=$(( ($(node_kb MemFree) - total_kb * 8 / 100) / 1024 ))
	fill_page_cache /mnt/scratch/cache $((fill_mb * 1024))
	echo "failcharge: $name: filled ${fill_mb} MiB of page cache, free bp $(node_free_bp)"
	rmmod damon_autotune 2>/dev/null
	# min_age 0: every region not accessed is a target, as in the seed
	# (damo with no access pattern), so the quota is what limits.
	insmod /damon_autotune.ko enabled=Y min_age=0 \
		wmarks_high=1000 wmarks_mid=999 wmarks_low=0 wmarks_interval=1000000 \
		quota_ms=0 quota_sz=$quota quota_reset_interval_ms=1000 \
		quota_goal_nid=0 quota_mem_free_goal_bp=4000 quota_goal_tuner=temporal \
		fail_charge_num="$num" fail_charge_denom="$denom" || { fail "failcharge_insmod_$name"; return; }
	for i in $(seq 60); do
		[ "$(param bytes_reclaimed_regions)" -gt 0 ] && { started=1; break; }
		sleep 1
	done
	# Skip the interval reclaim started in (a part of a window).
	sleep 1
	prev=$(param bytes_reclaimed_regions)
	t0=$(cut -d' ' -f1 /proc/uptime | tr -d .)
	for i in $(seq 20); do
		sleep 1
		cur=$(param bytes_reclaimed_regions)
		t1=$(cut -d' ' -f1 /proc/uptime | tr -d .)
		dt=$((t1 - t0)); [ "$dt" -gt 0 ] || dt=1
		# KiB per second; uptime is in centiseconds.
		rate=$(( (cur - prev) / 1024 * 100 / dt ))
		series="$series $rate"
		win=$(( $(param bytes_reclaimed_last_interval) >> 10 ))
		wseries="$wseries $win"
		if [ "$(node_free_bp)" -lt 4000 ]; then
			# From the first window that closed with a reclaim.
			if [ "$win" -gt 0 ] || [ "$wn" -gt 0 ]; then
				wn=$((wn + 1))
				[ "$win" -ge $((qk * 95 / 100)) ] && wfull=$((wfull + 1))
			fi
			n=$((n + 1)); sum=$((sum + rate))
			[ "$rate" -ge $((qk * 95 / 100)) ] && full=$((full + 1))
			# More than the windows the interval overlaps allow.
			[ $(( (cur - prev) / 1024 * 100 )) -gt $((qk * (dt + 100))) ] && over=$((over + 1))
		fi
		prev=$cur t0=$t1
	done
	[ "$n" -gt 0 ] || n=1
	echo "failcharge: $name: KiB/s reclaimed per interval (quota $qk):$series"
	echo "failcharge: $name: KiB reclaimed in the last charge window, per sample:$wseries"
	echo "failcharge: $name: $wfull of $wn charge windows sampled before the goal at >= 95% of the quota"
	echo "failcharge: $name: $full of $n intervals before the goal at >= 95% of the quota, mean $((sum / n)) KiB/s, $over above two windows' quota; tried $(param bytes_reclaim_tried_regions), reclaimed $(param bytes_reclaimed_regions), quota exceeds $(param nr_quota_exceeds), free bp $(node_free_bp)"
	local exceeds=$(param nr_quota_exceeds)
	[ "$exceeds" -gt 0 ] || exceeds=1
	eval "N_$name=$n FULL_$name=$full OVER_$name=$over MEAN_$name=$((sum / n))"
	eval "WN_$name=$wn WFULL_$name=$wfull"
	eval "PERFULL_$name=$(( $(param bytes_reclaimed_regions) / 1024 / exceeds ))"
	echo "failcharge: $name: $(( $(param bytes_reclaimed_regions) / 1024 / exceeds )) KiB reclaimed per window that used up its quota"
	if [ "$name" = on ]; then
		# temporal: the full quota until the goal, then none. The loop
		# steps every 1 s and sets esz at once (quota_ms=0), so from one
		# interval after goal_score_bp says met, (nearly) nothing is
		# reclaimed.
		for i in $(seq 90); do
			[ "$(param goal_score_bp)" -ge 10000 ] && break
			sleep 1
		done
		sleep 1
		prev=$(param bytes_reclaimed_regions)
		sleep 3
		cur=$(param bytes_reclaimed_regions)
		STOP_on=$(( (cur - prev) >> 10 )) SCORE_on=$(param goal_score_bp) FREE_on=$(node_free_bp)
		echo "failcharge: on: goal met after $((i + 21)) s of reclaim; then $STOP_on KiB reclaimed in 3 s, free bp $FREE_on, goal_score_bp $SCORE_on"
	fi
	check "failcharge_${name}_started" [ "$started" = 1 ]
	set_param enabled N
	rmmod damon_autotune
}

run_variant off 0 0
run_variant on 1 4096
qk=$((quota >> 10))
# The per-window reclaim against the quota, where the quota bound: with
# the ratio a window whose quota is used up reclaimed (nearly) the quota,
# failures cost next to nothing; without it, failures used it up.
check failcharge_on_full_windows_reclaim_the_quota [ "$PERFULL_on" -ge $((qk * 90 / 100)) ]
check failcharge_off_full_windows_fall_short [ "$PERFULL_off" -lt $((qk / 2)) ]
# Never more than the quota: the mean within 5%, no interval above what
# the windows it overlaps allow.
check failcharge_on_within_the_quota [ "$MEAN_on" -le $((qk * 105 / 100)) -a "$OVER_on" = 0 ]
check failcharge_on_reclaims_more [ "$MEAN_on" -gt "$MEAN_off" ]
# The benchmark's target, >= 95% of the quota in >= 90% of the intervals
# before the goal, per charge window (bytes_reclaimed_last_interval), with
# the ratio; without it, failures use up the quota and (nearly) no window
# gets there. The per-second series above is printed, not checked: its
# samples straddle the windows.
check failcharge_on_windows_at_quota [ "$WN_on" -ge 5 -a $((WFULL_on * 10)) -ge $((WN_on * 9)) ]
check failcharge_off_windows_short [ $((WFULL_off * 2)) -lt "$WN_off" ]
# temporal stops within one interval of meeting the goal: in the 3 s
# after, less than an eighth of one window's quota (free memory hovers at
# the goal, and temporal rightly takes a page or two whenever it dips
# below: 4 KiB measured), against 24 MiB if it went on.
check failcharge_temporal_stops_at_goal [ "$SCORE_on" -ge 10000 -a "$STOP_on" -lt $((qk / 8)) ]

stop_masim
rm -f /mnt/scratch/cache
umount /mnt/scratch
