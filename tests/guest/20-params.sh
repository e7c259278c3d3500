# Parameters: every kind read and written through sysfs, refused writes
# that keep the old value, combinations refused when applied, modinfo
# descriptions, and values given to insmod.
itest_plan $((83 + 2 * $(modinfo -F parmtype /damon_autotune.ko | wc -l)))

rmmod damon_autotune 2>/dev/null
check insmod_for_params insmod /damon_autotune.ko

# Every parameter has a type and a description in modinfo.
for f in "$P"/*; do
	name=$(basename "$f")
	check "modinfo_parm_$name" sh -c "modinfo -F parm /damon_autotune.ko | grep -q '^$name:..'"
	check "modinfo_parmtype_$name" sh -c "modinfo -F parmtype /damon_autotune.ko | grep -q '^$name:'"
done

# write_ok NAME VALUE [SHOWN]: the write works and reads back.
write_ok() {
	if set_param "$1" "$2" 2>/dev/null; then
		check_eq "write_${1}_$2" "$(param "$1")" "${3:-$2}"
	else
		fail "write_${1}_$2" "refused"
	fi
}

# write_refused NAME VALUE [ERRNO]: the write fails with ERRNO (EINVAL,
# or ERANGE for a number too large for the type, as kstrto*() say) and
# the value stays.
write_refused() {
	local before err msg="Invalid argument"
	[ "${3:-EINVAL}" = ERANGE ] && msg="Numerical result out of range"
	before=$(param "$1")
	err=$(sh -c "echo '$2' > $P/$1" 2>&1)
	case $err in
	*"$msg"*) check_eq "refuse_${1}_${2:-empty}" "$(param "$1")" "$before" ;;
	*) fail "refuse_${1}_${2:-empty}" "write gave '$err', expected $msg" ;;
	esac
}

# bool
write_ok skip_anon Y
write_ok skip_anon 0 N
write_ok skip_anon true Y
write_ok skip_anon f N
write_refused skip_anon maybe
write_refused skip_anon ""
# int
write_ok quota_goal_nid 0
write_refused quota_goal_nid 1
write_refused quota_goal_nid -1
write_ok quota_goal_nid +0 0
write_refused quota_goal_nid 2147483648 ERANGE
write_refused quota_goal_nid -2147483649 ERANGE
write_refused quota_goal_nid --1
write_refused quota_goal_nid abc
# uint
write_ok quota_mem_free_goal_bp 4000
write_ok quota_mem_free_goal_bp 0
write_refused quota_mem_free_goal_bp 10001
write_refused quota_mem_free_goal_bp 4294967296 ERANGE
write_refused quota_mem_free_goal_bp -1
# ulong
write_ok min_age 5000000
write_ok min_age 0x10 16
write_ok min_age 120000000
write_refused min_age 18446744073709551616 ERANGE
write_refused min_age 99999999999999999999x ERANGE
write_refused min_age 12abc
write_refused min_age ""
write_refused quota_reset_interval_ms 0
write_refused wmarks_high 1001
# upper bounds (rust/params/limits.rs)
write_ok quota_reset_interval_ms 86400000
write_refused quota_reset_interval_ms 86400001
write_refused quota_reset_interval_ms 18446744073709551615
write_ok quota_reset_interval_ms 1000
write_refused min_age 2592000000001
write_refused quota_sz 1125899906842625
write_refused sample_interval 86400000001
# string mapped to an enum
write_ok quota_goal_tuner temporal
write_ok quota_goal_tuner consist
write_refused quota_goal_tuner bogus
write_refused quota_goal_tuner Temporal
# read-only statistics
check_fails_with EACCES stat_read_only set_param nr_reclaimed_regions 5
check_eq stat_kept "$(param nr_reclaimed_regions)" 0

# A combination DAMON would refuse is refused when applied: enabling
# fails with EINVAL and nothing runs.
# refuse_enable NAME BAD GOOD
refuse_enable() {
	set_param "$1" "$2"
	local err
	err=$(sh -c "echo Y > $P/enabled" 2>&1)
	case $err in
	*"Invalid argument"*) pass "enable_refuses_${1}_$2" ;;
	*) fail "enable_refuses_${1}_$2" "enable gave '$err'" ;;
	esac
	check_eq "enabled_stays_N_${1}_$2" "$(param enabled)" N
	check_eq "no_kdamond_${1}_$2" "$(param kdamond_pid)" -1
	set_param "$1" "$3"
}
refuse_enable wmarks_mid 600 400
refuse_enable wmarks_low 450 200
refuse_enable min_nr_regions 2 10
refuse_enable min_nr_regions 2000 10
refuse_enable aggr_interval 1000 100000
refuse_enable monitor_region_start 8192 0
set_param monitor_region_start 4096
refuse_enable monitor_region_end 1152921504606846976 0
set_param monitor_region_start 0
check_eq no_kdamond_after_refusals "$(nr_kdamonds)" 0

# Running: a bad combination in commit_inputs is refused and the
# kdamond keeps running as it was; a good one is applied.
check enable_for_commit set_param enabled Y
pid=$(param kdamond_pid)
set_param wmarks_mid 600
check_fails_with EINVAL commit_refuses_bad_combination set_param commit_inputs Y
check_eq kdamond_kept_after_bad_commit "$(param kdamond_pid)" "$pid"
check kdamond_alive_after_bad_commit kdamond_running "$pid"
set_param wmarks_mid 400
set_param min_age 1000000
check commit_accepts_good_combination set_param commit_inputs Y
check commit_inputs_reads_N_once_applied wait_until 10 sh -c "[ \$(cat $P/commit_inputs) = N ]"
check_eq kdamond_same_after_commit "$(param kdamond_pid)" "$pid"
check_eq commit_error_after_good_commit "$(param commit_error)" 0
check_fails_with EACCES commit_error_read_only set_param commit_error 1
check_eq enabled_reads_running "$(param enabled)" Y
check disable_after_commit set_param enabled N
set_param min_age 120000000

# Values given to insmod.
rmmod damon_autotune
check insmod_with_params insmod /damon_autotune.ko min_age=5000000 quota_goal_tuner=temporal skip_anon=Y quota_mem_free_goal_bp=4000 quota_goal_nid=0
check_eq insmod_min_age "$(param min_age)" 5000000
check_eq insmod_tuner "$(param quota_goal_tuner)" temporal
check_eq insmod_skip_anon "$(param skip_anon)" Y
check_eq insmod_goal_bp "$(param quota_mem_free_goal_bp)" 4000
rmmod damon_autotune
check_fails_with EINVAL insmod_refuses_bad_enum insmod /damon_autotune.ko quota_goal_tuner=bogus
check_fails_with ERANGE insmod_refuses_overflow insmod /damon_autotune.ko min_age=18446744073709551616
check module_absent_after_refusals absent /sys/module/damon_autotune
