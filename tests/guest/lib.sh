# Helpers for the integration tests that run inside the VM (busybox sh).
# Each check prints one line, "itest: ok NAME" or "itest: not ok NAME: why",
# which tools/qemu/check-console.py counts.
#
# Accounting: run-all.sh runs each test file through run_file, which
# prints "itest: begin FILE" and "itest: end FILE status S"; each file
# declares near its top, on one line, how many checks it runs
# ("itest_plan N"; computed where the count depends on a parameter).
# check-console.py fails a file that began and did not end, that ended
# with a non-zero status, that has no plan, or whose ok + not ok lines
# differ from its plan.

P=/sys/module/damon_autotune/parameters

# itest_line TEXT: one "itest:" line, written to the kernel's log
# (/dev/kmsg), which the console prints as one record: a kernel message
# printed at the same moment cannot split it, as it can split a line the
# script writes to the console itself (seen once: "itest: ok
# tier_nodes_set_while_r[   40.976247] damon_autotune: ...", a check the
# console checker then rightly could not read). check-console.py strips
# the record's timestamp. Each write opens /dev/kmsg anew, so its per-open
# rate limit never drops a line; a line the kernel refuses (over 1 KiB) is
# echoed.
itest_line() { { echo "$*" > /dev/kmsg; } 2>/dev/null || echo "$*"; }

pass() { itest_line "itest: ok $1"; }
fail() { itest_line "itest: not ok $1${2:+: $2}"; }

# itest_plan N: this file runs N checks.
itest_plan() { itest_line "itest: plan $1"; }

# source_file FILE [ARGS...]: sources FILE with ARGS as its positional
# parameters (none if none: a bare ". FILE" would pass it the caller's).
source_file() {
	_sf_file=$1; shift
	. "$_sf_file"
}

# run_file NAME COMMAND...: runs COMMAND ("source_file /test/FILE", or a function)
# in a subshell between the begin and end markers. The status is 0 only
# if COMMAND ran to its end: an "exit" (any value) or a shell error
# inside it ends the subshell without reaching "exit 0". (A top-level
# "return" in a sourced file does reach it: the plan catches the checks
# it skipped.)
run_file() {
	local name=$1 t0 rc; shift
	itest_line "itest: begin $name"
	t0=$(uptime_s)
	( "$@"; exit 0 )
	rc=$?
	itest_line "itest: end $name status $rc took $(( $(uptime_s) - t0 )) s"
}

# check NAME COMMAND...: passes if COMMAND succeeds.
check() {
	local name=$1; shift
	if "$@" >/tmp/check.out 2>&1; then pass "$name"; else fail "$name" "$(head -c 200 /tmp/check.out)"; fi
}

# check_fails_with ERRNO NAME COMMAND...: passes if COMMAND fails with
# the error ERRNO, as busybox prints it (strerror: "sh: write error:
# Invalid argument", "sh: can't create FILE: Permission denied",
# "insmod: can't insert 'FILE': Invalid argument"). A failure for another
# reason (a mistyped parameter is "No such file or directory"; EBUSY
# where EINVAL was meant) fails the check.
check_fails_with() {
	local errno=$1 name=$2 text; shift 2
	case $errno in
	EINVAL) text="Invalid argument" ;;
	ERANGE) text="Numerical result out of range" ;;
	EBUSY) text="Device or resource busy" ;;
	ENOENT) text="No such file or directory" ;;
	EACCES) text="Permission denied" ;;
	EPERM) text="Operation not permitted" ;;
	*) fail "$name" "check_fails_with: unknown error name '$errno'"; return ;;
	esac
	if "$@" >/tmp/check.out 2>&1; then
		fail "$name" "succeeded"
	elif grep -q "$text" /tmp/check.out; then
		pass "$name"
	else
		fail "$name" "expected $errno ($text), got: $(head -c 200 /tmp/check.out)"
	fi
}

# check_fails: gone, it passed on any failure ("No such file" included).
check_fails() { fail "$1" "check_fails says no errno: use check_fails_with ERRNO NAME COMMAND..."; }

# absent PATH: nothing exists at PATH.
absent() { [ ! -e "$1" ]; }

# is_int VALUE...: every VALUE is a decimal integer (an optional minus
# sign, then digits).
is_int() {
	local v
	for v in "$@"; do
		case $v in
		'' | - | *[!0-9-]* | ?*-*) return 1 ;;
		esac
	done
}

# check_num NAME A OP B [INPUT...]: passes if [ A OP B ] (OP is -lt, -le,
# -eq, -ne, -ge or -gt) and A, B and every INPUT are integers. INPUT are
# the values read from the system that A or B were computed from with
# $(( )), where an empty (unreadable) value silently becomes 0: pass them
# all, so that an unreadable counter fails the check instead of passing
# an upper bound.
check_num() {
	local name=$1 a=$2 op=$3 b=$4; shift 4
	if ! is_int "$a" "$b" "$@"; then
		fail "$name" "not all numbers: '$a' $op '$b' from '$*'"
	elif [ "$a" "$op" "$b" ]; then
		pass "$name"
	else
		fail "$name" "$a $op $b is false"
	fi
}

# check_eq NAME ACTUAL EXPECTED
check_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', expected '$3'"; fi
}

# DAMON_RECLAIM's parameters (it is built into the test and benchmark
# kernels).
R=/sys/module/damon_reclaim/parameters

