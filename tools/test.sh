#!/usr/bin/env bash
# The whole test suite (what `make test` runs after preparing the kernel):
#
#   1. host: cargo test on the pure Rust code (rust/host);
#   2. build: rustfmt, the module built with CLIPPY=1 and no warning
#      allowed, the kernel patch checked against what the module imports,
#      a DKMS build and install (tools/dkms-test.sh), every parameter
#      documented in Documentation/admin-guide.rst;
#   3. QEMU: one boot of the test kernel (KASAN, kmemleak, lockdep, ...):
#      DAMON's own KUnit suites at boot, the module's KUnit suites when it
#      is loaded, then the integration checks in tests/guest/; the console
#      must stay clean;
#   3b. QEMU with three emulated NUMA nodes (node 0 with the CPUs, nodes
#      1 and 2 CPU-less): memory tiering (tests/guest/tier.sh);
#   3c. QEMU with two NUMA nodes: parameter fuzzing with every scheme
#      running, tiering included (tests/guest/70-fuzz.sh), and parameters
#      at and beyond their bounds (tests/guest/72-bounds.sh);
#   4. the kernel with the module built in (tools/kernel/builtin.sh, an
#      incremental build of the test kernel), booted with and without
#      damon_autotune.enabled=Y on the command line, and with it and
#      parameters init refuses;
#   5. the benchmark's smoke test (tools/bench/bench.py --quick --check)
#      on the benchmark kernel (no debug options, DAMON_RECLAIM fixed):
#      every run finishes with a clean console and sane numbers; no
#      target is checked (that is `make bench`'s report).
#
# Prints one line per failed check and ends with "N passed, N failed".
# Artifacts (console log, build log) are in out/.
#
# --full runs the reliability tests at their full size (10,000 fuzzed
# parameter writes, 100 load/unload cycles, 1,000 enable/disable flips,
# 500 fault-injection rounds) instead of the CI size.
set -uo pipefail
# A module option on the command line, for modprobe to pick up (15-modprobe).
append="damon_autotune.quota_sz=12345678"
numa_append=
if [ "${1:-}" = --full ]; then
	append="$append fuzz_writes=10000 cycles=100 flips=1000 fault_rounds=500"
	numa_append="fuzz_writes=10000"
fi
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tools/versions.sh
export RUSTUP_TOOLCHAIN=$RUST_VERSION
export KDIR=${KDIR:-$(tools/kernel/prepare.sh --dir test)}
mkdir -p out
passed=0 failed=0
result() { # NAME STATUS [WHY]
	if [ "$2" = 0 ]; then
		passed=$((passed + 1)); echo "test: ok $1"
	else
		failed=$((failed + 1)); echo "test: FAILED $1${3:+: $3}"
	fi
}
start=$(date +%s)

# 1. Host tests.
cargo test -q --manifest-path rust/host/Cargo.toml >out/host-tests.log 2>&1
rc=$?
read -r hp hf < <(awk '/^test result:/ {p += $4; f += $6} END {print p+0, f+0}' out/host-tests.log)
passed=$((passed + hp)); failed=$((failed + hf))
[ $rc = 0 ] || { [ "$hf" -gt 0 ] || failed=$((failed + 1)); tail -n 30 out/host-tests.log; }
echo "test: host: $hp passed, $hf failed"

# 2. Build checks.
rustfmt --check --config-path .rustfmt.toml damon_autotune.rs rust/host/lib.rs >out/rustfmt.log 2>&1
result rustfmt $? "run rustfmt (see out/rustfmt.log)"
make -s clean >/dev/null 2>&1
make CLIPPY=1 modules >out/build.log 2>&1
rc=$?
result module_builds $rc "see out/build.log"
grep -n -i -B2 -A8 'warning' out/build.log && result build_has_no_warnings 1 "see out/build.log" ||
	result build_has_no_warnings 0
if [ $rc != 0 ]; then
	tail -n 40 out/build.log
	echo "$passed passed, $failed failed"
	exit 1
