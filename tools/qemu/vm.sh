#!/usr/bin/env bash
# Boots the test kernel in QEMU (TCG) with a busybox initramfs that holds
# the module and the guest scripts, runs one guest script, and powers off.
#
#   tools/qemu/vm.sh [options] GUEST_SCRIPT [ARGS...]
#
#   --kernel FILE    bzImage (default: $KDIR/arch/x86/boot/bzImage)
#   --module FILE    module to ship as /damon_autotune.ko (default: ./damon_autotune.ko)
#   --mem SIZE       guest memory (default 1G; split evenly over NUMA nodes)
#   --numa N         N NUMA nodes: node 0 has the CPUs, the others are CPU-less
#   --swap SIZE      a raw swap disk on virtio (/dev/vda in the guest)
#   --disk SIZE      a scratch disk on virtio (next /dev/vdX), formatted ext4
#   --append ARGS    extra kernel command-line arguments
#   --timeout SEC    hard limit, then QEMU is killed (default 600)
#   --log FILE       console log (default out/console.log)
#
# One VM runs at a time on this machine: TCG on 2 cores makes two VMs
# starve each other's workloads, so vm.sh waits for the machine's lock, in
# arrival order (tools/qemu/lock.sh; kernel builds take it too:
# tools/qemu/lock.sh tools/kernel/prepare.sh ...).
#
# GUEST_SCRIPT runs as /test/<name> with ARGS; tests/guest/ is at /test.
# The exit status is QEMU's (124 on a timeout), or non-zero when the VM
# could not be set up, and then there is no log (it is removed first); the
# console log is the result: read it with tools/qemu/check-console.py.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)

kernel= module=$top/damon_autotune.ko mem=1G numa=1 swap= disk= append= timeout=600 log=$top/out/console.log
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=$2; shift 2 ;;
	--module) module=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--numa) numa=$2; shift 2 ;;
	--swap) swap=$2; shift 2 ;;
	--disk) disk=$2; shift 2 ;;
	--append) append="$append $2"; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	--) shift; break ;;
	-*) echo "vm.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || { sed -n '2,28p' "$0" >&2; exit 2; }
script=$1; shift
# No previous run's log survives a failure to boot this one.
rm -f "$log"
kernel=${kernel:-${KDIR:-$("$top/tools/kernel/prepare.sh" --dir test)}/arch/x86/boot/bzImage}
[ -f "$kernel" ] || { echo "vm.sh: no kernel at $kernel" >&2; exit 1; }

mkdir -p "$(dirname "$log")"
work=$(mktemp -d "${TMPDIR:-/tmp}/damon_autotune-vm.XXXXXX")
trap 'rm -rf "$work"' EXIT

# initramfs: busybox, /init, the module, the guest scripts, samples/ and
# any static helper programs in out/guest-bin/.
root=$work/root
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,mnt,test}
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
cp "$top/tools/qemu/guest-init" "$root/init"
cp -r "$top/tests/guest/." "$root/test/"
[ -d "$top/samples" ] && cp -r "$top/samples" "$root/samples"
[ -f "$module" ] && cp "$module" "$root/damon_autotune.ko"
[ -d "$top/out/guest-bin" ] && cp "$top/out/guest-bin/"* "$root/bin/" 2>/dev/null || true
printf '%s\n' "$script" "$@" > "$root/test/.command"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initramfs.gz"

args=(-machine q35 -cpu max -smp 2 -m "$mem" -nographic -no-reboot
	-kernel "$kernel" -initrd "$work/initramfs.gz")
if [ "$numa" -gt 1 ]; then
	mem_mb=$(numfmt --from=iec "$mem"); mem_mb=$((mem_mb / 1048576))
	per=$((mem_mb / numa))
	args=(-machine q35 -cpu max -smp 2 -m "$((per * numa))M" -nographic -no-reboot
		-kernel "$kernel" -initrd "$work/initramfs.gz")
	for ((n = 0; n < numa; n++)); do
		args+=(-object "memory-backend-ram,id=m$n,size=${per}M")
		if [ $n = 0 ]; then
			args+=(-numa "node,nodeid=0,cpus=0-1,memdev=m0")
		else
			args+=(-numa "node,nodeid=$n,memdev=m$n")
		fi
	done
fi
if [ -n "$swap" ]; then
	truncate -s "$swap" "$work/swap.img"
	args+=(-drive "file=$work/swap.img,if=virtio,format=raw")
fi
if [ -n "$disk" ]; then
	truncate -s "$disk" "$work/disk.img"
	mkfs.ext4 -q -F "$work/disk.img"
	args+=(-drive "file=$work/disk.img,if=virtio,format=raw")
fi
cmdline="console=ttyS0 loglevel=8 panic=-1 oops=panic kunit.stats_enabled=2$append"

. "$top/tools/qemu/lock.sh"
vm_lock 8
echo "vm.sh: booting $(basename "$kernel") (mem $mem, numa $numa${swap:+, swap $swap}${disk:+, disk $disk}): $script $*" >&2
set +e
timeout --foreground -k 10 "$timeout" qemu-system-x86_64 "${args[@]}" -append "$cmdline" </dev/null >"$log" 2>&1
rc=$?
set -e
[ $rc = 124 ] && echo "vm.sh: TIMEOUT after ${timeout}s" | tee -a "$log" >&2
exit $rc
