# A free-memory goal on node 0 is approached and held: reclaim runs until
# the node's free memory reaches the goal, then (mostly) stops.

[ -b /dev/vda ] || { fail goal_needs_swap_disk "no /dev/vda"; return; }
mkswap /dev/vda >/dev/null && swapon /dev/vda

swap_used_kb() { awk '/^SwapTotal/ {t = $2} /^SwapFree/ {f = $2} END {print t - f}' /proc/meminfo; }

# goal_test TUNER: fill memory to well below the goal, then let the loop
# aim at 50% free on node 0.
goal_test() {
	local tuner=$1 free0 goal target_kb
	free0=$(node_free_bp)
	# Leave about 25% of the node free.
	target_kb=$(awk '/MemTotal/ {t = $4} /MemFree/ {f = $4} END {print int(f - t / 4)}' \
		/sys/devices/system/node/node0/meminfo)
	printf 'cold, %dK\nhot, 8M\n\nrun\n600000\nhot, 1, 4096, 1\n' "$target_kb" > /tmp/goal.cfg
	check "masim_ready_$tuner" start_masim /tmp/goal.cfg
	sleep 2
	local before=$(node_free_bp)
	goal=5000
	rmmod damon_autotune 2>/dev/null
	check "insmod_goal_$tuner" insmod /damon_autotune.ko enabled=Y min_age=1000000 \
		wmarks_high=1000 wmarks_mid=999 wmarks_low=0 wmarks_interval=1000000 \
		quota_ms=0 quota_sz=0 quota_reset_interval_ms=200 \
		quota_goal_nid=0 quota_mem_free_goal_bp=$goal quota_goal_tuner=$tuner
	wait_until 120 sh -c "[ \$(awk '/MemTotal/ {t = \$4} /MemFree/ {f = \$4} END {print int(f * 10000 / t)}' /sys/devices/system/node/node0/meminfo) -ge $((goal - 500)) ]"
	local reached=$(node_free_bp)
	sleep 10
	local held=$(node_free_bp) score=$(param goal_score_bp) swap=$(swap_used_kb)
	echo "goal: $tuner: free bp at boot-fill $free0, filled $before, reached $reached, 10 s later $held (goal $goal), goal_score_bp $score, swap used ${swap} KiB, effective_quota_sz $(param effective_quota_sz)"
	check "goal_${tuner}_started_below" [ "$before" -lt $((goal - 1000)) ]
	check "goal_${tuner}_reached" [ "$reached" -ge $((goal - 500)) ]
	check "goal_${tuner}_held" [ "$held" -ge $((goal - 500)) ]
	# Held, not overshot to reclaiming all the cold memory.
	check "goal_${tuner}_not_everything" [ "$swap" -lt $((target_kb * 9 / 10)) ]
	# The score is the last loop step's (it lags): near the goal, not exact.
	check "goal_${tuner}_score_reported" [ "$score" -ge 5000 ]
	set_param enabled N
	stop_masim
	rmmod damon_autotune
	sleep 2
}

# The temporal tuner aims at a free-memory goal in 50-failcharge.sh.
goal_test consist
swapoff /dev/vda
