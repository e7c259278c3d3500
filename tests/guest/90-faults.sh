# Allocation failures (failslab) in the module's paths: enabling,
# committing, loading, and the kdamond's own work. Every operation either
# succeeds or fails with an error and leaves a consistent state; nothing
# crashes and nothing leaks (run-all.sh's kmemleak scan follows). Rounds
# come from the kernel command line (fault_rounds=; default 20).
itest_plan 22

F=/sys/kernel/debug/failslab
[ -d $F ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null
[ -d $F ] || { fail faults_need_failslab "no $F"; return; }
rounds=$(cmdline_value fault_rounds 20)
kunit_quiet
rmmod damon_autotune 2>/dev/null
base=$(nr_kdamonds)

# Only tasks with make-it-fail set see failures, sleeping allocations
# included; nothing is printed. The probability is set per loop, low
# enough that some operations get through: loading makes hundreds of
# allocations, enabling tens.
echo Y > $F/task-filter
echo 1 > $F/interval
echo -1 > $F/times
echo 0 > $F/space
echo 0 > $F/verbose
echo N > $F/ignore-gfp-wait

# failing COMMAND: runs COMMAND (a shell string) in a task whose slab
# allocations may fail.
failing() { sh -c "echo 1 > /proc/self/make-it-fail; $1" 2>/dev/null; }

# consistent: enabled=Y with a running kdamond, or enabled=N with none.
consistent() {
	if [ "$(param enabled)" = Y ]; then
		kdamond_running "$(param kdamond_pid)"
	else
		[ "$(param kdamond_pid)" = -1 ] &&
			wait_until 5 sh -c "[ \$(cat /proc/[0-9]*/comm 2>/dev/null | grep -c '^kdamond') = $base ]"
	fi
}

# The console checker expects allocation-failure reports from here on.
itest_line "itest: faults begin"

# Loading under failslab (1%): the module loads, or fails and leaves
# nothing.
echo 1 > $F/probability
loaded=0 refused=0 bad=0
i=0
while [ $i -lt $((rounds / 5 + 1)) ]; do
	i=$((i + 1))
	if failing "insmod /damon_autotune.ko"; then
		loaded=$((loaded + 1))
		rmmod damon_autotune || bad=$((bad + 1))
	else
		refused=$((refused + 1))
		[ -d /sys/module/damon_autotune ] && { bad=$((bad + 1)); rmmod damon_autotune; }
	fi
done
echo "faults: failslab 1%: insmod $loaded loaded, $refused failed with an error, $bad left a module behind"
# Some loads must have failed, or the failure path of loading never ran.
if [ "$bad" = 0 ] && [ "$refused" -gt 0 ]; then
	pass faults_insmod_clean
else
	fail faults_insmod_clean "$refused failed, $bad left a module behind (want >= 1 and 0)"
fi

# Enabling and committing under failslab (5%), the module loaded normally.
echo 5 > $F/probability
check faults_insmod_for_rounds insmod /damon_autotune.ko min_age=1000000
ok=0 err=0 bad=0
i=0
while [ $i -lt "$rounds" ]; do
	i=$((i + 1))
	if failing "echo Y > $P/enabled"; then ok=$((ok + 1)); else err=$((err + 1)); fi
	consistent || bad=$((bad + 1))
	if [ "$(param enabled)" = Y ]; then
		pid=$(param kdamond_pid)
		echo $((i * 1000000)) > $P/min_age
		if failing "echo Y > $P/commit_inputs"; then
			ok=$((ok + 1))
		else
			err=$((err + 1))
			# A failed commit leaves the kdamond as it was.
			[ "$(param kdamond_pid)" = "$pid" ] || bad=$((bad + 1))
		fi
		consistent || bad=$((bad + 1))
	fi
	echo N > $P/enabled
	consistent || bad=$((bad + 1))
	[ $((i % 50)) = 0 ] && echo "faults: round $i of $rounds at $(uptime_s) s"
done
check faults_rmmod_after_rounds rmmod damon_autotune
echo "faults: failslab 5%: $rounds rounds of enable+commit: $ok operations succeeded, $err failed with an error, $bad inconsistent states"
check faults_operations_failed_some [ "$err" -gt 0 ]
check faults_operations_succeeded_some [ "$ok" -gt 0 ]
check_eq faults_states_consistent "$bad" 0

# The kdamond itself under failslab (20%) for 20 s, with tuning and a goal
# on: it keeps running or stops on its own, cleanly.
echo 20 > $F/probability
check faults_insmod insmod /damon_autotune.ko enabled=Y min_age=1000000 autotune_min_age=Y \
	autotune_min_age_interval_ms=500 quota_mem_free_goal_bp=5000 \
	wmarks_high=1000 wmarks_mid=999 wmarks_low=0
pid=$(param kdamond_pid)
echo 1 > /proc/"$pid"/make-it-fail
sleep 20
[ -e /proc/"$pid"/make-it-fail ] && echo 0 > /proc/"$pid"/make-it-fail
state="kdamond still running"
kdamond_running "$pid" || state="kdamond stopped on its own"
echo "faults: kdamond under failslab 20% for 20 s: $state"
if kdamond_running "$pid" || [ "$(param kdamond_pid)" = -1 ]; then
	pass faults_kdamond_consistent
else
	fail faults_kdamond_consistent "kdamond $pid gone but kdamond_pid is $(param kdamond_pid)"
fi
# enabled reads whether the kdamond runs.
if kdamond_running "$pid"; then want=Y; else want=N; fi
check_eq faults_enabled_reads_running "$(param enabled)" $want
check faults_disable set_param enabled N
check faults_rmmod rmmod damon_autotune

# A commit the kdamond fails to apply (every allocation of the kdamond
# fails; the commit adds a filter) is visible: commit_inputs stays Y and
# commit_error reads -ENOMEM; the next commit that works clears both.
echo 100 > $F/probability
check faults_commit_insmod insmod /damon_autotune.ko enabled=Y \
	wmarks_high=1000 wmarks_mid=999 wmarks_low=0
pid=$(param kdamond_pid)
check_eq faults_commit_error_none "$(param commit_error)" 0
set_param skip_anon Y
echo 1 > /proc/"$pid"/make-it-fail
check faults_commit_handed set_param commit_inputs Y
sleep 3
[ -e /proc/"$pid"/make-it-fail ] && echo 0 > /proc/"$pid"/make-it-fail
check faults_commit_kdamond_alive kdamond_running "$pid"
check_eq faults_failed_commit_keeps_commit_inputs "$(param commit_inputs)" Y
check_eq faults_failed_commit_error "$(param commit_error)" -12
check faults_commit_again set_param commit_inputs Y
check faults_commit_applied_again wait_until 10 sh -c "[ \$(cat $P/commit_inputs) = N ]"
check_eq faults_commit_error_cleared "$(param commit_error)" 0
check faults_commit_rmmod rmmod damon_autotune
check_eq faults_no_kdamond_left "$(nr_kdamonds)" "$base"
echo 0 > $F/probability
echo N > $F/task-filter
itest_line "itest: faults end"
kunit_loud
