# Parameter fuzzing under memory pressure: thousands of random writes
# through sysfs (boundary and random numbers in every base and sign,
# words, spaces, newlines, more than a page, ...), with commits, enable
# flips and restores of the defaults in between. Each write either works
# and reads back, or fails and leaves the old value (the rules are in
# tools/workload/paramfuzz.c). The kernel command line sets a longer run
# (fuzz_writes=N, default 2000) or another seed (fuzz_seed=N, default a
# fixed one, so that a CI failure reproduces).
itest_plan 6

FUZZ_WRITES=$(cmdline_value fuzz_writes 2000)
seed=$(cmdline_value fuzz_seed 20261122)

rmmod damon_autotune 2>/dev/null
check insmod_for_fuzz insmod /damon_autotune.ko
modinfo -F parmtype /damon_autotune.ko > /tmp/parmtypes
check parmtypes_listed [ -s /tmp/parmtypes ]

# A third of the available memory, touched at random, for as long as it
# takes.
avail_kb=$(awk '/^MemAvailable/ {print $2}' /proc/meminfo)
printf 'pressure, %dK\n\nrun\n60000\npressure, 1, 4096, 1\n' $((avail_kb / 3)) > /tmp/fuzz.cfg
check masim_fuzz_ready start_masim /tmp/fuzz.cfg --loops 0

echo "fuzz: seed $seed, $FUZZ_WRITES writes"
paramfuzz --seed "$seed" --writes "$FUZZ_WRITES" --types /tmp/parmtypes > /tmp/fuzz.log 2>&1
rc=$?
# The violations (the first 50), the summary.
grep 'VIOLATION' /tmp/fuzz.log | head -n 50
grep -v 'VIOLATION' /tmp/fuzz.log | tail -n 3
if [ "$rc" = 0 ]; then
	pass fuzz_no_violations
else
	fail fuzz_no_violations "exit $rc (seed $seed): $(tail -n 1 /tmp/fuzz.log)"
fi

check_eq enabled_after_fuzz "$(param enabled)" N
check rmmod_after_fuzz rmmod damon_autotune
stop_masim
