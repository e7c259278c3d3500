#!/usr/bin/env bash
# The demo (`make run`): builds the module, boots the test kernel in QEMU,
# loads damon_autotune with its defaults, enables it and shows the kdamond
# working, then unloads it. The full console is in out/demo-console.log.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tools/versions.sh
export RUSTUP_TOOLCHAIN=$RUST_VERSION
export KDIR=${KDIR:-$(tools/kernel/prepare.sh --dir test)}
mkdir -p out
make -s modules >out/build.log 2>&1 || { tail -n 30 out/build.log; exit 1; }
mkdir -p out/guest-bin
gcc -static -O2 -o out/guest-bin/masim tools/workload/masim.c
tools/qemu/vm.sh --log out/demo-console.log --timeout 600 --swap 256M demo.sh
sed -n 's/^\[[ 0-9.]*\] //; s/\r$//; /^demo: /p; /damon_autotune/p' out/demo-console.log
tools/qemu/check-console.py out/demo-console.log
