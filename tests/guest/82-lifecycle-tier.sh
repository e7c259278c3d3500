# The life cycle with tiering on, on two NUMA nodes (reclaim, min_age
# tuning and a two-node tiering chain: three kdamonds): insmod -> enable
# -> commit -> disable -> rmmod cycles, rmmod while enabled, enable/disable
# flips, commit_inputs and parameter writes racing rmmod, and exclusivity
# with a kdamond of the DAMON sysfs interface and with DAMON_RECLAIM
# while tiering runs (80-lifecycle.sh does reclaim alone on one node).
# Counts come from the kernel command line (cycles=, flips=, as for
# 80-lifecycle.sh; races= for the rmmod races, default 10).
itest_plan 24

[ -d /sys/devices/system/node/node1 ] || { fail lifecycle_tier_needs_two_nodes "no node1"; return; }
cycles=$(cmdline_value cycles 20)
flips=$(cmdline_value flips 100)
races=$(cmdline_value races 10)
start="wmarks_high=1000 wmarks_mid=999 wmarks_low=0 min_age=5000000 autotune_min_age=Y
	autotune_min_age_interval_ms=500 tier=Y tier_cold_min_age=1000000"
avail_kb=$(awk '/^MemAvailable/ {print $2}' /proc/meminfo)
printf 'load, %dK\n\nrun\n600000\nload, 1, 4096, 1\n' $((avail_kb / 3)) > /tmp/load.cfg
check lifecycle_tier_load_ready start_masim /tmp/load.cfg --loops 0
kunit_quiet
rmmod damon_autotune 2>/dev/null
base=$(nr_kdamonds)

# kdamonds_are N: exactly N kdamonds besides those before the file began
# (waiting for those stopping to exit).
kdamonds_are() {
	wait_until 10 sh -c "[ \$(cat /proc/[0-9]*/comm 2>/dev/null | grep -c '^kdamond') = $(( base + $1 )) ]"
}

# Load/unload cycles: every step works, three kdamonds run while enabled,
# none once unloaded; half the cycles unload while enabled.
bad=0
i=0
while [ $i -lt "$cycles" ]; do
	i=$((i + 1))
	# shellcheck disable=SC2086
	insmod /damon_autotune.ko $start || { bad=$((bad + 1)); continue; }
	echo Y > $P/enabled || bad=$((bad + 1))
	[ "$(nr_kdamonds)" = $((base + 3)) ] || bad=$((bad + 1))
	kdamond_running "$(param kdamond_pid)" || bad=$((bad + 1))
	echo $((i * 1000000)) > $P/tier_cold_min_age
	echo $((i * 1000000)) > $P/min_age
	echo Y > $P/commit_inputs || bad=$((bad + 1))
	if [ $((i % 2)) = 0 ]; then
		echo N > $P/enabled || bad=$((bad + 1))
	fi
	rmmod damon_autotune || bad=$((bad + 1))
	[ -d /sys/module/damon_autotune ] && bad=$((bad + 1))
	kdamonds_are 0 || bad=$((bad + 1))
done
check_eq lifecycle_tier_cycles_all_clean "$bad of $cycles cycles had a failed step" "0 of $cycles cycles had a failed step"
check lifecycle_tier_no_kdamond_left kdamonds_are 0

# Enable/disable flips with tiering on.
# shellcheck disable=SC2086
check lifecycle_tier_insmod_for_flips insmod /damon_autotune.ko $start
bad=0
i=0
t0=$(uptime_s)
while [ $i -lt "$flips" ]; do
	i=$((i + 1))
	echo Y > $P/enabled || bad=$((bad + 1))
	[ "$(param kdamond_pid)" -gt 0 ] || bad=$((bad + 1))
	[ "$(param enabled)" = Y ] || bad=$((bad + 1))
	echo N > $P/enabled || bad=$((bad + 1))
	[ "$(param kdamond_pid)" = -1 ] || bad=$((bad + 1))
	[ "$(param enabled)" = N ] || bad=$((bad + 1))
done
echo "lifecycle: tiering on: $cycles load/unload cycles, $flips enable/disable flips ($(( $(uptime_s) - t0 )) s for the flips)"
check_eq lifecycle_tier_flips_all_clean "$bad" 0
check lifecycle_tier_no_kdamond_after_flips kdamonds_are 0