# reclaimer_on DIR NAME=VALUE...: the reclaimer whose parameters are in
# DIR ($P: damon_autotune, loaded and disabled; $R: DAMON_RECLAIM,
# disabled) gets each NAME=VALUE, in order, then enabled=Y; succeeds once
# its kdamond runs. Only one of them can run at a time.
reclaimer_on() {
	local d=$1 kv; shift
	for kv in "$@"; do
		echo "${kv#*=}" > "$d/${kv%%=*}" || return 1
	done
	echo Y > "$d/enabled" && wait_until 10 sh -c "[ \$(cat $d/kdamond_pid) -gt 0 ]"
}

# reclaimer_off DIR: that reclaimer disabled, its kdamond gone.
reclaimer_off() {
	local pid
	pid=$(cat "$1/kdamond_pid")
	echo N > "$1/enabled" && wait_until 10 kdamond_gone "$pid"
}

# params_save DIR NAME...: prints NAME=VALUE for each parameter NAME in
# DIR, for params_restore DIR "$(params_save DIR NAME...)".
params_save() {
	local d=$1 n; shift
	for n in "$@"; do echo "$n=$(cat "$d/$n")"; done
}
params_restore() {
	local kv
	for kv in $2; do echo "${kv#*=}" > "$1/${kv%%=*}"; done
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

# uptime_s: seconds since boot.
uptime_s() { cut -d. -f1 /proc/uptime; }

# wait_until SECONDS COMMAND...: polls COMMAND (a function of this file
# is fine) every 0.2 s, SECONDS x 5 times: longer by the clock when
# forks are slow (under memory pressure in TCG).
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
# filled (fails at once if it dies); sets masim_pid. Its output goes to
# /tmp/masim.log.
start_masim() {
	local cfg=$1; shift
	# The previous run's log goes first: the background job truncates it
	# only once it runs, and until then its "regions ready" would pass.
	rm -f /tmp/masim.log
	masim "$@" "$cfg" > /tmp/masim.log 2>&1 &
	masim_pid=$!
	wait_until 180 masim_ready_or_dead && grep -q "regions ready" /tmp/masim.log
}
masim_ready_or_dead() {
	grep -q "regions ready" /tmp/masim.log || ! kill -0 "$masim_pid" 2>/dev/null
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

# region_share REGION NODE: per cent of the pages of masim's region REGION
# that are on NUMA node NODE, from one read of its line of
# /proc/PID/numa_maps (pages being migrated are not counted).
region_share() {
	local addr
	addr=$(sed -n "s/^masim: region $1 at //p" /tmp/masim.log)
	awk -v a="$addr" -v n="N$2" '$1 == a {
		for (i = 2; i <= NF; i++) if ($i ~ /^N[0-9]+=/) {
			split($i, kv, "=")
			total += kv[2]
			if (kv[1] == n) on = kv[2]
		}
	} END { print total ? int(on * 100 / total) : 0 }' "/proc/$masim_pid/numa_maps"
}

# node_kb FIELD [NODE]: a field of NODE's meminfo (default node 0), in KiB.
node_kb() {
	awk -v k="$1" '$3 == k":" {print $4}' "/sys/devices/system/node/node${2:-0}/meminfo"
}

# fill_page_cache FILE KIB: fills the page cache with KIB of clean pages
# by reading FILE, made sparse first: no disk I/O, which TCG makes slow.
fill_page_cache() {
	rm -f "$1"
	truncate -s "${2}K" "$1" && cat "$1" > /dev/null
}

# node_range NID: "START END", the node's physical address range: from the
# lowest start_pfn to the highest start_pfn + spanned of its populated
# zones in /proc/zoneinfo (always there; the memory blocks of
# /sys/devices/system/memory need CONFIG_MEMORY_HOTPLUG). The same span
# as the module's (pgdat's node_start_pfn + node_spanned_pages), holes
# included; 4 KiB pages.
node_range() {
	awk -v n="$1," '
	$1 == "Node" { on = ($2 == n); sp = 0 }
	on && $1 == "spanned" { sp = $2 }
	on && $1 == "start_pfn:" && sp > 0 {
		if (!seen || $2 < lo) lo = $2
		if ($2 + sp > hi) hi = $2 + sp
		seen = 1
	}
	END { if (seen) printf "%.0f %.0f\n", lo * 4096, hi * 4096 }' /proc/zoneinfo
}

# zone_pages NODE ZONE FIELD: FIELD of NODE's zone ZONE in /proc/zoneinfo
# (pages; e.g. nr_free_pages, nr_zone_inactive_file), empty if absent.
zone_pages() {
	awk -v n="$1," -v z="$2" -v f="$3" '
	$1 == "Node" { on = ($2 == n && $4 == z) }
	on && $1 == f { print $2; exit }' /proc/zoneinfo
}

# node_free_bp NODE: free memory of NODE in bp of its memory.
node_free_bp() {
	awk '/MemTotal/ {t = $4} /MemFree/ {f = $4} END {print int(f * 10000 / t)}' \
		"/sys/devices/system/node/node${1:-0}/meminfo"
}

# kmemleak_check: a kmemleak scan; its reports fail the run.
kmemleak_check() {
	[ -f /sys/kernel/debug/kmemleak ] || { itest_plan 0; return 0; }
	itest_plan 1
	sleep 6    # kmemleak reports only objects older than 5 s
	echo scan > /sys/kernel/debug/kmemleak
	echo scan > /sys/kernel/debug/kmemleak
	local leaks
	leaks=$(cat /sys/kernel/debug/kmemleak)
	if [ -n "$leaks" ]; then
		echo "$leaks"
		fail "kmemleak_clean" "kmemleak reports leaks (above)"
	else
		pass "kmemleak_clean"
	fi
}
