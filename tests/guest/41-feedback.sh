# The user-feedback goal (quota_autotune_feedback) moves the effective
# quota the way upstream's selftest (damos_quota_goal.py) expects of a
# user_input goal with target 10000: a score below the target raises it,
# above lowers it. The consist tuner (the feedback alone: the deficit
# tuner needs a free-memory goal), no time or size quota, so that only the
# loop sets the quota; each score is committed, then the effective quota
# is read before and after 4 s (four 1 s steps). (Scores far over the
# target, 18000 and more, take the quota to its 1-byte floor within the
# two steps before the first read: no direction left to see.)
itest_plan 6

rmmod damon_autotune 2>/dev/null
check fb_insmod insmod /damon_autotune.ko enabled=Y min_age=1000000 \
	wmarks_high=1000 wmarks_mid=999 wmarks_low=0 wmarks_interval=1000000 \
	quota_ms=0 quota_sz=0 quota_reset_interval_ms=1000 \
	quota_autotune_feedback=1 quota_goal_tuner=consist
# Far below the goal for a while: the quota grows from its minimum.
sleep 8
fb_trace="start $(param effective_quota_sz)"
for score in 15000 5000 12000 1000; do
	set_param quota_autotune_feedback $score
	set_param commit_inputs Y
	# The commit's context starts from the initial quota until the
	# loop's next step (at most 1 s) restores it.
	sleep 2
	before=$(param effective_quota_sz)
	sleep 4
	after=$(param effective_quota_sz)
	fb_trace="$fb_trace; $score: $before -> $after (score $(param goal_score_bp))"
	if [ "$score" -lt 10000 ]; then
		check_num "fb_${score}_raises" "$after" -gt "$before"
	else
		check_num "fb_${score}_lowers" "$after" -lt "$before"
	fi
done
echo "feedback: effective_quota_sz: $fb_trace"
set_param enabled N
check fb_rmmod rmmod damon_autotune
