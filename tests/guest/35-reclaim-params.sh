# Effects of DAMON_RECLAIM's parameters beyond the quota (30-reclaim.sh):
# - skip_anon=Y: cold page cache is reclaimed, the workload's cold
#   anonymous memory is not (its VmSwap stays below 1 MiB); with
#   skip_anon=N the same anonymous memory goes to swap (the control: it
#   could have). Not pswpout: DAMON's anon filter is folio_test_anon(),
#   which shmem (this VM's tmpfs /tmp and rootfs) is not, so shmem pages
#   are swapped out with skip_anon=Y too (1208 pages in 20 s in one run,
#   DAMON_RECLAIM's filter is the same);
# - monitor_region_start/end: DAMON tries only that range. A region is
#   tried at most once per min_age (its age restarts at 0 when the scheme
#   is applied), so 10 s with a 16 MiB range and min_age 1 s try at most
#   16 MiB x 11 (x 3 for the ages that merging regions averages), far
#   less than the whole memory does in the same time (the control).
# Always active (free memory is below 999 per thousand), no quota.
itest_plan 13

[ -b /dev/vda ] && [ -b /dev/vdb ] || { fail reclaim_params_need_disks "no /dev/vda or /dev/vdb"; return; }
rp_swapon=
grep -q vda /proc/swaps || { mkswap /dev/vda >/dev/null && swapon /dev/vda && rp_swapon=1; }
check rp_swap_on grep -q vda /proc/swaps
mkdir -p /mnt/scratch
check rp_scratch_mounted mount -t ext4 /dev/vdb /mnt/scratch

vmstat() { awk -v k="$1" '$1 == k {print $2}' /proc/vmstat; }
masim_swap_kb() { awk '/^VmSwap:/ {print $2}' "/proc/$masim_pid/status"; }
ALWAYS="wmarks_high=1000 wmarks_mid=999 wmarks_low=0 wmarks_interval=1000000 quota_ms=0 quota_sz=0"
SEC=1000000

# 48 MiB written once and never again, 8 MiB touched all the time, and
# 64 MiB of clean page cache.
rmmod damon_autotune 2>/dev/null
printf 'cold, 48M\nhot, 8M\n\nrun\n600000\nhot, 1, 4096, 1\n' > /tmp/rp.cfg
check rp_masim_ready start_masim /tmp/rp.cfg
fill_page_cache /mnt/scratch/rp 65536
sleep 2

# skip_anon=Y for 20 s.
f0=$(node_kb FilePages) o0=$(vmstat pswpout) s0=$(masim_swap_kb)
check rp_insmod_skip_anon insmod /damon_autotune.ko enabled=Y min_age=$SEC skip_anon=Y $ALWAYS
sleep 20
f1=$(node_kb FilePages) o1=$(vmstat pswpout) s1=$(masim_swap_kb)
echo "reclaim_params: skip_anon=Y, 20 s: file pages $f0 -> $f1 KiB, pswpout +$((o1 - o0)) (shmem included), masim VmSwap $s0 -> $s1 KiB, DAMON reclaimed $(param bytes_reclaimed_regions) B"
rmmod damon_autotune
check_num skip_anon_reclaims_file $((f0 - f1)) -ge 16384 "$f0" "$f1"
check_num skip_anon_leaves_anon $((s1 - s0)) -lt 1024 "$s0" "$s1"

# skip_anon=N for 30 s, the control: the cold anonymous memory goes to
# swap (pageout of anonymous memory runs at about 0.3 MiB/s here: 1393
# pages in 20 s in one run).
o0=$(vmstat pswpout) s0=$(masim_swap_kb)
check rp_insmod_anon insmod /damon_autotune.ko enabled=Y min_age=$SEC skip_anon=N $ALWAYS
sleep 30
o1=$(vmstat pswpout) s1=$(masim_swap_kb)
rmmod damon_autotune
echo "reclaim_params: skip_anon=N, 30 s: pswpout +$((o1 - o0)), masim VmSwap $s0 -> $s1 KiB"
check_num anon_reclaimed_without_skip_anon $((s1 - s0)) -ge 2048 "$s0" "$s1"

# tried_in_10s [INSMOD OPTIONS...]: bytes DAMON tried in 10 s, 3 s after
# loading (skip_anon=Y: nothing to page out is left, so tries are cheap).
tried_in_10s() {
	local t0 t1
	insmod /damon_autotune.ko enabled=Y min_age=$SEC skip_anon=Y $ALWAYS "$@" || return 1
	sleep 3
	t0=$(param bytes_reclaim_tried_regions)
	sleep 10
	t1=$(param bytes_reclaim_tried_regions)
	rmmod damon_autotune
	is_int "$t0" "$t1" && echo $((t1 - t0))
}
start=$((256 << 20)) size=$((16 << 20))
bound=$((3 * size * 11))
tried=$(tried_in_10s monitor_region_start=$start monitor_region_end=$((start + size)))
check rp_insmod_region [ -n "$tried" ]
whole=$(tried_in_10s)
check rp_insmod_whole [ -n "$whole" ]
echo "reclaim_params: tried in 10 s: $((${tried:-0} >> 20)) MiB in [256, 272) MiB (bound $((bound >> 20)) MiB), $((${whole:-0} >> 20)) MiB in the whole memory"
check_num region_tries_something "$tried" -gt 0
check_num region_limits_tries "$tried" -le $bound
check_num whole_memory_tries_more "$whole" -gt $bound

stop_masim
rm -f /mnt/scratch/rp
umount /mnt/scratch
# Leave the VM as it was found (30-reclaim.sh does the same): swap off,
# which brings back what this file pushed out (this VM's shmem among it).
[ -n "$rp_swapon" ] && swapoff /dev/vda
