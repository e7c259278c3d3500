#!/usr/bin/env bash
# Installs everything damon_autotune needs on a Debian machine that has only
# rustup, gcc, python3 and git.  Idempotent: a second run only checks.
#
#   tools/setup.sh [bench]   bench: also matplotlib, for the plots of the
#                            benchmark and of the demo
#
# Pinned: the kernel source package, the Rust toolchain (the kernel and every
# module built against it must use the same rustc) and bindgen-cli.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"

missing=()
need_pkg() { dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null | grep -q '^install ok installed' || missing+=("$1"); }

pkgs=(
	"linux-source-6.12=$KERNEL_DEB_VERSION"
	clang-19 lld-19 llvm-19 libclang-19-dev
	flex bison bc libelf-dev libssl-dev cpio rsync kmod xz-utils patch
	qemu-system-x86 busybox-static e2fsprogs libc6-dev dkms
)
[ "${1:-}" = bench ] && pkgs+=(python3-matplotlib)
for p in "${pkgs[@]}"; do
	name=${p%%=*}
	if [ "$name" = linux-source-6.12 ]; then
		v=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || true)
		[ "$v" = "$KERNEL_DEB_VERSION" ] || missing+=("$p")
	else
		need_pkg "$name"
	fi
done

if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	if ! $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/damon_autotune-apt.log 2>&1; then
		echo "setup: apt-get install failed (log: /tmp/damon_autotune-apt.log):" >&2
		tail -n 20 /tmp/damon_autotune-apt.log >&2
		for p in "${missing[@]}"; do
			apt-cache policy "${p%%=*}" 2>/dev/null | grep -q 'Candidate: (none)' &&
				echo "setup: package not available from the configured archives: $p" >&2
		done
		exit 1
	fi
fi

# Rust: the pinned toolchain with rust-src (the kernel builds core/alloc from it).
if ! rustup toolchain list | grep -q "^$RUST_VERSION"; then
	echo "setup: installing Rust $RUST_VERSION"
	rustup toolchain install --profile minimal "$RUST_VERSION"
fi
for c in rust-src rustfmt clippy; do
	rustup component list --toolchain "$RUST_VERSION" --installed | grep -q "^$c" ||
		rustup component add --toolchain "$RUST_VERSION" "$c"
done

# bindgen-cli, pinned, built with the pinned toolchain.
if [ "$(bindgen --version 2>/dev/null | awk '{print $2}')" != "$BINDGEN_VERSION" ]; then
	echo "setup: building bindgen-cli $BINDGEN_VERSION (a few minutes)"
	RUSTUP_TOOLCHAIN=$RUST_VERSION cargo install --locked --quiet --version "$BINDGEN_VERSION" bindgen-cli
fi

# Check what we got, loudly.
fail=0
check() { # name, command, expected substring
	local out
	out=$(eval "$2" 2>&1 | head -n 1) || true
	if [[ "$out" == *"$3"* ]]; then
		printf 'setup: %-10s ok   %s\n' "$1" "$out"
	else
		printf 'setup: %-10s FAIL expected "%s", got "%s"\n' "$1" "$3" "$out" >&2
		fail=1
	fi
}
check rustc "RUSTUP_TOOLCHAIN=$RUST_VERSION rustc --version" "rustc $RUST_VERSION"
check rust-src "ls \$(RUSTUP_TOOLCHAIN=$RUST_VERSION rustc --print sysroot)/lib/rustlib/src/rust/library/core/src/lib.rs" "lib.rs"
check bindgen "bindgen --version" "bindgen $BINDGEN_VERSION"
check clang "clang-19 --version" "clang version 19"
check ld.lld "ld.lld-19 --version" "LLD 19"
check qemu "qemu-system-x86_64 --version" "QEMU emulator"
check busybox "ls /bin/busybox" "busybox"
check source "ls $KERNEL_TARBALL" "$KERNEL_TARBALL"
[ $fail = 0 ] || { echo "setup: the tools above are missing or have the wrong version" >&2; exit 1; }