# commit_inputs and parameter writes racing rmmod: a writer loops on
# commit_inputs (and tier_cold_min_age) while the module is unloaded under
# it; it must end (writes fail once the module is gone), the module must
# be gone, and no kdamond left.
check lifecycle_tier_rmmod_for_races rmmod damon_autotune
bad=0 writes=0
i=0
while [ $i -lt "$races" ]; do
	i=$((i + 1))
	# shellcheck disable=SC2086
	insmod /damon_autotune.ko $start enabled=Y || { bad=$((bad + 1)); continue; }
	sh -c "n=0; while [ -d /sys/module/damon_autotune ]; do
		echo \$(( (n % 20 + 1) * 1000000 )) 2>/dev/null > $P/tier_cold_min_age
		echo Y 2>/dev/null > $P/commit_inputs
		n=\$((n + 1))
	done; echo \$n > /tmp/race.count" &
	writer=$!
	sleep 1
	rmmod damon_autotune || bad=$((bad + 1))
	wait_until 10 sh -c "! kill -0 $writer 2>/dev/null" || { bad=$((bad + 1)); kill $writer; }
	wait $writer 2>/dev/null
	writes=$((writes + $(cat /tmp/race.count 2>/dev/null || echo 0)))
	[ -d /sys/module/damon_autotune ] && bad=$((bad + 1))
	kdamonds_are 0 || bad=$((bad + 1))
done
echo "lifecycle: $races unloads with commit_inputs racing them: $writes commit rounds written"
check_eq lifecycle_tier_races_clean "$bad" 0
check_num lifecycle_tier_races_wrote "$writes" -gt "$races" "$writes"

# DAMON's exclusive group while tiering runs: a DAMON sysfs kdamond and
# DAMON_RECLAIM are refused with EBUSY and tiering's kdamonds run on,
# unchanged; with either holding the group, enabling tiering fails with
# EBUSY and leaves nothing behind.
# shellcheck disable=SC2086
check lifecycle_tier_insmod_for_exclusivity insmod /damon_autotune.ko $start enabled=Y
pids=$(cat /proc/[0-9]*/comm 2>/dev/null | grep -c '^kdamond'; param kdamond_pid)
K=/sys/kernel/mm/damon/admin/kdamonds
R=/sys/module/damon_reclaim/parameters
if [ -d $K ] && [ -d $R ]; then
	echo 1 > $K/nr_kdamonds
	echo 1 > $K/0/contexts/nr_contexts
	echo paddr > $K/0/contexts/0/operations
	echo 1 > $K/0/contexts/0/targets/nr_targets
	echo 1 > $K/0/contexts/0/targets/0/regions/nr_regions
	echo 1048576 > $K/0/contexts/0/targets/0/regions/0/start
	echo 16777216 > $K/0/contexts/0/targets/0/regions/0/end
	check_fails_with EBUSY lifecycle_tier_sysfs_busy sh -c "echo on > $K/0/state"
	check_eq lifecycle_tier_sysfs_not_started "$(cat $K/0/state)" off
	check_fails_with EBUSY lifecycle_tier_reclaim_busy sh -c "echo Y > $R/enabled"
	check_eq lifecycle_tier_reclaim_not_started "$(cat $R/kdamond_pid)" -1
	check_eq lifecycle_tier_kdamonds_unchanged "$(cat /proc/[0-9]*/comm 2>/dev/null | grep -c '^kdamond'; param kdamond_pid)" "$pids"
	check lifecycle_tier_disable set_param enabled N
	kdamonds_are 0
	# The reverse: each holds the group, tiering is refused.
	check lifecycle_tier_sysfs_on sh -c "echo on > $K/0/state"
	check_fails_with EBUSY lifecycle_tier_busy_with_sysfs set_param enabled Y
	check_eq lifecycle_tier_nothing_left_with_sysfs "$(param enabled) $(param kdamond_pid) $(nr_kdamonds)" "N -1 $((base + 1))"
	echo off > $K/0/state
	echo 0 > $K/nr_kdamonds
	kdamonds_are 0
	echo Y > $R/enabled
	wait_until 5 sh -c "[ \$(cat $R/kdamond_pid) -gt 0 ]"
	check_fails_with EBUSY lifecycle_tier_busy_with_reclaim set_param enabled Y
	check_eq lifecycle_tier_nothing_left_with_reclaim "$(param enabled) $(param kdamond_pid) $(nr_kdamonds)" "N -1 $((base + 1))"
	echo N > $R/enabled
	kdamonds_are 0
	check lifecycle_tier_enable_after_others set_param enabled Y
	check_eq lifecycle_tier_three_kdamonds_again "$(nr_kdamonds)" $((base + 3))
else
	fail lifecycle_tier_damon_sysfs_and_reclaim_built_in "no $K or $R"
fi
check lifecycle_tier_rmmod rmmod damon_autotune
kunit_loud
stop_masim
