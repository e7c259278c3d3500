# min_age auto-tuning on the seed's two DAMA scenarios, scaled down:
# 1. a region used in full for T, then only 10% of it for T, again and
#    again, in memory that holds it: current_min_age must rise until
#    DAMON stops evicting the 90% idle for T (the refaults stop);
# 2. four regions used in turn for 8 s each (each idle 3 x 8 s between uses),
#    more than memory holds: it must settle below 24 s.
# Both with the default controller (autotune_min_age_algo=attributed);
# then each scene again with DAMA's (dama), whose figures are printed for
# the comparison and whose checks are direction (scene 1), bounds and no
# restart. Prints the trajectories.
itest_plan 37

if ! grep -q vda /proc/swaps; then
	[ -b /dev/vda ] || { fail min_age_needs_swap_disk "no /dev/vda"; return; }
	mkswap /dev/vda >/dev/null && swapon /dev/vda
fi
vmstat() { awk -v k="$1" '$1 == k {print $2}' /proc/vmstat; }
avail_kb() { awk '/^MemAvailable/ {print $2}' /proc/meminfo; }
SEC=1000000
EXTRA=""

# The parameters: an interval of 0, inverted bounds and writes to the
# read-only values are refused, and nothing starts.
rmmod damon_autotune 2>/dev/null
check min_age_insmod insmod /damon_autotune.ko
check_eq min_age_tuning_off_by_default "$(param autotune_min_age)" N
check_fails_with EINVAL min_age_interval_rejects_zero set_param autotune_min_age_interval_ms 0
check_eq min_age_interval_kept "$(param autotune_min_age_interval_ms)" 5000
check_eq min_age_algo_default "$(param autotune_min_age_algo)" attributed
check_fails_with EINVAL min_age_algo_refuses_unknown set_param autotune_min_age_algo bogus
check_eq min_age_algo_kept_after_refused "$(param autotune_min_age_algo)" attributed
check min_age_algo_accepts_dama sh -c "echo dama > $P/autotune_min_age_algo && [ \$(cat $P/autotune_min_age_algo) = dama ] && echo attributed > $P/autotune_min_age_algo"
check_fails_with EACCES current_min_age_read_only set_param current_min_age 5
check_fails_with EACCES min_age_increases_read_only set_param min_age_increases 5
set_param autotune_min_age Y
set_param min_age_min $((9 * SEC))
set_param min_age_max $SEC
check_fails_with EINVAL min_age_inverted_bounds_refused set_param enabled Y
check_eq min_age_inverted_bounds_nothing_runs "$(param kdamond_pid)" -1
set_param min_age_max $((90 * SEC))
check min_age_enable_with_tuning set_param enabled Y
check_eq min_age_starts_at_min_age_clamped "$(wait_until 5 sh -c "[ \$(cat $P/current_min_age) != 0 ]"; param current_min_age)" $((90 * SEC))
set_param min_age_max $((60 * SEC))
check min_age_commit_new_bounds set_param commit_inputs Y
check min_age_clamped_after_commit wait_until 10 sh -c "[ \$(cat $P/current_min_age) = $((60 * SEC)) ]"
set_param min_age_min $((70 * SEC))
check_fails_with EINVAL min_age_commit_inverted_refused set_param commit_inputs Y
check_eq min_age_kept_after_refused_commit "$(param current_min_age)" $((60 * SEC))
check min_age_rmmod rmmod damon_autotune

