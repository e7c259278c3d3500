#!/usr/bin/env bash
# Checks that the kernel patch exports exactly what the module needs: every
# symbol in kernel/exports.txt is imported by damon_autotune.ko (modpost
# already refuses a module that imports a symbol nobody exports), and the
# committed patch is what tools/kernel/make-patch.py writes from that list.
#
#   tools/kernel/check-exports.sh MODULE.ko KERNEL_SOURCE_TREE
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
ko=$1 src=$2
status=0
used=$(llvm-nm-19 -u "$ko" | awk '{print $2}' | sort -u)
while read -r file sym _; do
	if ! grep -qx "$sym" <<<"$used"; then
		echo "check-exports: $sym ($file) is exported by the patch but not used by the module" >&2
		status=1
	fi
done < <(grep -Ev '^#|^$' "$top/kernel/exports.txt")
# The pristine file is what the patch reverses to.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
patchfile=$(ls "$top"/kernel/0001-*.patch)
for f in $(awk '!/^#/ && NF {print $1; if (NF >= 3) print $3}' "$top/kernel/exports.txt" | sort -u); do
	mkdir -p "$tmp/$(dirname "$f")"
	cp "$src/$f" "$tmp/$f"
done
patch -s -R -p1 -d "$tmp" < "$patchfile"
if ! python3 "$top/tools/kernel/make-patch.py" "$tmp" | cmp -s - "$patchfile"; then
	echo "check-exports: $patchfile is not what make-patch.py writes from kernel/exports.txt" >&2
	status=1
fi
exit $status
