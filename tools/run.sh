#!/usr/bin/env bash
# The demo (`make run`): self-tuning at work, in about 3 minutes of VM.
#
#   tools/run.sh [autotune|reclaim] [SECONDS]
#
# Builds the benchmark kernel if it is not cached (tools/kernel/prepare.sh
# bench: no debug options, DAMON_RECLAIM built in and fixed) and the module
# against it (in out/demo-module-src-KERNEL), boots a VM with two NUMA
# nodes of 512 MiB and a 1 GiB swap disk, and runs tests/guest/demo.sh there: a masim workload with a hot
# set, warm sets used in turn and a cold set, under damon_autotune (reclaim
# to a free-memory goal with min_age tuning, fail-charge and tiering) or,
# with "reclaim" (`make run DEMO=reclaim`), under DAMON_RECLAIM. While the
# VM runs, tools/demo.py prints the guest's table, one row a second; at the
# end, a summary and a plot. The console is out/demo-MODE.log, the plot
# out/demo-MODE.png (skipped, with a message, without matplotlib).
#
# Why the benchmark kernel: the test kernel's DAMON_RECLAIM lacks the fix
# of kernel/bench/ (it never reclaims: DEMO=reclaim would show nothing),
# and KASAN and the other debug options slow the workload and the
# migrations down. KERNEL=test runs it there all the same.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tools/versions.sh
export RUSTUP_TOOLCHAIN=$RUST_VERSION
mode=${1:-autotune} secs=${2:-120}
case $mode in autotune | reclaim) ;; *) echo "run: unknown demo '$mode' (autotune, reclaim)" >&2; exit 2 ;; esac
kernel=${KERNEL:-bench}
mkdir -p out

kdir=$(tools/kernel/prepare.sh --dir "$kernel")
[ -f "$kdir/arch/x86/boot/bzImage" ] ||
	echo "run: building the $kernel kernel, once (about 13 minutes on 2 cores; log in out/demo-kernel.log)"
tools/kernel/prepare.sh "$kernel" >out/demo-kernel.log 2>&1 || { tail -n 30 out/demo-kernel.log; exit 1; }
# The module, built from a copy of the sources against that kernel (the
# tree's own damon_autotune.ko stays the test kernel's).
src=out/demo-module-src-$kernel
rsync -a --delete --exclude out --exclude .git --exclude rust/host/target ./ "$src/"
make -s -C "$src" KDIR="$kdir" modules >out/demo-build.log 2>&1 || { tail -n 30 out/demo-build.log; exit 1; }
mkdir -p out/guest-bin
gcc -static -O2 -o out/guest-bin/masim tools/workload/masim.c

# Debian's python3 first: python3-matplotlib installs there.
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
# The benchmark kernel's run is out/demo-MODE.*, another's out/demo-MODE-KERNEL.*.
tag=$mode
[ "$kernel" = bench ] || tag=$mode-$kernel
log=out/demo-$tag.log png=out/demo-$tag.png
rm -f "$log" "$png"
echo "run: $mode demo on the $kernel kernel, $secs s of workload; console in $log"
# In a session of its own, so that an interrupt (^C stops the pipe below)
# stops QEMU too instead of leaving it to run, holding the VM lock.
setsid tools/qemu/vm.sh --kernel "$kdir/arch/x86/boot/bzImage" --module "$src/damon_autotune.ko" \
	--numa 2 --mem 1024M --swap 1G --append "kunit.enable=0" --log "$log" --timeout $((secs + 300)) \
	demo.sh "$mode" "$secs" &
vm=$!
trap 'kill -- -$vm 2>/dev/null; exit 130' INT TERM
# The console as it grows, until vm.sh exits (tail -F waits for the log,
# which vm.sh creates once it has the VM lock).
tail -F -n +1 --pid=$vm "$log" 2>/dev/null | "$py" -u tools/demo.py --plot "$png" || true
rc=0
wait $vm || rc=$?
[ $rc = 0 ] || { echo "run: vm.sh exited with $rc (see $log)" >&2; exit $rc; }
tools/qemu/check-console.py "$log"
