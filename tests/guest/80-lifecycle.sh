# The life cycle under load: insmod -> enable -> commit -> disable -> rmmod
# cycles, rmmod while enabled, enable/disable flips, and coexistence with
# a kdamond the DAMON sysfs interface started. Counts come from the kernel
# command line (cycles=, flips=; tools/test.sh --full sets 100 and 1000).
itest_plan 17

cycles=$(cmdline_value cycles 20)
flips=$(cmdline_value flips 100)
avail_kb=$(awk '/^MemAvailable/ {print $2}' /proc/meminfo)
printf 'load, %dK\n\nrun\n600000\nload, 1, 4096, 1\n' $((avail_kb / 3)) > /tmp/load.cfg
check lifecycle_load_ready start_masim /tmp/load.cfg --loops 0
kunit_quiet
rmmod damon_autotune 2>/dev/null
base=$(nr_kdamonds)

bad=0
i=0
while [ $i -lt "$cycles" ]; do
	i=$((i + 1))
	insmod /damon_autotune.ko min_age=1000000 wmarks_high=1000 wmarks_mid=999 wmarks_low=0 || { bad=$((bad + 1)); continue; }
	echo Y > $P/enabled || bad=$((bad + 1))
	kdamond_running "$(param kdamond_pid)" || bad=$((bad + 1))
	echo $((i * 1000000)) > $P/min_age
	echo Y > $P/commit_inputs || bad=$((bad + 1))
	if [ $((i % 2)) = 0 ]; then
		# Half the cycles: disable first; the other half: rmmod while enabled.
		echo N > $P/enabled || bad=$((bad + 1))
	fi
	rmmod damon_autotune || bad=$((bad + 1))
	[ -d /sys/module/damon_autotune ] && bad=$((bad + 1))
done
wait_until 10 sh -c "[ \$(cat /proc/[0-9]*/comm 2>/dev/null | grep -c '^kdamond') = $base ]"
check_eq lifecycle_cycles_all_clean "$bad of $cycles cycles had a failed step" "0 of $cycles cycles had a failed step"
check_eq lifecycle_no_kdamond_left "$(nr_kdamonds)" "$base"

check lifecycle_insmod_for_flips insmod /damon_autotune.ko wmarks_high=1000 wmarks_mid=999 wmarks_low=0
bad=0
i=0
t0=$(cut -d. -f1 /proc/uptime)
while [ $i -lt "$flips" ]; do
	i=$((i + 1))
	echo Y > $P/enabled || bad=$((bad + 1))
	[ "$(param kdamond_pid)" -gt 0 ] || bad=$((bad + 1))
	echo N > $P/enabled || bad=$((bad + 1))
	[ "$(param kdamond_pid)" = -1 ] || bad=$((bad + 1))
done
echo "lifecycle: $cycles load/unload cycles, $flips enable/disable flips ($(( $(cut -d. -f1 /proc/uptime) - t0 )) s for the flips)"
check_eq lifecycle_flips_all_clean "$bad" 0
wait_until 10 sh -c "[ \$(cat /proc/[0-9]*/comm 2>/dev/null | grep -c '^kdamond') = $base ]"
check_eq lifecycle_no_kdamond_after_flips "$(nr_kdamonds)" "$base"

# A kdamond of the DAMON sysfs interface holds DAMON's exclusive group:
# enabling fails with EBUSY and leaves nothing behind; and the reverse.
K=/sys/kernel/mm/damon/admin/kdamonds
if [ -d $K ]; then
	echo 1 > $K/nr_kdamonds
	echo 1 > $K/0/contexts/nr_contexts
	echo paddr > $K/0/contexts/0/operations
	echo 1 > $K/0/contexts/0/targets/nr_targets
	echo 1 > $K/0/contexts/0/targets/0/regions/nr_regions
	echo 1048576 > $K/0/contexts/0/targets/0/regions/0/start
	echo 16777216 > $K/0/contexts/0/targets/0/regions/0/end
	check sysfs_kdamond_on sh -c "echo on > $K/0/state"
	err=$(sh -c "echo Y > $P/enabled" 2>&1)
	check_eq enable_busy_with_sysfs "$(echo "$err" | grep -c 'busy')" 1
	check_eq enabled_kept_with_sysfs "$(param enabled)" N
	check_eq kdamond_pid_kept_with_sysfs "$(param kdamond_pid)" -1
	check_eq one_kdamond_with_sysfs "$(nr_kdamonds)" $((base + 1))
	check sysfs_kdamond_off sh -c "echo off > $K/0/state"
	wait_until 10 sh -c "[ \$(cat /proc/[0-9]*/comm 2>/dev/null | grep -c '^kdamond') = $base ]"
	check enable_after_sysfs_off set_param enabled Y
	check_fails_with EBUSY sysfs_busy_while_enabled sh -c "echo on > $K/0/state"
	check_eq sysfs_kdamond_not_started "$(cat $K/0/state)" off
	check disable_after_sysfs set_param enabled N
	echo 0 > $K/nr_kdamonds
else
	fail damon_sysfs_built_in "no $K"
fi
check lifecycle_rmmod rmmod damon_autotune
kunit_loud
stop_masim
