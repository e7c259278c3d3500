# Reclaim monitors every block of System RAM by default, and a free-memory
# goal on a node reclaims that node. tools/test.sh boots it with --numa 2
# --mem 5G --disk: q35 puts 2 GiB of RAM below the 4 GiB hole and 3 GiB
# above it; node 0 has the lower block and the first 512 MiB of the upper
# one, node 1 the rest (2.5 GiB each).
#
# 1. Default ranges: monitored_ranges is every "System RAM" line of
#    /proc/iomem (page-aligned, adjacent ones merged); a set region is
#    monitored as given.
# 2. Cold page cache in the lower block (zone DMA32) and in the upper one:
#    while only the upper block is monitored (6.12's default, the biggest
#    block), the upper block's is reclaimed and DMA32's stays; once the
#    default covers every block, DMA32's is reclaimed.
# 3. A free-memory goal on node 1: only node 1's range is monitored, node 1
#    reaches the goal, node 0's free memory and page cache stay.
# 4. A goal on node 1 with a region on node 0 only: refused (EINVAL) at
#    commit and at enable; what runs is unchanged.
itest_plan 29

mkdir -p /mnt/scratch
mount -t ext4 /dev/vda /mnt/scratch || { fail allram_mount; return; }
check allram_vm_has_two_nodes [ -d /sys/devices/system/node/node1 ]

