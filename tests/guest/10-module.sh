# The module's life cycle: load (the KUnit suites run here), parameters in
# sysfs, enable/disable, exclusivity with DAMON_RECLAIM, unload.
itest_plan 30

check insmod insmod /damon_autotune.ko
check_eq enabled_default "$(param enabled)" N
check_eq kdamond_pid_idle "$(param kdamond_pid)" -1
check modinfo_describes_enabled sh -c 'modinfo -F parm /damon_autotune.ko | grep -q "^enabled:Enable or disable"'
check modinfo_types_enabled sh -c 'modinfo -F parmtype /damon_autotune.ko | grep -qx "enabled:bool"'

check enable set_param enabled Y
check_eq enabled_after_enable "$(param enabled)" Y
pid=$(param kdamond_pid)
check kdamond_runs kdamond_running "$pid"

check disable set_param enabled N
check_eq kdamond_pid_after_disable "$(param kdamond_pid)" -1
check kdamond_gone wait_until 5 kdamond_gone "$pid"

check_fails_with EINVAL enabled_rejects_garbage set_param enabled maybe
check_eq enabled_kept_after_garbage "$(param enabled)" N
check_fails_with EACCES kdamond_pid_read_only set_param kdamond_pid 5
check_eq kdamond_pid_kept "$(param kdamond_pid)" -1

# DAMON allows one exclusive group: with DAMON_RECLAIM running, enabling
# fails with EBUSY and leaves nothing behind; and the reverse.
if [ -d /sys/module/damon_reclaim ]; then
	before=$(nr_kdamonds)
	echo Y > /sys/module/damon_reclaim/parameters/enabled
	wait_until 5 sh -c '[ "$(cat /sys/module/damon_reclaim/parameters/kdamond_pid)" -gt 0 ]'
	err=$(sh -c "echo Y > $P/enabled" 2>&1)
	check_eq enable_busy_message "$(echo "$err" | grep -c 'busy')" 1
	check_eq enabled_kept_when_busy "$(param enabled)" N
	check_eq no_kdamond_left_when_busy "$(nr_kdamonds)" $((before + 1))
	echo N > /sys/module/damon_reclaim/parameters/enabled
	wait_until 5 sh -c "[ \$(cat /proc/[0-9]*/comm 2>/dev/null | grep -c '^kdamond') = $before ]"
	check enable_after_reclaim_stopped set_param enabled Y
	check_fails_with EBUSY reclaim_busy_while_enabled sh -c 'echo Y > /sys/module/damon_reclaim/parameters/enabled'
	check disable_again set_param enabled N
else
	fail damon_reclaim_built_in "no /sys/module/damon_reclaim"
fi

check enable_before_rmmod set_param enabled Y
pid=$(param kdamond_pid)
check rmmod_while_enabled rmmod damon_autotune
check kdamond_gone_after_rmmod wait_until 5 kdamond_gone "$pid"

check insmod_enabled insmod /damon_autotune.ko enabled=Y
check_eq enabled_from_insmod "$(param enabled)" Y
check kdamond_runs_from_insmod kdamond_running "$(param kdamond_pid)"
check rmmod_enabled rmmod damon_autotune
check_fails_with EINVAL insmod_rejects_bad_param insmod /damon_autotune.ko enabled=maybe
check module_absent_after_bad_param absent /sys/module/damon_autotune
