# Time and size parameters at and beyond their upper bounds, with every
# scheme active (issue 18): a value above a bound is refused when it is
# written (insmod fails, the value of a running module stays), and the
# bounds themselves run without an overflow. On one node: reclaim with
# always-on watermarks and min_age tuning; with two nodes or more,
# tiering too. Before the bounds and the saturating step of
# module/quota_loop.rs, `quota_reset_interval_ms=18446744073709551615`
# panicked the kdamond at the first aggregation (module/quota_loop.rs:81).
# Each case runs for bounds_secs=N seconds of the kernel command line
# (default 10); bounds_parts="tier" or "reclaim" selects one part.
secs=$(cmdline_value bounds_secs 10)
parts=$(cmdline_value bounds_parts "tier reclaim")
plan=1
for part in $parts; do
	case $part in
	reclaim) plan=$((plan + 21)) ;;
	tier) [ -d /sys/devices/system/node/node1 ] && plan=$((plan + 16)) ;;
	esac
done
itest_plan $plan
big=18446744073709551615
# The documented bounds (Documentation/admin-guide.rst, rust/params/limits.rs).
max_interval_ms=86400000
max_interval_us=86400000000
max_age_us=2592000000000
max_size=1125899906842624
always_on="wmarks_high=1000 wmarks_mid=999 wmarks_low=0"
kunit_quiet
rmmod damon_autotune 2>/dev/null

# alive TAG: the module's kdamond still runs after $secs s.
alive() {
	sleep "$secs"
	check_eq "${1}_enabled" "$(param enabled)" Y
	check "${1}_kdamond_alive" kdamond_running "$(param kdamond_pid)"
}

# refused TAG ARGS...: insmod with ARGS fails; if it does not (the bug),
# give the kdamond time to reach the arithmetic before unloading.
refused() {
	local tag=$1; shift
	if insmod /damon_autotune.ko "$@" >/tmp/insmod.out 2>&1; then
		fail "${tag}_refused" "insmod took $*"
		sleep "$secs"
		rmmod damon_autotune
	else
		pass "${tag}_refused"
		check_eq "${tag}_errno" "$(grep -c 'Invalid argument' /tmp/insmod.out)" 1
	fi
}

# Reclaim, always active, and min_age tuning.
reclaim_part() {
	refused reclaim_reset_interval $always_on quota_reset_interval_ms=$big enabled=Y
	refused reclaim_min_age $always_on min_age=$((max_age_us + 1)) enabled=Y
	refused reclaim_quota_sz $always_on quota_sz=$((max_size + 1)) enabled=Y
	refused reclaim_wmarks_interval $always_on wmarks_interval=$((max_interval_us + 1)) enabled=Y
	check reclaim_at_bounds_insmod insmod /damon_autotune.ko $always_on enabled=Y \
		quota_reset_interval_ms=$max_interval_ms quota_sz=$max_size quota_ms=$max_interval_ms \
		min_age=$max_age_us quota_mem_pressure_us=$max_interval_us quota_autotune_feedback=$big \
		autotune_min_age=Y min_age_min=$max_age_us min_age_max=$max_age_us \
		autotune_min_age_interval_ms=1 fail_charge_num=$big fail_charge_denom=1
	alive reclaim_at_bounds
	# A running module keeps its value when a write beyond the bound is refused.
	check_fails_with EINVAL reclaim_running_refuses set_param quota_reset_interval_ms $big
	check_eq reclaim_running_kept "$(param quota_reset_interval_ms)" $max_interval_ms
	# The first step stored now + the bound: a shorter interval only applies
	# after it, so restart with one at 1 ms and then commit the bound.
	check reclaim_short_interval set_param quota_reset_interval_ms 1
	check reclaim_restart_off set_param enabled N
	check reclaim_restart_on set_param enabled Y
	sleep 2
	check reclaim_commit_bound_interval set_param quota_reset_interval_ms $max_interval_ms
	check reclaim_commit set_param commit_inputs Y
	alive reclaim_committed
	check reclaim_rmmod rmmod damon_autotune
}

# Tiering (and reclaim) on two nodes or more.
tier_part() {
	[ -d /sys/devices/system/node/node1 ] || return 0
	refused tier_demote_interval reclaim=N tier=Y tier_demote_quota_reset_interval_ms=$big enabled=Y
	refused tier_promote_interval reclaim=N tier=Y tier_promote_quota_reset_interval_ms=$big enabled=Y
	refused tier_cold_min_age reclaim=N tier=Y tier_cold_min_age=$((max_age_us + 1)) enabled=Y
	refused tier_quota_sz reclaim=N tier=Y tier_promote_quota_sz=$((max_size + 1)) enabled=Y
	refused tier_aggr_interval reclaim=N tier=Y tier_aggr_interval=$((max_interval_us + 1)) enabled=Y
	check tier_at_bounds_insmod insmod /damon_autotune.ko tier=Y $always_on enabled=Y \
		quota_reset_interval_ms=$max_interval_ms autotune_min_age=Y \
		tier_demote_quota_reset_interval_ms=$max_interval_ms \
		tier_promote_quota_reset_interval_ms=$max_interval_ms \
		tier_promote_quota_sz=$max_size tier_demote_quota_sz=$max_size \
		tier_cold_min_age=$max_age_us tier_promote_goal_used_bp=10000 \
		tier_demote_goal_free_bp=10000
	alive tier_at_bounds
	check_fails_with EINVAL tier_running_refuses set_param tier_demote_quota_reset_interval_ms $big
	check_eq tier_running_kept "$(param tier_demote_quota_reset_interval_ms)" $max_interval_ms
	check tier_rmmod rmmod damon_autotune
}

for part in $parts; do
	${part}_part
done
kunit_loud
check_eq bounds_no_kdamond_left "$(nr_kdamonds)" 0
