# Allocation failures (failslab and fail_page_alloc) on the tiering and
# min_age paths, on two NUMA nodes: reclaim (watermarks always on), min_age
# tuning and a two-node tiering chain, three kdamonds. 90-faults.sh does
# reclaim alone with random failures; here every allocation of an enable
# and of a commit is failed in turn (/proc/self/fail-nth: the Nth
# fault-injection site the writing task reaches fails, slab and page
# allocations alike), then the kdamonds themselves run under random
# failures. Every operation either works or fails with ENOMEM and leaves a
# consistent state: enabled reads Y with the three kdamonds running, or N
# with none; a refused commit leaves the old parameters in force
# (current_min_age, which a commit sets while min_age tuning is off) and
# the kdamonds as they were. Nothing crashes and nothing leaks
# (run-all.sh's kmemleak scan follows). The walk goes up to
# fault_sites= (kernel command line; default 400) sites, and stops once
# 10 writes in a row worked (every site passed).
itest_plan 21

[ -d /sys/devices/system/node/node1 ] || { fail faults_tier_needs_two_nodes "no node1"; return; }
F=/sys/kernel/debug/failslab
G=/sys/kernel/debug/fail_page_alloc
[ -d $F ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null
[ -d $F ] && [ -d $G ] || { fail faults_tier_need_fault_injection "no $F or $G"; return; }
sites=$(cmdline_value fault_sites 400)
kunit_quiet
rmmod damon_autotune 2>/dev/null
base=$(nr_kdamonds)
# Reclaim, min_age tuning (on for the kdamonds' run, off for the commit
# walk) and tiering on the two nodes.
start="wmarks_high=1000 wmarks_mid=999 wmarks_low=0 min_age=5000000 min_age_min=100000
	min_age_max=60000000 autotune_min_age_interval_ms=500 quota_reset_interval_ms=200
	tier=Y tier_cold_min_age=1000000 tier_promote_quota_reset_interval_ms=200
	tier_demote_quota_reset_interval_ms=200"

# Random failures only for tasks with make-it-fail set (the kdamonds, in
# the last part); fail-nth works in any task. Page allocations of any
# order and with direct reclaim may fail too (migration's are).
for d in $F $G; do
	echo Y > $d/task-filter
	echo 1 > $d/interval
	echo -1 > $d/times
	echo 0 > $d/space
	echo 0 > $d/verbose
	echo N > $d/ignore-gfp-wait
	echo 0 > $d/probability
done
echo 0 > $G/min-order

# nth_fails N COMMAND: runs COMMAND (a shell string) in a task whose Nth
# fault-injection site fails; its status and error text are COMMAND's.
nth_fails() { sh -c "echo $1 > /proc/self/fail-nth; $2" > /tmp/nth.out 2>&1; }

# kdamonds_are N: exactly N kdamonds besides those before the file began
# (waiting for those stopping to exit).
kdamonds_are() {
	wait_until 5 sh -c "[ \$(cat /proc/[0-9]*/comm 2>/dev/null | grep -c '^kdamond') = $(( base + $1 )) ]"
}

# consistent: enabled=Y with kdamond_pid running and all three kdamonds,
# or enabled=N, kdamond_pid -1 and none.
consistent() {
	if [ "$(param enabled)" = Y ]; then
		kdamond_running "$(param kdamond_pid)" && kdamonds_are 3
	else
		[ "$(param kdamond_pid)" = -1 ] && kdamonds_are 0
	fi
}

# pids: the PIDs of the kdamonds running, sorted.
pids() { grep -l '^kdamond' /proc/[0-9]*/comm 2>/dev/null | sed 's|^/proc/||; s|/comm$||' | sort -n | tr '\n' ' '; }

# The console checker expects allocation-failure reports from here on.
itest_line "itest: faults begin"

# 1. Enabling, every site failed in turn.
# shellcheck disable=SC2086
check faults_tier_insmod insmod /damon_autotune.ko $start
ok=0 enomem=0 other=0 bad=0 run=0 n=0
while [ $n -lt "$sites" ] && [ $run -lt 10 ]; do
	n=$((n + 1))
	if nth_fails $n "echo Y > $P/enabled"; then
		ok=$((ok + 1)) run=$((run + 1))
	else
		run=0
		if grep -q 'Cannot allocate memory' /tmp/nth.out; then
			enomem=$((enomem + 1))
		else
			other=$((other + 1)); echo "faults: enable, site $n: $(head -c 200 /tmp/nth.out)"
		fi
	fi
	consistent || { bad=$((bad + 1)); echo "faults: enable, site $n: inconsistent: enabled $(param enabled), kdamond_pid $(param kdamond_pid), $(nr_kdamonds) kdamonds"; }
	echo N > $P/enabled
	kdamonds_are 0 || bad=$((bad + 1))
done
echo "faults: enable with tiering, sites 1 to $n failed in turn: $ok worked, $enomem failed with ENOMEM, $other failed otherwise, $bad inconsistent states"
check faults_tier_enable_walk_ended [ $run -ge 10 ]
check faults_tier_enable_failed_some [ $enomem -gt 0 ]
check_eq faults_tier_enable_errors_are_enomem $other 0
check_eq faults_tier_enable_consistent $bad 0

# 2. Committing new reclaim, min_age and tiering parameters, every site
# failed in turn, into the three running kdamonds. With tuning off,
# current_min_age is the min_age of the last commit that worked.
check faults_tier_enable set_param enabled Y
before=$(pids)
check_eq faults_tier_three_kdamonds "$(echo $before | wc -w)" $((base + 3))
ok=0 enomem=0 other=0 bad=0 run=0 n=0
old=$(param current_min_age)
while [ $n -lt "$sites" ] && [ $run -lt 10 ]; do
	n=$((n + 1))
	new=$(( (n % 50 + 2) * 1000000 ))
	[ "$new" = "$old" ] && new=$((new + 1000000))
	echo $new > $P/min_age
	echo $((new * 2)) > $P/tier_cold_min_age
	echo $((n * 4096 + 1048576)) > $P/tier_demote_quota_sz
	echo $((n * 4096 + 1048576)) > $P/quota_sz
	if nth_fails $n "echo Y > $P/commit_inputs"; then
		ok=$((ok + 1)) run=$((run + 1))
		want=$new
	else
		run=0
		want=$old
		if grep -q 'Cannot allocate memory' /tmp/nth.out; then
			enomem=$((enomem + 1))
		else
			other=$((other + 1)); echo "faults: commit, site $n: $(head -c 200 /tmp/nth.out)"
		fi
	fi
	got=$(param current_min_age)
	[ "$got" = "$want" ] || { bad=$((bad + 1)); echo "faults: commit, site $n: current_min_age $got, want $want (old $old, new $new)"; }
	[ "$(pids)" = "$before" ] || { bad=$((bad + 1)); echo "faults: commit, site $n: kdamonds $(pids), were $before"; }
	old=$got
done
echo "faults: commit with tiering, sites 1 to $n failed in turn: $ok worked, $enomem failed with ENOMEM, $other failed otherwise, $bad inconsistent states"
check faults_tier_commit_walk_ended [ $run -ge 10 ]
check faults_tier_commit_failed_some [ $enomem -gt 0 ]
check_eq faults_tier_commit_errors_are_enomem $other 0
check_eq faults_tier_commit_consistent $bad 0
# The commits that worked were applied by the kdamonds.
check faults_tier_commit_applied wait_until 10 sh -c "[ \$(cat $P/commit_inputs) = N ]"
check faults_tier_disable set_param enabled N
check faults_tier_rmmod rmmod damon_autotune

# 3. The kdamonds themselves under random failures (slab 20%, pages 20%),
# min_age tuning and tiering on, with memory to move (the workload's
# memory is on node 1, the slow one, so tiering promotes it while
# allocations fail): each keeps running or stops on its own, and enabled
# reads whether one runs. The failures last until promotion has tried
# (at most 120 s; it began 10-12 s after the start in three runs with
# slab, page or both failures, although the hot set was seen after 2 s,
# and after 39 s in another) and 10 s more.
avail_kb=$(awk '/^MemAvailable/ {print $2}' /proc/meminfo)
node1_kb=$(awk '/MemFree/ {print $4}' /sys/devices/system/node/node1/meminfo)
load_kb=$((avail_kb / 3)); [ $load_kb -gt $((node1_kb / 2)) ] && load_kb=$((node1_kb / 2))
printf 'load, %dK\n\nrun\n600000\nload, 1, 4096, 1\n' $load_kb > /tmp/faults.cfg
check faults_tier_masim start_masim /tmp/faults.cfg --loops 0 --bind load:1 ||
	echo "faults: masim did not start: $(head -c 300 /tmp/masim.log)"
# shellcheck disable=SC2086
check faults_tier_insmod_enabled insmod /damon_autotune.ko $start autotune_min_age=Y enabled=Y
running=$(pids)
moved0="$(param tier_demote_bytes_migrated) $(param tier_promote_bytes_migrated)"
tried0=$(param tier_promote_bytes_tried)
echo 20 > $F/probability
echo 20 > $G/probability
for p in $running; do echo 1 > /proc/$p/make-it-fail; done
t0=$(uptime_s)
wait_until 120 sh -c "[ \$(cat $P/tier_promote_bytes_tried) -gt $tried0 ]"
sleep 10
# Read while the failures are still on: what tiering did under them.
tried1=$(param tier_promote_bytes_tried)
moved1="$(param tier_demote_bytes_migrated) $(param tier_promote_bytes_migrated)"
failed1="$(param tier_node_demote_bytes_failed) $(param tier_node_promote_bytes_failed)"
for p in $running; do [ -e /proc/$p/make-it-fail ] && echo 0 > /proc/$p/make-it-fail; done
echo 0 > $F/probability
echo 0 > $G/probability
left=$(pids)
echo "faults: kdamonds $running under failslab and fail_page_alloc 20% for $(( $(uptime_s) - t0 )) s: $(echo $left | wc -w) still running ($left); current_min_age $(param current_min_age); bytes demoted and promoted before: $moved0, under the failures: $moved1; not moved (per node, demote then promote): $failed1; promotion tried $tried0 before, $tried1 under the failures"
# Tiering's kdamond ran under the failures with a hot set on the slow
# node: it tried to promote it. (It had "tried nothing" in every run
# before: masim was started with "--bind 1", which it refuses for want of
# a region name, so there was no workload at all.)
check_num faults_tier_promoted_under_faults "$tried1" -gt "$tried0"
if [ "$(echo $left | wc -w)" -gt "$base" ]; then want=Y; else want=N; fi
check_eq faults_tier_enabled_reads_running "$(param enabled)" $want
cur=$(param current_min_age)
check_num faults_tier_min_age_in_bounds "$cur" -le 60000000 "$cur"
check faults_tier_disable_after_run set_param enabled N
kdamonds_are 0 || echo "faults: kdamonds left after disable: $(pids)"
stop_masim
check faults_tier_rmmod_after_run rmmod damon_autotune
for d in $F $G; do echo N > $d/task-filter; echo Y > $d/ignore-gfp-wait; done
echo 1 > $G/min-order
itest_line "itest: faults end"
kunit_loud
