# A free-memory goal on node 0 is approached and held: reclaim runs until
# the node's free memory reaches the goal, then (mostly) stops.
#
# What is reclaimed is clean page cache: DAMON's pageout frees it at once.
# (Anonymous memory, which 30-reclaim.sh swaps out, is freed only when
# DAMON comes back to it after its writeback: about 0.2 MiB/s of free
# memory under TCG with KASAN, measured, too slow to reach a goal in a
# test.)
itest_plan 16

[ -b /dev/vdb ] || { fail goal_needs_disk "no /dev/vdb"; return; }
mkdir -p /mnt/scratch
mount -t ext4 /dev/vdb /mnt/scratch || { fail goal_mount; return; }

# goal_test TUNER: fill the page cache until about 25% of node 0 is free,
# with a small hot region in use, then let the loop aim at 45% free; once
# reached, sample the free memory every second for 20 s and set
# BAND_<TUNER> (max - min, bp), LO_<TUNER> and HI_<TUNER>.
goal_test() {
	local tuner=$1 goal=4500 free0 fill_kb file0 before
	echo 3 > /proc/sys/vm/drop_caches
	free0=$(node_free_bp)
	printf 'hot, 8M\n\nrun\n600000\nhot, 1, 4096, 1\n' > /tmp/goal.cfg
	check "masim_ready_$tuner" start_masim /tmp/goal.cfg
	fill_kb=$(( $(node_kb MemFree) - $(node_kb MemTotal) / 4 ))
	fill_page_cache /mnt/scratch/goal "$fill_kb"
	file0=$(node_kb FilePages)
	before=$(node_free_bp)
	rmmod damon_autotune 2>/dev/null
	check "insmod_goal_$tuner" insmod /damon_autotune.ko enabled=Y min_age=1000000 \
		wmarks_high=1000 wmarks_mid=999 wmarks_low=0 wmarks_interval=1000000 \
		quota_ms=0 quota_sz=0 quota_reset_interval_ms=200 \
		quota_goal_nid=0 quota_mem_free_goal_bp=$goal quota_goal_tuner=$tuner
	# Samples node 0's free bp every 5 s until it is within 100 bp of the
	# goal, for 300 s at most (by the clock: forks are slow here).
	local t0=$(uptime_s) reached trace=""
	while :; do
		reached=$(node_free_bp)
		trace="$trace $reached"
		[ "$reached" -ge $((goal - 100)) ] && break
		[ $(( $(uptime_s) - t0 )) -ge 300 ] && break
		sleep 5
	done
	echo "goal: $tuner: node 0 free bp every 5 s:$trace (in $(( $(uptime_s) - t0 )) s)"
	# Held: every second for 20 s.
	local i f lo=10000 hi=0 held=""
	for i in $(seq 20); do
		sleep 1
		f=$(node_free_bp)
		held="$held $f"
		[ "$f" -lt "$lo" ] && lo=$f
		[ "$f" -gt "$hi" ] && hi=$f
	done
	local score=$(param goal_score_bp) file=$(node_kb FilePages)
	echo "goal: $tuner: then every 1 s:$held; band $lo..$hi ($((hi - lo)) bp)"
	echo "goal: $tuner: free bp after drop_caches $free0, filled $before, reached $reached (goal $goal), goal_score_bp $score, node 0 file pages ${file0} -> ${file} KiB, effective_quota_sz $(param effective_quota_sz), wanted_quota_sz $(param wanted_quota_sz), nr_quota_saturated $(param nr_quota_saturated)"
	check "goal_${tuner}_started_below" [ "$before" -lt $((goal - 1000)) ]
	check "goal_${tuner}_reached" [ "$reached" -ge $((goal - 100)) ]
	# Held, not below the goal. The upper bound is the deficit tuner's
	# (below): consist is upstream's loop, kept as it is, and on page cache
	# it overshoots by a window's quota (one CI run: 2470 -> 5069 bp in 5 s
	# against 4500, then held at 5409), as issue 16 reports of it.
	check "goal_${tuner}_held_above" [ "$lo" -ge $((goal - 500)) ]
	# Held, not overshot to reclaiming all the cold page cache.
	check "goal_${tuner}_not_everything" [ "$file" -gt $((file0 / 5)) ]
	# The score is the last loop step's (it lags): near the goal, not exact.
	check "goal_${tuner}_score_reported" [ "$score" -ge 5000 ]
	local dev=$((goal - lo))
	[ $((hi - goal)) -gt $dev ] && dev=$((hi - goal))
	echo "goal: $tuner: at most $dev bp from the goal while held"
	eval "DEV_$tuner=$dev LO_$tuner=$lo HI_$tuner=$hi"
	set_param enabled N
	stop_masim
	rmmod damon_autotune
	rm -f /mnt/scratch/goal
}

# The temporal tuner aims at a free-memory goal in 50-failcharge.sh.
goal_test consist
goal_test deficit
# The deficit tuner holds within 200 bp (20 MiB of 1 GiB, 15 of 768 MiB)
# of the goal, both ways, and closer to it than consist in the same boot.
# (The distance to the goal, not the band's width: a tuner that overshot
# and stopped reclaiming holds a narrow band far from the goal.)
check goal_deficit_within_200bp [ "$LO_deficit" -ge 4300 -a "$HI_deficit" -le 4700 ]
check goal_deficit_closer_than_consist [ "$DEV_deficit" -lt "$DEV_consist" ]
umount /mnt/scratch
