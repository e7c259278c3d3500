# SPDX-License-Identifier: GPL-2.0
#
# damon_autotune, an out-of-tree Rust module.
#
#   make                 build damon_autotune.ko against $(KDIR)
#   make modules_install / clean
#   make setup           install the toolchain, packages and kernel source
#   make kernel          prepare and build the test kernel (cached)
#   make run             the demo: damon_autotune at work in a VM (about 3 minutes);
#                        DEMO=reclaim runs DAMON_RECLAIM on the same workload
#   make test            every test: host, build checks, KUnit and integration in QEMU
#   make test-full       the same, with the reliability tests at full size
#   make bench           the benchmark (builds the benchmark kernel; planned about 86 minutes)
#   make bench-quick     its smoke test, on the same kernel (about 5 minutes)
#
# KDIR defaults to the project's cached test kernel build (tools/kernel/);
# point it at any 6.12 kernel build that carries kernel/0001-*.patch.

RUST_VERSION := $(shell . ./tools/versions.sh && echo $$RUST_VERSION)
export RUSTUP_TOOLCHAIN := $(RUST_VERSION)
LLVM ?= -19
KDIR ?= $(shell tools/kernel/prepare.sh --dir test)
export KDIR

default: modules

modules modules_install clean:
	@test -f $(KDIR)/Module.symvers || { echo "no kernel build in $(KDIR): run 'make kernel' or set KDIR" >&2; exit 1; }
	@grep -q 'damon_new_ctx' $(KDIR)/Module.symvers || { \
		echo "$(KDIR) does not export DAMON's API: apply kernel/0001-*.patch to that kernel" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=$(LLVM) $@

setup:
	tools/setup.sh

kernel: setup
	tools/kernel/prepare.sh test

# The demo runs on the benchmark kernel (no debug options, DAMON_RECLAIM
# fixed), which tools/run.sh prepares: see there why. Its plot needs
# matplotlib (tools/setup.sh bench).
DEMO ?= autotune
run: setup
	tools/setup.sh bench
	tools/run.sh $(DEMO)

test: kernel
	tools/test.sh

test-full: kernel
	tools/test.sh --full

# The Debian python3, which has python3-matplotlib for the plots.
BENCH_PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)

bench: setup
	tools/setup.sh bench
	$(BENCH_PYTHON) tools/bench/bench.py

bench-quick: setup
	tools/setup.sh bench
	$(BENCH_PYTHON) tools/bench/bench.py --quick

.PHONY: default modules modules_install clean setup kernel run test test-full bench bench-quick