fi
tools/kernel/check-exports.sh damon_autotune.ko "$KDIR/source"
result kernel_patch_exports_exactly_what_is_used $?
mkdir -p out/guest-bin
gcc -static -O2 -Wall -Wextra -Werror -o out/guest-bin/masim tools/workload/masim.c
result workload_builds $?
gcc -static -O2 -Wall -Wextra -Werror -o out/guest-bin/paramfuzz tools/workload/paramfuzz.c
result fuzzer_builds $?
tools/dkms-test.sh >out/dkms.log 2>&1
result dkms_builds_and_installs $? "see out/dkms.log"
tools/docs.py params damon_autotune.ko Documentation/admin-guide.rst
result every_parameter_documented $?
tools/docs.py examples Documentation/admin-guide.rst out/guest-bin
result doc_examples_extracted $?

# 3. QEMU: KUnit and integration.
tools/qemu/vm.sh --log out/console.log --timeout 4200 --mem 768M --swap 512M --disk 768M \
	--append "$append" run-all.sh
tools/qemu/check-console.py out/console.log --counts out/console.counts \
	--suite damon --suite damon-operations --suite damon-sysfs \
	--suite damon_autotune_params --suite damon_autotune_policy --suite damon_autotune_damon
read -r cp cf < out/console.counts
passed=$((passed + cp)); failed=$((failed + cf))

# 3b. Memory tiering across three emulated NUMA nodes, 512 MiB each.
tools/qemu/vm.sh --log out/tier.log --timeout 1500 --numa 3 --mem 1536M \
	--append "kunit.enable=0" tier.sh
tools/qemu/check-console.py out/tier.log --counts out/console.counts
read -r cp cf < out/console.counts
passed=$((passed + cp)); failed=$((failed + cf))

# 3c. Two emulated NUMA nodes, 512 MiB each: parameter fuzzing while
# reclaim (watermarks always on), min_age tuning and tiering run
# (tests/guest/70-fuzz.sh; the main VM fuzzes without tiering), then time
# and size parameters at and beyond their bounds (72-bounds.sh).
tools/qemu/vm.sh --log out/numa2.log --timeout 2400 --numa 2 --mem 1024M \
	--append "kunit.enable=0 $numa_append" run-all.sh 70 72
tools/qemu/check-console.py out/numa2.log --counts out/console.counts
read -r cp cf < out/console.counts
passed=$((passed + cp)); failed=$((failed + cf))

# 4. The kernel with damon_autotune built in, derived from the test kernel
# by an incremental build: booted with and without enabled=Y.
tools/kernel/builtin.sh >out/builtin-build.log 2>&1
rc=$?
result builtin_kernel_builds $rc "see out/builtin-build.log"
if [ $rc = 0 ]; then
	bzimage=$(tools/kernel/builtin.sh --dir)/arch/x86/boot/bzImage
	for mode in on off refused; do
		extra="kunit.enable=0"
		[ $mode = on ] && extra="$extra damon_autotune.enabled=Y damon_autotune.min_age=7000000"
		[ $mode = refused ] && extra="$extra damon_autotune.enabled=Y damon_autotune.wmarks_mid=600"
		tools/qemu/vm.sh --kernel "$bzimage" --module none --log "out/builtin-$mode.log" \
			--timeout 600 --mem 768M --append "$extra" boot-builtin.sh $mode
		tools/qemu/check-console.py "out/builtin-$mode.log" --counts out/console.counts
		read -r cp cf < out/console.counts
		passed=$((passed + cp)); failed=$((failed + cf))
	done
fi

# 5. The benchmark's smoke test.
tools/kernel/prepare.sh bench >out/bench-kernel.log 2>&1
rc=$?
result bench_kernel_builds $rc "see out/bench-kernel.log"
if [ $rc = 0 ]; then
	rm -f out/bench.counts
	python3 tools/bench/bench.py --quick --check --timeout 600 --counts out/bench.counts >out/bench-quick.log 2>&1
	grep '^test: FAILED' out/bench-quick.log
	if read -r cp cf < out/bench.counts 2>/dev/null; then
		passed=$((passed + cp)); failed=$((failed + cf))
	else
		result bench_quick_runs 1 "see out/bench-quick.log"
		tail -n 20 out/bench-quick.log
	fi
fi

echo "test: took $(( $(date +%s) - start )) s; console log in out/console.log"
echo "$passed passed, $failed failed"
[ $failed = 0 ]
