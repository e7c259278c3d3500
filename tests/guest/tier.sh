# Memory tiering across emulated NUMA nodes. tools/test.sh boots it with
# --numa 3: node 0 has the CPUs, nodes 1 and 2 are CPU-less, 512 MiB each.
#
#   run-all.sh tier.sh [SECONDS]   SECONDS bounds each convergence phase
#                                  (default 120)
#
# 1. tier_* parameters refuse bad chains and values, keeping the old one;
# 2. chain 0,1: hot and cold sets on node 1; the hot set moves to node 0,
#    the cold set stays;
# 3. chain 0,1: node 0 filled below a 20% free goal; cold pages leave it
#    until the goal is reached, and not all of them;
# 4. chain detected (0,1,2): hot and cold sets on node 2; the hot set climbs
#    two tiers, the cold set stays;
# 5. reclaim and tiering in one group; commits.
# In 2 and 3, tier_used_bp and tier_free_bp agree with each node's meminfo
# within 50 bp: with node 0 mostly free, then about 80% used.
# Each phase prints its trajectory every 5 s ("tier: ..."), the figures the
# notes and the benchmark quote.
itest_plan 69
limit=${1:-120}

check tier_vm_has_three_nodes [ -d /sys/devices/system/node/node2 ]
kunit_quiet
check tier_insmod insmod /damon_autotune.ko

# 1. Validation.
check_eq tier_default_off "$(param tier)" N
check_eq tier_nodes_default_empty "$(param tier_nodes)" ""
check tier_nodes_accepts_a_chain set_param tier_nodes 1,0
for bad in 0 0,0 0,1,0 0,5 0,254 x 0,,1 "0,1,2,3,4,5,6,7,8" -1,0; do
	check_fails_with EINVAL "tier_nodes_refuses_'$bad'" set_param tier_nodes "$bad"
done
check_eq tier_nodes_kept_after_refusals "$(param tier_nodes)" 1,0
check tier_nodes_back_to_detection set_param tier_nodes ""
check_fails_with EINVAL tier_goal_over_10000_refused set_param tier_promote_goal_used_bp 10001
check_eq tier_goal_kept "$(param tier_promote_goal_used_bp)" 9970
check_fails_with EINVAL tier_zero_reset_interval_refused set_param tier_demote_quota_reset_interval_ms 0
check_fails_with EACCES tier_read_only_stat set_param tier_promote_bytes_migrated 1
check_eq tier_active_nodes_off "$(param tier_active_nodes)" ""
rmmod damon_autotune

# bp_off FIELD: the largest difference, in bp, between tier_FIELD_bp
# (FIELD is used or free) and the FIELD memory of each node of the chain
# in its meminfo (node_free_bp), or "x" if the value does not have one
# number per node. Prints both lists too.
bp_off() {
	local nodes vals n v m d i=0 worst=0 mine=""
	nodes=$(param tier_active_nodes)
	vals=$(param "tier_${1}_bp")
	for n in $(echo "$nodes" | tr , ' '); do
		i=$((i + 1))
		v=$(echo "$vals" | cut -d, -f$i)
		m=$(node_free_bp "$n")
		is_int "$v" "$m" || { echo "x: tier_${1}_bp '$vals', nodes '$nodes'"; return; }
		[ "$1" = used ] && m=$((10000 - m))
		mine="$mine${mine:+,}$m"
		d=$((v - m))
		[ $d -lt 0 ] && d=$((-d))
		[ $d -gt $worst ] && worst=$d
	done
	[ $i -gt 0 ] && [ "$(echo "$vals" | tr , '\n' | wc -l)" -eq $i ] ||
		{ echo "x: tier_${1}_bp '$vals', nodes '$nodes'"; return; }
	echo "$worst: tier_${1}_bp $vals, meminfo $mine"
}
# bp_agree FIELD: bp_off FIELD is at most 50 (prints it).
bp_agree() {
	local off
	off=$(bp_off "$1")
	echo "$off"
	is_int "${off%%:*}" && [ "${off%%:*}" -le 50 ]
}