# tune NAME START_US MIN_US MAX_US SECONDS: loads the module with tuning on
# (starting at START_US), samples current_min_age every 5 s for SECONDS,
# prints the trajectory, the refaults and the counters, sets TRACE, LAST,
# UP, DOWN, INSIDE (1 if every sample was within the bounds), SAME_PID (1
# if the kdamond was never restarted), and REF_FIRST, REF_MID and REF_LAST
# (anonymous refaults in the first, middle and last third of the run).
tune() {
	local name=$1 start=$2 lo=$3 hi=$4 secs=$5 pid v i
	local s0 k0 d0 a0 f0 w0 n a
	rmmod damon_autotune 2>/dev/null
	# Always active, no quota: min_age alone decides what goes. (With a
	# size quota, DAMON on the physical address space spends it on free
	# memory first: free pages are the oldest regions, and DAMON applies
	# a quota to the oldest first.)
	insmod /damon_autotune.ko enabled=Y min_age="$start" \
		autotune_min_age=Y min_age_min="$lo" min_age_max="$hi" \
		autotune_min_age_interval_ms=2000 \
		wmarks_high=1000 wmarks_mid=999 wmarks_low=0 wmarks_interval=1000000 \
		quota_ms=0 quota_sz=0 $EXTRA || { fail "min_age_${name}_insmod"; return; }
	pid=$(param kdamond_pid)
	s0=$(param bytes_reclaimed_regions) k0=$(vmstat pgsteal_kswapd) d0=$(vmstat pgsteal_direct)
	a0=$(vmstat workingset_refault_anon) f0=$(vmstat workingset_refault_file)
	w0=$(vmstat workingset_activate_anon)
	TRACE="" RTRACE="" INSIDE=1 n=$((secs / 5)) a=$a0
	for i in $(seq $n); do
		sleep 5
		v=$(param current_min_age)
		TRACE="$TRACE $((v / 100000))"
		[ "$v" -ge "$lo" ] && [ "$v" -le "$hi" ] || INSIDE=0
		RTRACE="$RTRACE $(( $(vmstat workingset_refault_anon) - a ))"
		a=$(vmstat workingset_refault_anon)
		[ "$i" = $((n / 3)) ] && REF_FIRST=$((a - a0)) REF_MID=$a
		[ "$i" = $((n - n / 3)) ] && REF_LAST=$a REF_MID=$((a - REF_MID))
	done
	REF_LAST=$(( $(vmstat workingset_refault_anon) - REF_LAST ))
	LAST=$v UP=$(param min_age_increases) DOWN=$(param min_age_decreases)
	SAME_PID=0
	[ "$(param kdamond_pid)" = "$pid" ] && SAME_PID=1
	echo "min_age: $name: algo $(param autotune_min_age_algo); current_min_age every 5 s (0.1 s units):$TRACE"
	echo "min_age: $name: anon refaults in each 5 s:$RTRACE"
	echo "min_age: $name: $UP increases, $DOWN decreases; DAMON reclaimed $(( ($(param bytes_reclaimed_regions) - s0) >> 20 )) MiB, pgsteal kswapd $(( $(vmstat pgsteal_kswapd) - k0 )) direct $(( $(vmstat pgsteal_direct) - d0 )), refaults anon $(( $(vmstat workingset_refault_anon) - a0 )) (activated $(( $(vmstat workingset_activate_anon) - w0 ))) file $(( $(vmstat workingset_refault_file) - f0 )); anon refaults per third $REF_FIRST $REF_MID $REF_LAST"
	set_param enabled N
	rmmod damon_autotune
}

# Scenario 1: region A of 20 MiB in two parts, 10% and 90%; high phase:
# all of A, low phase: the 10%. T = 10 s. A is small because paging out
# under TCG and KASAN runs at a few MiB/s (measured about 2.7 MiB/s), and
# the kdamond samples nothing while it pages out; for the same reason the
# monitoring intervals are 4 times DAMON_RECLAIM's.
T=10
printf 'a_hot, 2M\na_rest, 18M\n\nhigh\n%d\na_hot, 0, 4096, 1\na_rest, 0, 4096, 9\n\nlow\n%d\na_hot, 0, 4096, 1\n' \
	$((T * 1000)) $((T * 1000)) > /tmp/scene1.cfg
check min_age_scene1_masim start_masim /tmp/scene1.cfg --loops 0
EXTRA="sample_interval=20000 aggr_interval=200000"
# Starting at 2 s: the signal comes once per cycle (2 T), so each step
# takes a cycle or two; 180 s, nine cycles. (Six, 120 s, were too few: in
# the CI run of 626fd49 it ended at 8.5 s after three increases, below T;
# in the CI run of 73d3063 it had passed T after 55-60 s: 2, 3.6, 4.6, 9.3,
# then 18.7 s, held to the end.)
tune scene1 $((2 * SEC)) $((SEC / 2)) $((60 * SEC)) 180
EXTRA=""
stop_masim
# It rises until DAMON stops evicting the 90% that is idle for T: each
# page of it DAMON evicts is refaulted in the next high phase, so the
# anonymous refaults count those evictions. The last third must have at
# most a tenth of the first third's.
#
# (This was "ends above T" until the CI run of ad4a045 failed it: 2 s, 4 s,
# then 8 s held to the end of 180 s, refaults per third 5063/44/38. The
# idle period DAMON sees here is shorter than T: with min_age fixed at 2 s
# (tuning off, 120 s on the benchmark kernel) DAMON evicted A's 18 MiB
# only 5 to 10 s into each 10 s low phase, and it was refaulted every
# cycle, about 4650 refaults per cycle, 9549/9576/9547 per third; in the
# same kind of run with tuning, at 5.3 s there were 0 to 14 refaults per
# 5 s, against 4680 in the storm at 2 s. A min_age between about 5 s and
# T evicts nothing of A here, so a controller that holds there has done
# its job, and whether it goes on above T depends on a few dozen stray
# refaults. The kdamond kept its rate: 8800 sleeps in 183 s, 20.8 ms per
# 20 ms sample. Past runs, attributed: ended at 11.8 s, 5656 then 115
# refaults in the first and last third; 28.6 and 32.3 s, 280/25/11 and
# 4556/16/151; 20.4 s, 4877/134/146; dama 16.6 and 6.0 s, 6712/385/140 and
# 8494/2521/1397.)
echo "min_age: scene1: ended at $((LAST / 100000)) (0.1 s) against T = $T s; anon refaults $REF_FIRST in the first third, $REF_MID in the middle, $REF_LAST in the last"
check min_age_scene1_rises [ "$UP" -ge 1 ]
check min_age_scene1_refaults_stop [ "$REF_FIRST" -gt 0 -a "$REF_LAST" -le "$((REF_FIRST / 10))" ]
check min_age_scene1_refaults_fall [ "$REF_LAST" -lt "$REF_FIRST" ]
check min_age_scene1_bounds [ "$INSIDE" = 1 ]
check min_age_scene1_no_restart [ "$SAME_PID" = 1 ]
grep "accesses/ms" /tmp/masim.log | tail -2

