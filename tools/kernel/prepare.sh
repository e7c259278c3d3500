#!/usr/bin/env bash
# Prepares and builds the kernel damon_autotune is tested on.
#
#   tools/kernel/prepare.sh [--dir] VARIANT
#
# VARIANT is "test" (.config.fragment + tools/kernel/debug.fragment: KASAN,
# kmemleak, lockdep, ...) or "bench" (.config.fragment without DAMON's own
# KUnit tests: CONFIG_DAMON_KUNIT_TEST makes mm/damon/core.c's
# DAMON_MIN_REGION 1 byte instead of a page, so regions, quota cuts and
# statistics stop being page multiples, and the benchmark must see the core
# as a production kernel has it).  With --dir, prints the build directory
# and does nothing else.
#
# KASAN is inline in the test kernel, not outline: under TCG an outline
# check is a call and a return, and a return is an indirect jump QEMU has
# to look up.  The main VM of `make test` took 9 min 55 s with outline and
# 4 min 22 s with inline (same module, the same 762 checks passed).
#
# Source: $KERNEL_TARBALL (Debian's linux-source-6.12), or the tree in $KSRC.
# The tree is unpacked, patched with kernel/0001-*.patch (and, for "bench",
# kernel/bench/*.patch: DAMON_RECLAIM's fix for its baseline), configured from
# tinyconfig + fragments (every fragment line is asserted after olddefconfig)
# and built out of tree with LLVM.  Everything lives in a cache directory
# outside the repository, keyed by a hash of what decides the result: kernel
# source, fragments, rustc, clang and bindgen versions.  The patches are
# tracked inside the entry: when they change, the old series is reverted,
# the new one applied and the build is incremental.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tools/versions.sh"
export RUSTUP_TOOLCHAIN=$RUST_VERSION

print_dir=0
if [ "${1:-}" = --dir ]; then print_dir=1; shift; fi
variant=${1:-test}
patches=("$top"/kernel/0001-*.patch)
fragtmp=$(mktemp -d)
trap 'rm -rf "$fragtmp"' EXIT
case $variant in
test) fragments=("$top/.config.fragment" "$top/tools/kernel/debug.fragment") ;;
bench)
	grep -v '^CONFIG_DAMON_[A-Z_]*KUNIT_TEST=' "$top/.config.fragment" > "$fragtmp/bench.fragment"
	fragments=("$fragtmp/bench.fragment")
	patches+=("$top"/kernel/bench/*.patch) ;;
*) echo "prepare: unknown variant '$variant' (test, bench)" >&2; exit 2 ;;
esac
cache=${DAMON_AUTOTUNE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/damon_autotune}

# What decides the build, except the patches (tracked inside the entry).
if [ -n "${KSRC:-}" ]; then
	source_id="tree:$(cd "$KSRC" && pwd):$(make -s -C "$KSRC" kernelversion 2>/dev/null)"
else
	source_id="deb:$KERNEL_DEB_VERSION:$(stat -c %s "$KERNEL_TARBALL" 2>/dev/null || echo missing)"
fi
key=$( {
	echo "epoch 1"
	echo "$source_id"
	cat "${fragments[@]}"
	rustc -vV 2>/dev/null || echo "no rustc"
	clang$LLVM_SUFFIX --version 2>/dev/null | head -n 1 || echo "no clang"
	bindgen --version 2>/dev/null || echo "no bindgen"
} | sha256sum | cut -c1-16)
entry=$cache/kernel-$variant-$key
build=$entry/build
if [ $print_dir = 1 ]; then echo "$build"; exit 0; fi

# The series as one file: the patches touch different files, so it applies
# and reverts as a whole.
series=$fragtmp/series
cat "${patches[@]}" > "$series"
patch_sum=$(sha256sum "$series" | cut -c1-16)
if [ -f "$entry/built" ] && [ "$(cat "$entry/built")" = "$patch_sum" ]; then
	echo "prepare: kernel '$variant' is up to date in $build"
	exit 0
fi

mkdir -p "$entry"
exec 9>"$entry/lock"
flock 9

# 1. Source tree.
if [ -n "${KSRC:-}" ]; then
	src=$(cd "$KSRC" && pwd)
else
	src=$entry/src
	if [ ! -f "$src/Makefile" ]; then
		[ -f "$KERNEL_TARBALL" ] || { echo "prepare: $KERNEL_TARBALL missing: run tools/setup.sh" >&2; exit 1; }
		echo "prepare: unpacking $KERNEL_TARBALL"
		rm -rf "$src" "$entry/src.tmp"
		mkdir -p "$entry/src.tmp"
		tar xf "$KERNEL_TARBALL" -C "$entry/src.tmp" --strip-components=1
		mv "$entry/src.tmp" "$src"
		rm -f "$entry/patch.applied"
	fi
fi

# 2. The patches: revert the previously applied series if it changed, apply ours.
if ! cmp -s "$series" "$entry/patch.applied" 2>/dev/null; then
	if [ -f "$entry/patch.applied" ]; then
		echo "prepare: the kernel patches changed: reverting the old ones"
		patch -s -R -p1 -d "$src" < "$entry/patch.applied"
		rm -f "$entry/patch.applied"
	fi
	if patch -s -R -p1 --dry-run -d "$src" < "$series" >/dev/null 2>&1; then
		echo "prepare: $src already carries the patches"
	else
		echo "prepare: applying $(for p in "${patches[@]}"; do basename "$p"; done | tr '\n' ' ')"
		patch -s -p1 -d "$src" < "$series"
	fi
	cp "$series" "$entry/patch.applied"
fi

# 3. Configuration: tinyconfig + fragments, then assert every fragment line.
kmake() { make -s -C "$src" O="$build" LLVM=$LLVM_SUFFIX "$@"; }
if [ ! -f "$build/.config" ] || [ ! -f "$entry/configured" ]; then
	mkdir -p "$build"
	kmake rustavailable >/dev/null || { kmake rustavailable; echo "prepare: Rust is not available to the kernel build" >&2; exit 1; }
	kmake tinyconfig >/dev/null
	cat "${fragments[@]}" >> "$build/.config"
	kmake olddefconfig >"$entry/olddefconfig.log" 2>&1
	bad=0
	while read -r line; do
		case $line in
		CONFIG_*=*)
			grep -qx "$line" "$build/.config" || { echo "prepare: '$line' did not survive olddefconfig (have: $(grep "^${line%%=*}=\|# ${line%%=*} is" "$build/.config" || echo unset))" >&2; bad=1; } ;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }; opt=${opt%% *}
			grep -q "^$opt=" "$build/.config" && { echo "prepare: '$opt' is still set" >&2; bad=1; } ;;
		esac
	done < <(cat "${fragments[@]}")
	[ $bad = 0 ] || { echo "prepare: configuration check failed (see above); $build/.config kept" >&2; exit 1; }
	touch "$entry/configured"
fi

# 4. Build: vmlinux, bzImage, and Module.symvers (written by modpost, needed
# by the out-of-tree module).
echo "prepare: building kernel '$variant' in $build (a full build takes 15-20 minutes on 2 cores)"
start=$(date +%s)
kmake -j"$(nproc)" all
echo "prepare: kernel built in $(( $(date +%s) - start )) s"
echo "$patch_sum" > "$entry/built"

# Keep the two most recently built entries of this variant; older ones are
# from inputs that changed since.
{ ls -dt "$cache"/kernel-"$variant"-* 2>/dev/null | grep -vx "$entry" || true; } | tail -n +2 | while read -r old; do
	echo "prepare: removing old cache entry $old"
	rm -rf "$old"
done
