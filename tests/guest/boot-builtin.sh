# The kernel with damon_autotune built in (tools/kernel/builtin.sh).
#   run-all.sh boot-builtin.sh on:  booted with damon_autotune.enabled=Y
#                                   damon_autotune.min_age=7000000: the kdamond runs
#                                   from boot with that min_age, parameters stay
#                                   writable, enabled=N/Y work, it cannot be unloaded;
#   run-all.sh boot-builtin.sh off: booted without: nothing runs;
#   run-all.sh boot-builtin.sh refused: booted with damon_autotune.enabled=Y
#                                   and watermarks out of order (wmarks_mid=600):
#                                   nothing runs, enabled reads N, and once the
#                                   watermarks are fixed enabled=Y starts the kdamond.
case $1 in on) itest_plan 14 ;; off) itest_plan 7 ;; refused) itest_plan 9 ;; *) itest_plan 1 ;; esac
case $1 in
on)
	check_eq builtin_enabled_from_cmdline "$(param enabled)" Y
	pid=$(param kdamond_pid)
	check builtin_kdamond_from_boot kdamond_running "$pid"
	check_eq builtin_param_from_cmdline "$(param min_age)" 7000000
	check_eq builtin_other_param_default "$(param quota_ms)" 10
	check builtin_param_writable set_param quota_sz 1048576
	check_eq builtin_param_written "$(param quota_sz)" 1048576
	check_fails_with EINVAL builtin_param_still_checked set_param wmarks_high 1001
	check builtin_commit set_param commit_inputs Y
	check builtin_disable set_param enabled N
	check builtin_kdamond_stops wait_until 10 kdamond_gone "$pid"
	check builtin_enable_again set_param enabled Y
	check builtin_kdamond_again kdamond_running "$(param kdamond_pid)"
	check_fails_with ENOENT builtin_cannot_unload rmmod damon_autotune
	check builtin_disable_again set_param enabled N
	;;
off)
	check builtin_params_in_sysfs test -d /sys/module/damon_autotune/parameters
	check_eq builtin_disabled_by_default "$(param enabled)" N
	check_eq builtin_no_kdamond_pid "$(param kdamond_pid)" -1
	check_eq builtin_no_kdamond "$(nr_kdamonds)" 0
	check builtin_enable_at_run_time set_param enabled Y
	check builtin_kdamond_at_run_time kdamond_running "$(param kdamond_pid)"
	check builtin_disable_at_run_time set_param enabled N
	;;
refused)
	check_eq builtin_refused_enabled_reads_N "$(param enabled)" N
	check_eq builtin_refused_no_kdamond_pid "$(param kdamond_pid)" -1
	check_eq builtin_refused_no_kdamond "$(nr_kdamonds)" 0
	check_fails_with EINVAL builtin_refused_still_refused set_param enabled Y
	check builtin_refused_fix_wmarks set_param wmarks_mid 400
	check builtin_refused_enable_later set_param enabled Y
	check builtin_refused_kdamond_later kdamond_running "$(param kdamond_pid)"
	check_eq builtin_refused_enabled_reads_Y "$(param enabled)" Y
	check builtin_refused_disable set_param enabled N
	;;
*)
	fail builtin_mode "unknown mode '$1'"
	;;
esac
