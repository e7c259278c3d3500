# Parameter fuzzing with every scheme running: thousands of random writes
# through sysfs (boundary and random numbers in every base and sign,
# words, spaces, newlines, more than a page, ...) to every writable
# parameter, while reclaim (watermarks always on), min_age tuning and,
# with two NUMA nodes or more, tiering run; commits (the kdamonds apply the
# fuzzed values, then run them for a while), restarts and restores of the
# starting values in between. Each write either works and reads back, or
# fails and leaves the old value (the rules are in
# tools/workload/paramfuzz.c), with a workload using a third of memory.
# tools/test.sh runs it on two nodes, so tiering is fuzzed too (on one node
# it runs the same without tiering).
# The kernel command line sets a longer run (fuzz_writes=N, default 2000)
# or another seed (fuzz_seed=N, default a fixed one, so that a CI failure
# reproduces).

FUZZ_WRITES=$(cmdline_value fuzz_writes 2000)
seed=$(cmdline_value fuzz_seed 20261122)

# The starting values, which restores and repairs write back: every scheme
# active. With one node, tier=Y would refuse every enable.
start="wmarks_high=1000 wmarks_mid=999 wmarks_low=0 autotune_min_age=Y min_age=5000000
	min_age_min=100000 min_age_max=60000000 autotune_min_age_interval_ms=500
	quota_reset_interval_ms=200 quota_mem_free_goal_bp=9000"
watch="--watch nr_reclaim_tried_regions --watch current_min_age --watch effective_quota_sz"
if [ -d /sys/devices/system/node/node1 ]; then
	start="$start tier=Y tier_cold_min_age=1000000 tier_promote_quota_reset_interval_ms=200
		tier_demote_quota_reset_interval_ms=200"
	watch="$watch --watch tier_demote_bytes_tried --watch tier_free_bp"
fi
itest_plan $((9 + $(echo $watch | wc -w) / 2))
# What DAMON checks in combination: written back when a commit or an
# enable is refused, so that the other fuzzed values get to run.
repair="reclaim,tier,tier_nodes,wmarks_high,wmarks_mid,wmarks_low,sample_interval,aggr_interval"
repair="$repair,min_nr_regions,max_nr_regions,monitor_region_start,monitor_region_end"
repair="$repair,min_age_min,min_age_max,tier_sample_interval,tier_aggr_interval"
repair="$repair,tier_min_nr_regions,tier_max_nr_regions,quota_goal_nid"

rmmod damon_autotune 2>/dev/null
# shellcheck disable=SC2086
check insmod_for_fuzz insmod /damon_autotune.ko $start enabled=Y
check fuzz_kdamond_runs kdamond_running "$(param kdamond_pid)"
modinfo -F parmtype /damon_autotune.ko > /tmp/parmtypes
check parmtypes_listed [ -s /tmp/parmtypes ]

# A third of the available memory, touched at random, for as long as it
# takes.
avail_kb=$(awk '/^MemAvailable/ {print $2}' /proc/meminfo)
printf 'pressure, %dK\n\nrun\n60000\npressure, 1, 4096, 1\n' $((avail_kb / 3)) > /tmp/fuzz.cfg
check masim_fuzz_ready start_masim /tmp/fuzz.cfg --loops 0

echo "fuzz: seed $seed, $FUZZ_WRITES writes, starting from: $(echo $start)"
t0=$(uptime_s)
# shellcheck disable=SC2086
paramfuzz --seed "$seed" --writes "$FUZZ_WRITES" --types /tmp/parmtypes \
	--commit-every 25 --flip-every 100 --restore-every 100 --restart --settle 300 \
	--repair "$repair" $watch > /tmp/fuzz.log 2>&1
rc=$?
echo "fuzz: took $(( $(uptime_s) - t0 )) s"
# The violations (the first 50), the summary.
grep 'VIOLATION' /tmp/fuzz.log | head -n 50
grep -v 'VIOLATION' /tmp/fuzz.log | tail -n 12
if [ "$rc" = 0 ]; then
	pass fuzz_no_violations
else
	fail fuzz_no_violations "exit $rc (seed $seed): $(tail -n 1 /tmp/fuzz.log)"
fi
# The fuzzed values ran: commits were applied, and the schemes acted.
applied=$(sed -n 's/.* \([0-9]*\) applied.*/\1/p' /tmp/fuzz.log)
check fuzz_commits_applied [ "${applied:-0}" -ge $((FUZZ_WRITES / 25 / 4)) ]
check_eq fuzz_every_parameter_written "$(grep -c 'never took a value' /tmp/fuzz.log)" 0
for w in $(echo "$watch" | sed 's/--watch//g'); do
	changes=$(sed -n "s/^paramfuzz: watched $w changed \([0-9]*\) times/\1/p" /tmp/fuzz.log)
	check "fuzz_${w}_moved" [ "${changes:-0}" -gt 0 ]
done

check_eq enabled_after_fuzz "$(param enabled)" N
check rmmod_after_fuzz rmmod damon_autotune
stop_masim