# hot_run CHAIN NODE: hot (32 MiB, touched all the time) and cold (64 MiB,
# never touched again) sets on NODE, tiering on CHAIN ("" detects it), for
# up to $limit s or until 95% of the hot set is on node 0.
hot_run() {
	local chain=$1 node=$2 tag=$3 t=0 hot cold
	printf 'hot, 32M\ncold, 64M\n\nrun\n3600000\nhot, 1, 4096, 1\n' > /tmp/tier.cfg
	check "${tag}_masim_ready" start_masim /tmp/tier.cfg --bind hot:$node --bind cold:$node
	check "${tag}_hot_starts_on_node$node" [ "$(region_share hot $node)" -ge 95 ]
	check "${tag}_insmod" insmod /damon_autotune.ko enabled=Y reclaim=N tier=Y \
		tier_nodes=$chain tier_cold_min_age=3000000
	echo "tier: $tag: t=0s hot on node 0/1/2: $(region_share hot 0)/$(region_share hot 1)/$(region_share hot 2)%"
	while [ $t -lt "$limit" ]; do
		sleep 5; t=$((t + 5))
		hot=$(region_share hot 0)
		cold=$(region_share cold 0)
		echo "tier: $tag: t=${t}s hot on node 0/1/2: $hot/$(region_share hot 1)/$(region_share hot 2)%, cold on node 0: $cold%, used bp $(param tier_used_bp) (goal $(param tier_promote_goal_used_bp)), promoted $(param tier_promote_bytes_migrated) B, quota $(param tier_promote_effective_quota_sz) B"
		[ "$hot" -ge 95 ] && break
	done
}

# 2. Two nodes: promotion.
hot_run 0,1 1 tier2
check_eq tier2_chain "$(param tier_active_nodes)" 0,1
check_eq tier2_one_kdamond_per_node "$(nr_kdamonds)" 2
check tier2_hot_set_on_node0 [ "$(region_share hot 0)" -ge 50 ]
check tier2_cold_set_stays [ "$(region_share cold 1)" -ge 80 ]
check tier2_promoted [ "$(param tier_promote_bytes_migrated)" -gt 0 ]
# Each node's kdamond updates its value after each aggregation interval:
# within 10 s.
check tier2_used_bp_is_meminfos wait_until 10 bp_agree used
check tier2_free_bp_is_meminfos wait_until 10 bp_agree free
echo "tier: tier2: $(bp_off used); $(bp_off free)"
check tier2_disable set_param enabled N
check tier2_kdamonds_stop wait_until 10 sh -c '[ $(cat /proc/[0-9]*/comm | grep -c ^kdamond) = 0 ]'
check_eq tier2_no_active_chain "$(param tier_active_nodes)" ""
check tier2_rmmod rmmod damon_autotune
stop_masim

# 3. Two nodes: demotion towards a 20% free goal on node 0, at most 32 MiB
# per second (a bigger batch runs for seconds under TCG, during which the
# loop cannot see the goal is met).
fill_kb=$(awk '/MemTotal/ {t = $4} /MemFree/ {f = $4} END {print int(f - t / 10)}' \
	/sys/devices/system/node/node0/meminfo)
echo "tier: demote: filling node 0 with $fill_kb KiB"
printf 'filler, %dK\nhot, 4M\n\nrun\n3600000\nhot, 1, 4096, 1\n' "$fill_kb" > /tmp/tier.cfg
check tier_demote_masim_ready start_masim /tmp/tier.cfg --bind filler:0 --bind hot:0
before=$(node_free_bp 0)
check tier_demote_starts_below_goal [ "$before" -lt 1500 ]
check tier_demote_insmod insmod /damon_autotune.ko enabled=Y reclaim=N tier=Y \
	tier_nodes=0,1 tier_cold_min_age=3000000 tier_demote_goal_free_bp=2000 \
	tier_demote_quota_sz=33554432