# iomem_ranges: the top-level "System RAM" lines of /proc/iomem as the
# module shows them: hex start-end, end exclusive, aligned outwards to
# 4 KiB, adjacent or overlapping ones merged, separated by spaces.
iomem_ranges() {
	local line s e out="" ls="" le=""
	grep '^[0-9a-f]*-[0-9a-f]* : System RAM$' /proc/iomem > /tmp/iomem.ram
	while read -r line; do
		s=$((0x${line%%-*}))
		e=${line#*-}; e=$((0x${e%% *} + 1))
		s=$((s / 4096 * 4096)); e=$(((e + 4095) / 4096 * 4096))
		if [ -n "$le" ] && [ "$s" -le "$le" ]; then
			[ "$e" -gt "$le" ] && le=$e
		else
			[ -n "$le" ] && out="$out $(printf '0x%x-0x%x' "$ls" "$le")"
			ls=$s le=$e
		fi
	done < /tmp/iomem.ram
	[ -n "$le" ] && out="$out $(printf '0x%x-0x%x' "$ls" "$le")"
	echo "${out# }"
}

G4=$((1 << 32))
ram=$(iomem_ranges)
echo "allram: System RAM: $ram"
# The block below the hole that ends highest, and the block above it.
lower=""; upper=""
for r in $ram; do
	e=$((${r#*-}))
	if [ "$e" -le "$G4" ]; then lower=$r; elif [ -z "$upper" ]; then upper=$r; fi
done
echo "allram: lower block $lower, upper block $upper"
check allram_blocks_below_and_above_4g test -n "$lower" -a -n "$upper"

# 1. Default ranges.
common="min_age=1000000 quota_ms=0 quota_sz=0 quota_reset_interval_ms=200 \
	wmarks_high=1000 wmarks_mid=999 wmarks_low=0 wmarks_interval=1000000"
check allram_insmod_off insmod /damon_autotune.ko
check_eq allram_ranges_empty_when_off "$(param monitored_ranges)" ""
check_fails_with EACCES allram_ranges_read_only set_param monitored_ranges 0x1000-0x2000
rmmod damon_autotune

# 2. Cold page cache in DMA32 (below 4 GiB, node 0) and in node 1 (the
# upper block): the fill goes to node 0 (its Normal zone, then DMA32), the
# last 512 MiB to node 1. It is made before reclaim starts: a kdamond
# already running reclaims node 1's part as it is written (on the
# benchmark kernel, 2 GiB in the fill's 30 s, and node 1 read 0 KiB).
echo 3 > /proc/sys/vm/drop_caches
fill_kb=$(( $(node_kb MemFree 0) + 512 * 1024 ))
fill_page_cache /mnt/scratch/low "$fill_kb"
dma32_file() {
	echo $(( $(zone_pages 0 DMA32 nr_zone_inactive_file) + $(zone_pages 0 DMA32 nr_zone_active_file) ))
}
sleep 2
file0=$(dma32_file) n1_file0=$(node_kb FilePages 1)
echo "allram: filled $fill_kb KiB; DMA32 file pages $file0, free $(zone_pages 0 DMA32 nr_free_pages); node 1 file $n1_file0 KiB"
check_num allram_dma32_has_cold_cache "$file0" -ge 131072 "$(zone_pages 0 DMA32 nr_zone_inactive_file)"
check_num allram_upper_block_has_cold_cache "$n1_file0" -ge $((256 * 1024))
# Upper block only first: what 6.12's default (the biggest block) covers.
check allram_insmod_upper_block insmod /damon_autotune.ko enabled=Y $common \
	monitor_region_start=$((${upper%-*})) monitor_region_end=$((${upper#*-}))
check_eq allram_set_region_as_given "$(param monitored_ranges)" "$upper"
sleep 30
file1=$(dma32_file) n1_file1=$(node_kb FilePages 1)
echo "allram: after 30 s on the upper block only: DMA32 file pages $file1, node 1 file $n1_file1 KiB, reclaimed $(param bytes_reclaimed_regions) B"
# Reclaim works where it looks, and only there.
check_num allram_upper_only_reclaims_upper "$n1_file1" -le $((n1_file0 / 2)) "$n1_file0"
check_num allram_upper_only_leaves_dma32 "$file1" -ge $((file0 * 9 / 10)) "$file0"
# Now the default: every block.
set_param monitor_region_start 0; set_param monitor_region_end 0
check allram_commit_default set_param commit_inputs Y
check_eq allram_default_is_every_block "$(param monitored_ranges)" "$ram"
n=$(param monitored_ranges | wc -w)
check_num allram_default_has_two_blocks_or_more "$n" -ge 2
t0=$(uptime_s) trace=""
while :; do
	f=$(dma32_file); trace="$trace $f"
	[ "$f" -le $((file0 / 4)) ] && break
	[ $(( $(uptime_s) - t0 )) -ge 120 ] && break
	sleep 5
done
echo "allram: DMA32 file pages every 5 s with every block monitored:$trace (in $(( $(uptime_s) - t0 )) s)"
check_num allram_default_reclaims_dma32 "$f" -le $((file0 / 4)) "$file0"
set_param enabled N
rmmod damon_autotune
rm -f /mnt/scratch/low

# 3. A free-memory goal on node 1. Fill past node 0's free memory so that
# both nodes hold cold page cache.
echo 3 > /proc/sys/vm/drop_caches
fill_kb=$(( $(node_kb MemFree 0) + $(node_kb MemFree 1) * 6 / 10 ))
fill_page_cache /mnt/scratch/both "$fill_kb"
sleep 5
n0_free0=$(node_free_bp 0) n1_free0=$(node_free_bp 1)
n0_file0=$(node_kb FilePages 0) n1_file0=$(node_kb FilePages 1)
echo "allram: filled $fill_kb KiB; node 0 free $n0_free0 bp, file $n0_file0 KiB; node 1 free $n1_free0 bp, file $n1_file0 KiB"
check_num allram_node1_has_cold_cache "$n1_file0" -ge $((512 * 1024))
check_num allram_node0_has_cold_cache "$n0_file0" -ge $((512 * 1024))
goal=$((n1_free0 + 2500))
[ "$goal" -gt 9000 ] && goal=9000
set -- $(node_range 1)
node1=$(printf '0x%x-0x%x' "$1" "$2")
check allram_insmod_node1_goal insmod /damon_autotune.ko enabled=Y $common \
	quota_goal_nid=1 quota_mem_free_goal_bp=$goal
check_eq allram_goal_monitors_node1_only "$(param monitored_ranges)" "$node1"
# Node 0 and 1's free memory every 2 s until node 1 is within 100 bp of
# the goal (180 s at most), then for 10 s more.
t0=$(uptime_s) trace="" reached=""
while :; do
	a=$(node_free_bp 0) b=$(node_free_bp 1) t=$(( $(uptime_s) - t0 ))
	trace="$trace ${t}s:$a/$b/$(( $(param effective_quota_sz) >> 20 ))M"
	[ -z "$reached" ] && [ "$b" -ge $((goal - 100)) ] && reached=$b t1=$t
	[ -n "$reached" ] && [ $((t - t1)) -ge 10 ] && break
	[ "$t" -ge 180 ] && break
	sleep 2
done
n0_free1=$(node_free_bp 0) n1_free1=$(node_free_bp 1)
n0_file1=$(node_kb FilePages 0) n1_file1=$(node_kb FilePages 1)
echo "allram: node 0/1 free bp and the effective quota every 2 s (goal $goal on node 1):$trace"
echo "allram: then node 0 free $n0_free1 bp, file $n0_file1 KiB; node 1 free $n1_free1 bp, file $n1_file1 KiB; reclaimed $(param bytes_reclaimed_regions) B"
echo "allram: goal loop: tried $(param bytes_reclaim_tried_regions) B, effective quota $(param effective_quota_sz) B, wanted $(param wanted_quota_sz) B, score $(param goal_score_bp) bp, $(param nr_quota_exceeds) quota exceeds, $(param nr_quota_saturated) saturated"
check_num allram_node1_reaches_goal "${reached:-0}" -ge $((goal - 100)) "$goal"
check_num allram_node1_goal_held "$n1_free1" -ge $((goal - 500)) "$goal"
d=$((n0_free1 - n0_free0)); [ "$d" -lt 0 ] && d=$((-d))
check_num allram_node0_free_unchanged "$d" -le 200 "$n0_free0" "$n0_free1"
check_num allram_node0_cache_kept "$n0_file1" -ge $((n0_file0 * 95 / 100)) "$n0_file0"

# 4. Goal on node 1, region on node 0 only: refused, nothing changes.
pid=$(param kdamond_pid)
set_param monitor_region_start $((${lower%-*}))
set_param monitor_region_end $((${lower#*-}))
dmesg -c > /dev/null
check_fails_with EINVAL allram_commit_goal_outside_region set_param commit_inputs Y
check allram_refusal_says_why sh -c 'dmesg | grep -q "quota_goal_nid 1 has no memory in the monitored region"'
check_eq allram_refused_commit_keeps_ranges "$(param monitored_ranges)" "$node1"
check_eq allram_refused_commit_keeps_kdamond "$(param kdamond_pid)" "$pid"
set_param enabled N
check_fails_with EINVAL allram_enable_goal_outside_region set_param enabled Y
check_eq allram_refused_enable_stays_off "$(param enabled)" N
rmmod damon_autotune
rm -f /mnt/scratch/both
umount /mnt/scratch
