# Proactive reclaim into a real swap device (virtio disk): the cold part
# of a workload is paged out, the hot part is not, the size quota caps
# the rate, enabled=N stops it.
itest_plan 13

[ -b /dev/vda ] || { fail reclaim_needs_swap_disk "no /dev/vda"; return; }
mkswap /dev/vda >/dev/null && swapon /dev/vda
check swap_on grep -q vda /proc/swaps

vmstat() { awk -v k="$1" '$1 == k {print $2}' /proc/vmstat; }
swap_used_kb() { awk '/^SwapTotal/ {t = $2} /^SwapFree/ {f = $2} END {print t - f}' /proc/meminfo; }

# 64 MiB written once and never again, 16 MiB touched all the time.
printf 'cold, 64M\nhot, 16M\n\nrun\n600000\nhot, 1, 4096, 1\n' > /tmp/reclaim.cfg
check masim_ready start_masim /tmp/reclaim.cfg
sleep 3    # the cold part ages

rmmod damon_autotune 2>/dev/null
# Always active (free memory is below 999 per thousand), short min_age,
# no time quota, 8 MiB per 1 s reset interval. The core charges the quota
# with what it tried (paged out or not: most of the VM is free memory,
# which DAMON on the physical address space tries too), so that is what
# the quota caps.
check insmod_reclaim insmod /damon_autotune.ko enabled=Y min_age=2000000 \
	wmarks_high=1000 wmarks_mid=999 wmarks_low=0 wmarks_interval=1000000 \
	quota_ms=0 quota_sz=8388608 quota_reset_interval_ms=1000
# Reclaim starts once regions are min_age old (in aggregation intervals,
# which TCG stretches).
started=0
for i in $(seq 60); do
	[ "$(param bytes_reclaim_tried_regions)" -gt 0 ] && { started=$i; break; }
	sleep 1
done
check quota_reclaim_starts [ "$started" -gt 0 ]
t0=$(param bytes_reclaim_tried_regions)
o0=$(vmstat pswpout)
sleep 10
t1=$(param bytes_reclaim_tried_regions)
o1=$(vmstat pswpout)
echo "reclaim: started after ${started} s; quota 8 MiB/s: tried $(( (t1 - t0) >> 10 )) KiB in 10 s, paged out $(( (o1 - o0) * 4 )) KiB, effective_quota_sz $(param effective_quota_sz)"
# There is far more to try than the quota allows: the quota is what
# limits (half of it at least), and it is not exceeded (one interval of
# slack for the sampling). What is tried may all be free memory (then
# nothing is paged out: fail-charge is the answer, see 50-failcharge.sh).
check_num quota_is_used $((t1 - t0)) -ge $((5 * 8388608)) "$t0" "$t1"
check_num quota_caps_rate $((t1 - t0)) -le $((11 * 8388608)) "$t0" "$t1"

# Lift the quota: the cold part goes (half of it at least).
set_param quota_sz 0
check commit_unlimited set_param commit_inputs Y
out0=$(vmstat pswpout)
in0=$(vmstat pswpin)
k0=$(vmstat pgsteal_kswapd) d0=$(vmstat pgsteal_direct)
steal0=$((k0 + d0))
b0=$(param bytes_reclaimed_regions)
wait_until 90 sh -c "[ \$(awk '/^SwapTotal/ {t = \$2} /^SwapFree/ {f = \$2} END {print t - f}' /proc/meminfo) -gt 32768 ]"
sleep 3
used=$(swap_used_kb)
out1=$(vmstat pswpout)
in1=$(vmstat pswpin)
k1=$(vmstat pgsteal_kswapd) d1=$(vmstat pgsteal_direct)
steal1=$((k1 + d1))
b1=$(param bytes_reclaimed_regions)
echo "reclaim: swap used ${used} KiB, pswpout +$((out1 - out0)), pswpin +$((in1 - in0)), kswapd+direct steal +$((steal1 - steal0)), bytes_reclaimed_regions +$(( (b1 - b0) >> 10 )) KiB"
check cold_part_swapped_out [ "$used" -gt 32768 ]
# DAMON did it, not the kernel's reclaim (DAMON counts a page when it is
# freed, which for anon pages is often a later pass, after writeback).
check_num damon_not_kswapd_reclaimed $(( (steal1 - steal0) * 10 )) -lt $((out1 - out0)) \
	"$k0" "$d0" "$k1" "$d1" "$out0" "$out1"
check_num stats_count_reclaim "$b1" -gt "$b0"
# The hot part stays: what comes back is a small part of what went out.
check_num hot_part_not_refaulted $(( (in1 - in0) * 10 )) -lt $((out1 - out0 + 2560)) \
	"$in0" "$in1" "$out0" "$out1"

# enabled=N: nothing more is reclaimed.
check disable_reclaim set_param enabled N
sleep 1
out2=$(vmstat pswpout)
sleep 5
out3=$(vmstat pswpout)
echo "reclaim: after enabled=N, pswpout +$((out3 - out2)) in 5 s"
check_num nothing_reclaimed_when_disabled $((out3 - out2)) -lt 256 "$out2" "$out3"

stop_masim
rmmod damon_autotune
swapoff /dev/vda