# Scene 1 again with DAMA's controller, from a fresh masim, for 60 s
# (three cycles): its checks are direction, bounds and no restart, and
# the comparison of the two controllers is the benchmark's (make bench,
# autotune_min_age_dama_wm). It rose within 35 s in the runs on record
# (20, 22, then 51 at 35 s, then 103 at 110 s in the CI run of c8d1930).
check min_age_scene1_dama_masim start_masim /tmp/scene1.cfg --loops 0
EXTRA="sample_interval=20000 aggr_interval=200000 autotune_min_age_algo=dama"
tune scene1_dama $((2 * SEC)) $((SEC / 2)) $((60 * SEC)) 60
EXTRA=""
stop_masim
echo "min_age: scene1_dama: ended at $((LAST / 100000)) (0.1 s) against T = $T s; anon refaults $REF_FIRST in the first third, $REF_MID in the middle, $REF_LAST in the last"
check min_age_scene1_dama_rises [ "$UP" -ge 1 ]
check min_age_scene1_dama_bounds [ "$INSIDE" = 1 ]
check min_age_scene1_dama_no_restart [ "$SAME_PID" = 1 ]
grep "accesses/ms" /tmp/masim.log | tail -2

# Scenario 2: four regions, together 6/5 of the memory left free, used
# in turn (random accesses) for T each: each is idle 3 T = 24 s. A file
# in ramfs (never reclaimed, written in the kernel without a page fault
# per page, unlike an mlocked region) takes all but 100 MiB first, so
# that the swapping stays small enough for TCG. masim writes the regions
# page by page (--no-populate): populated at once, the 120 MiB beside the
# 100 MiB left went out of memory, the kernel's reclaim finding every
# page just referenced (masim killed at set-up, on the debug and the
# benchmark kernels alike).
echo "min_age: scene2: setting up at $(uptime_s) s"
# The swapping pushes free memory to its floor (106 pages seen), and on the
# benchmark kernel an atomic allocation of the virtio disk driver
# (virtqueue_add, GFP_ATOMIC) then failed and printed an allocation-failure
# report. Atomic allocations live on the reserve below the min watermark;
# what an administrator does about such reports is to raise
# vm.min_free_kbytes, so the scene runs with 16 MiB (restored after).
min_free_kb=$(cat /proc/sys/vm/min_free_kbytes)
[ "$min_free_kb" -ge 16384 ] || echo 16384 > /proc/sys/vm/min_free_kbytes
pin_mb=$(( ($(avail_kb) >> 10) - 100 ))
mkdir -p /mnt/pin
check min_age_scene2_pinned sh -c "mount -t ramfs none /mnt/pin && dd if=/dev/zero of=/mnt/pin/fill bs=1M count=$pin_mb"
T=8
r_kb=$(( 100 * 1024 * 3 / 10 ))
{
	for r in a b c d; do printf '%s, %dK\n' $r $r_kb; done
	for r in a b c d; do printf '\n%s\n%d\n%s, 1, 4096, 1\n' "use_$r" $((T * 1000)) $r; done
} > /tmp/scene2.cfg
check min_age_scene2_masim start_masim /tmp/scene2.cfg --loops 0 --no-populate
echo "min_age: scene2: regions ready at $(uptime_s) s"
tune scene2 $((60 * SEC)) $SEC $((120 * SEC)) 90
S2_LAST=$LAST S2_DOWN=$DOWN S2_INSIDE=$INSIDE S2_SAME_PID=$SAME_PID
# DAMA's controller on the same masim, right after (its regions as the
# first run left them), for 45 s: bounds and no restart only (it held
# 60 s for all of 90 s in the CI run of c8d1930).
EXTRA="autotune_min_age_algo=dama"
tune scene2_dama $((60 * SEC)) $SEC $((120 * SEC)) 45
EXTRA=""
echo "min_age: scene2_dama: ended at $((LAST / 100000)) (0.1 s) against the 24 s revisit period"
check min_age_scene2_dama_bounds [ "$INSIDE" = 1 ]
check min_age_scene2_dama_no_restart [ "$SAME_PID" = 1 ]
LAST=$S2_LAST DOWN=$S2_DOWN INSIDE=$S2_INSIDE SAME_PID=$S2_SAME_PID
stop_masim
rm -f /mnt/pin/fill
umount /mnt/pin
check min_age_scene2_falls [ "$DOWN" -ge 1 ]
check min_age_scene2_below_revisit [ "$LAST" -lt $((3 * T * SEC)) ]
check min_age_scene2_bounds [ "$INSIDE" = 1 ]
check min_age_scene2_no_restart [ "$SAME_PID" = 1 ]
grep "accesses/ms" /tmp/masim.log | tail -4
echo "$min_free_kb" > /proc/sys/vm/min_free_kbytes
