#!/usr/bin/env bash
# Builds and installs damon_autotune with DKMS (dkms.conf) against the
# project's test kernel build, in trees under out/dkms/ (nothing outside
# the repository is touched), checks the installed module, and removes it.
#
#   tools/dkms-test.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tools/versions.sh
export RUSTUP_TOOLCHAIN=$RUST_VERSION
# DKMS sees that the kernel was built with clang and passes CC=clang
# LD=ld.lld: the unversioned names must be LLVM $LLVM_SUFFIX's.
export PATH=/usr/lib/llvm$LLVM_SUFFIX/bin:$PATH
kdir=${KDIR:-$(tools/kernel/prepare.sh --dir test)}
kver=$(cat "$kdir/include/config/kernel.release")
name=damon_autotune
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
w=$top/out/dkms
rm -rf "$w"
mkdir -p "$w/tree" "$w/src/$name-$ver" "$w/root/lib/modules/$kver"
# The sources (tracked, or new and not ignored), as a release tarball
# would have them.
git ls-files -z --cached --others --exclude-standard | tar --null -cf - -T - | tar -xf - -C "$w/src/$name-$ver"
trees=(--dkmstree "$w/tree" --sourcetree "$w/src" --installtree "$w/root/lib/modules")
dkms add -m "$name" -v "$ver" "${trees[@]}"
dkms build -m "$name" -v "$ver" -k "$kver" --kernelsourcedir "$kdir" "${trees[@]}"
# dkms runs depmod on /lib/modules/$kver, which is not ours: depmod runs
# here instead, on the install tree, and checks that every symbol the
# module needs is exported by that kernel (Module.symvers).
dkms install -m "$name" -v "$ver" -k "$kver" --kernelsourcedir "$kdir" "${trees[@]}" --force --no-depmod
ko=$(find "$w/root/lib/modules/$kver" -name "$name.ko*" | head -n 1)
[ -n "$ko" ] || { echo "dkms-test: no $name.ko installed under $w/root/lib/modules/$kver" >&2; exit 1; }
for f in modules.order modules.builtin modules.builtin.modinfo; do
	cp "$kdir/$f" "$w/root/lib/modules/$kver/" 2>/dev/null || : > "$w/root/lib/modules/$kver/$f"
done
depmod -b "$w/root" -e -E "$kdir/Module.symvers" "$kver" 2>&1 | tee "$w/depmod.log"
[ ! -s "$w/depmod.log" ] || { echo "dkms-test: depmod reports problems" >&2; exit 1; }
grep -q "$name.ko" "$w/root/lib/modules/$kver/modules.dep" || { echo "dkms-test: $name not in modules.dep" >&2; exit 1; }
modinfo -F vermagic "$ko" | grep -q "^$kver " || { echo "dkms-test: $ko is not built for $kver" >&2; exit 1; }
dkms status -m "$name" "${trees[@]}"
dkms remove -m "$name" -v "$ver" --all "${trees[@]}" --no-depmod
echo "dkms-test: built, installed ($ko) and removed for $kver"