t=0
echo "tier: demote: t=0s node 0 free $before bp (goal 2000), filler on node 0: $(region_share filler 0)%"
while [ $t -lt "$limit" ]; do
	sleep 5; t=$((t + 5))
	free=$(node_free_bp 0)
	echo "tier: demote: t=${t}s node 0 free $free bp (goal 2000), free bp $(param tier_free_bp), filler on node 0: $(region_share filler 0)%, demoted $(param tier_demote_bytes_migrated) B, quota $(param tier_demote_effective_quota_sz) B"
	[ "$free" -ge 1900 ] && break
done
reached=$(node_free_bp 0)
sleep 10
held=$(node_free_bp 0)
left=$(region_share filler 0)
echo "tier: demote: reached $reached bp, 10 s later $held bp (goal 2000); $left% of the filler still on node 0"
check tier_demote_reaches_goal [ "$reached" -ge 1500 ]
check tier_demote_stops_near_goal [ "$held" -le 3500 ]
check tier_demote_not_everything [ "$left" -ge 30 ]
check tier_demote_moved_cold_pages [ "$(param tier_demote_bytes_migrated)" -gt 0 ]
check tier_demote_hot_stays [ "$(region_share hot 0)" -ge 80 ]
check tier_demote_used_bp_is_meminfos wait_until 10 bp_agree used
check tier_demote_free_bp_is_meminfos wait_until 10 bp_agree free
echo "tier: demote: $(bp_off used); $(bp_off free)"
rmmod damon_autotune
stop_masim

# 4. Three nodes, chain detected: the hot set climbs from node 2.
hot_run "" 2 tier3
check_eq tier3_detected_chain "$(param tier_active_nodes)" 0,1,2
check_eq tier3_one_kdamond_per_node "$(nr_kdamonds)" 3
check tier3_hot_set_left_node2 [ $(( $(region_share hot 0) + $(region_share hot 1) )) -ge 50 ]
check tier3_hot_set_reached_node0 [ "$(region_share hot 0)" -ge 30 ]
# The cold set stays on node 2. One CI run once moved about 18 of its
# 64 MiB up one node: its pages kept the accessed bit masim's writes set,
# and the first promotion walk over regions holding them and hot pages
# found them young. The priming scheme clears those bits first
# (rust/policy/tier.rs, NodeSchemes::prime); 66f3b85's 60% is back to 95%.
echo "tier: tier3: cold set on node 0/1/2: $(region_share cold 0)/$(region_share cold 1)/$(region_share cold 2)%"
check tier3_cold_set_stays [ "$(region_share cold 2)" -ge 95 ]
rmmod damon_autotune
stop_masim

# 5. Reclaim and tiering in one exclusive group; commits.
check tier_with_reclaim_insmod insmod /damon_autotune.ko enabled=Y tier=Y tier_nodes=0,1
check_eq tier_with_reclaim_kdamonds "$(nr_kdamonds)" 3
check tier_with_reclaim_pid_is_reclaim kdamond_running "$(param kdamond_pid)"
check tier_commit_new_quota sh -c "echo 1048576 > $P/tier_promote_quota_sz && echo Y > $P/commit_inputs"
check tier_commit_applied wait_until 10 sh -c "[ \$(cat $P/commit_inputs) = N ]"
check tier_nodes_set_while_running set_param tier_nodes 0,2
check_fails_with EBUSY tier_commit_new_chain_refused set_param commit_inputs Y
check_eq tier_chain_unchanged "$(param tier_active_nodes)" 0,1
check_eq tier_kdamonds_unchanged "$(nr_kdamonds)" 3
check tier_cycle_off set_param enabled N
check tier_cycle_on set_param enabled Y
check_eq tier_new_chain_after_cycle "$(param tier_active_nodes)" 0,2
check tier_reclaim_off_commit_refused sh -c "echo N > $P/reclaim; ! echo Y > $P/commit_inputs"
check_eq tier_still_three_kdamonds "$(nr_kdamonds)" 3
check tier_rmmod rmmod damon_autotune
check_eq tier_no_kdamond_left "$(nr_kdamonds)" 0
