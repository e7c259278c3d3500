# Helpers for the integration tests that run inside the VM (busybox sh).
# Each check prints one line, "itest: ok NAME" or "itest: not ok NAME: why",
# which tools/qemu/check-console.py counts.

P=/sys/module/damon_autotune/parameters

pass() { echo "itest: ok $1"; }
fail() { echo "itest: not ok $1${2:+: $2}"; }

# check NAME COMMAND...: passes if COMMAND succeeds.
check() {
	local name=$1; shift
	if "$@" >/tmp/check.out 2>&1; then pass "$name"; else fail "$name" "$(head -c 200 /tmp/check.out)"; fi
}

# check_fails NAME COMMAND...: passes if COMMAND fails.
check_fails() {
	local name=$1; shift
	if "$@" >/dev/null 2>&1; then fail "$name" "succeeded"; else pass "$name"; fi
}

# check_eq NAME ACTUAL EXPECTED
check_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', expected '$3'"; fi
}

# param NAME: a parameter's value.
param() { cat "$P/$1"; }

# set_param NAME VALUE: writes a parameter; fails as the write fails.
set_param() { echo "$2" > "$P/$1"; }

# kdamond_running PID: a kdamond thread with that PID exists.
kdamond_running() { [ "$1" -gt 0 ] 2>/dev/null && grep -q '^kdamond' "/proc/$1/comm" 2>/dev/null; }

# kdamond_gone PID: no kdamond thread with that PID exists (any more).
kdamond_gone() { ! kdamond_running "$1"; }

# nr_kdamonds: how many kdamond threads exist.
nr_kdamonds() { cat /proc/[0-9]*/comm 2>/dev/null | grep -c '^kdamond'; }

# wait_until SECONDS COMMAND...: polls COMMAND (a function of this file
# is fine) every 0.2 s.
wait_until() {
	local limit=$(( $1 * 5 )); shift
	while [ $limit -gt 0 ]; do
		"$@" && return 0
		sleep 0.2
		limit=$((limit - 1))
	done
	return 1
}

# start_masim CONFIG [OPTIONS...]: starts the workload generator in the
# background and waits (up to 180 s) until its regions are allocated and
# filled; sets masim_pid. Its output goes to /tmp/masim.log.
start_masim() {
	local cfg=$1; shift
	masim "$@" "$cfg" > /tmp/masim.log 2>&1 &
	masim_pid=$!
	wait_until 180 grep -q "regions ready" /tmp/masim.log
}

# stop_masim: stops the workload generator started last.
stop_masim() {
	kill "$masim_pid" 2>/dev/null
	wait "$masim_pid" 2>/dev/null
}

# cmdline_value NAME DEFAULT: the value of NAME=... on the kernel command
# line (tools/test.sh --full passes larger counts that way), or DEFAULT.
cmdline_value() {
	local v
	v=$(tr ' ' '\n' < /proc/cmdline | sed -n "s/^$1=//p" | tail -n 1)
	echo "${v:-$2}"
}

# kunit_quiet / kunit_loud: skip the module's KUnit suites on insmod (for
# tests that load it hundreds of times), and run them again.
kunit_quiet() { echo 'no_suite_is_named_this' > /sys/module/kunit/parameters/filter_glob; }
kunit_loud() { echo '*' > /sys/module/kunit/parameters/filter_glob; }
