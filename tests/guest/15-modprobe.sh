# modprobe: options from /etc/modprobe.d/ (samples/modprobe.d/, as shipped)
# and from the kernel command line (tools/test.sh boots with
# damon_autotune.quota_sz=12345678), as kmod and busybox modprobe read
# them; modprobe -r unloads.
itest_plan 10

rmmod damon_autotune 2>/dev/null
mkdir -p /etc/modprobe.d
cp /samples/modprobe.d/damon_autotune.conf /etc/modprobe.d/
check modprobe_finds_module sh -c "modinfo -F name damon_autotune | grep -qx damon_autotune"
check modprobe_loads modprobe damon_autotune
check_eq modprobe_option_from_modprobe_d "$(param quota_mem_free_goal_bp)" 4000
check_eq modprobe_tuning_from_modprobe_d "$(param autotune_min_age)" Y
check_eq modprobe_enabled_from_modprobe_d "$(param enabled)" Y
check modprobe_kdamond_runs kdamond_running "$(param kdamond_pid)"
if grep -q 'damon_autotune.quota_sz=' /proc/cmdline; then
	check_eq modprobe_option_from_cmdline "$(param quota_sz)" \
		"$(sed -n 's/.*damon_autotune.quota_sz=\([0-9]*\).*/\1/p' /proc/cmdline)"
else
	fail modprobe_option_from_cmdline "no damon_autotune.quota_sz= on the command line"
fi
check_eq modprobe_other_default "$(param quota_ms)" 10
check modprobe_unloads modprobe -r damon_autotune
check modprobe_gone absent /sys/module/damon_autotune
rm /etc/modprobe.d/damon_autotune.conf
