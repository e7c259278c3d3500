#!/usr/bin/env bash
# Builds damon_autotune into the kernel (CONFIG_DAMON_AUTOTUNE=y).
#
#   tools/kernel/builtin.sh [--dir]
#
# The built-in kernel is derived from the test kernel (tools/kernel/
# prepare.sh test), so that it costs an incremental build, not a second
# full one:
#   1. the test kernel's source tree gets the in-tree glue, idempotently: a
#      `config DAMON_AUTOTUNE` entry in mm/damon/Kconfig, a line in
#      mm/damon/Makefile, and mm/damon/autotune/, a copy of the module's
#      sources (Kbuild, damon_autotune.rs, module/, rust/), refreshed on
#      every run; the module's source is not changed. With the option off
#      (the test kernel), nothing of it is built;
#   2. the test kernel's build directory is copied once into its own cache
#      entry, the option is turned on there, and `make` rebuilds what it
#      touches: the module's objects and the link.
# With --dir, prints the build directory and does nothing else.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tools/versions.sh"
export RUSTUP_TOOLCHAIN=$RUST_VERSION

test_build=$("$top/tools/kernel/prepare.sh" --dir test)
entry=$(dirname "$test_build")/../$(basename "$(dirname "$test_build")" | sed 's/^kernel-test-/kernel-builtin-/')
entry=$(cd "$(dirname "$entry")" && pwd)/$(basename "$entry")
build=$entry/build
if [ "${1:-}" = --dir ]; then echo "$build"; exit 0; fi

"$top/tools/kernel/prepare.sh" test
src=$(readlink -f "$test_build/source")
mkdir -p "$entry"
exec 9>"$entry/lock"
flock 9

# 1. In-tree glue.
if ! grep -q '^config DAMON_AUTOTUNE$' "$src/mm/damon/Kconfig"; then
	# Before the Kconfig's last line ("endmenu").
	sed -i '$d' "$src/mm/damon/Kconfig"
	cat >> "$src/mm/damon/Kconfig" <<'EOF'
config DAMON_AUTOTUNE
	bool "damon_autotune: self-tuning DAMON-based reclaim, built in"
	depends on DAMON_PADDR && RUST
	help
	  Builds damon_autotune (out-of-tree sources copied into
	  mm/damon/autotune/) into the kernel. Enable it at boot with
	  damon_autotune.enabled=Y; its parameters are under
	  /sys/module/damon_autotune/parameters/.

endmenu
EOF
fi
grep -q 'autotune/' "$src/mm/damon/Makefile" ||
	echo 'obj-$(CONFIG_DAMON_AUTOTUNE)	+= autotune/' >> "$src/mm/damon/Makefile"
dest=$src/mm/damon/autotune
mkdir -p "$dest"
# Only what differs is copied (cmp), so that make sees changed files only.
( cd "$top" && find Kbuild damon_autotune.rs module rust -type f \
	\( -name '*.rs' -o -name 'Kbuild' -o -name '*.h' -o -name 'bindgen_parameters' \) \
	-not -path 'rust/host/*' -not -name 'damon_generated.rs' ) | while read -r f; do
	mkdir -p "$dest/$(dirname "$f")"
	cmp -s "$top/$f" "$dest/$f" || cp "$top/$f" "$dest/$f"
done

# 2. The build directory, copied once, with the option on.
if [ ! -f "$entry/copied" ]; then
	echo "builtin: copying the test kernel's build to $build"
	rm -rf "$build"
	cp -a "$test_build" "$build"
	ln -sfn "$src" "$build/source"
	touch "$entry/copied"
fi
kmake() { make -s -C "$src" O="$build" LLVM=$LLVM_SUFFIX "$@"; }
"$src/scripts/config" --file "$build/.config" --enable DAMON_AUTOTUNE
kmake olddefconfig
grep -qx 'CONFIG_DAMON_AUTOTUNE=y' "$build/.config" || {
	echo "builtin: CONFIG_DAMON_AUTOTUNE did not survive olddefconfig" >&2; exit 1; }
start=$(date +%s)
kmake -j"$(nproc)" bzImage
echo "builtin: kernel with damon_autotune built in, in $build ($(( $(date +%s) - start )) s)"
