# Pinned versions: everything that decides what the kernel build produces.
# Sourced by the tools; a change here changes the kernel build cache key.
KERNEL_DEB_VERSION=6.12.117-1~deb12u1
KERNEL_TARBALL=/usr/src/linux-source-6.12.tar.xz
RUST_VERSION=1.95.0
BINDGEN_VERSION=0.73.2
LLVM_SUFFIX=-19
