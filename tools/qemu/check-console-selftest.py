#!/usr/bin/env python3
"""Host-side regression test of check-console.py: crafted console logs,
each with one way a run can go wrong, must make it exit non-zero and count
at least one failure; the well-formed log must pass. tools/test.sh runs it
with the build checks.

  check-console-selftest.py        prints one line per case, exits 1 if any
                                   case did not get the expected verdict
"""
import os
import subprocess
import sys
import tempfile

CHECKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check-console.py")

BOOT = """\
[    0.000000] Linux version 6.12.57 (test)
[    0.100000] smp: Bringing up secondary CPUs ...
"""

# A file with a plan of 2 that runs both checks.
GOOD_FILE = """\
itest: begin 10-module.sh
itest: plan 2
itest: ok insmod
itest: ok enabled_default
itest: end 10-module.sh status 0 took 3 s
"""

KMEMLEAK = """\
itest: begin kmemleak
itest: plan 1
itest: ok kmemleak_clean
itest: end kmemleak status 0 took 7 s
itest: done
"""

# The module's KUnit suite as 6.12 prints it (kunit.stats_enabled=2).
def kunit(cases):
    """cases: [(name, "ok" | "not ok" | "skip")]"""
    out = ["[    5.000000]     KTAP version 1",
           "[    5.000000]     # Subtest: damon_autotune_damon",
           f"[    5.000000]     1..{len(cases)}"]
    p = f = sk = 0
    for i, (name, how) in enumerate(cases, 1):
        if how == "ok":
            out.append(f"[    5.100000]     ok {i} {name}")
            p += 1
        elif how == "skip":
            out.append(f"[    5.100000]     ok {i} {name} # SKIP another DAMON context is running")
            sk += 1
        else:
            out.append(f"[    5.100000]     # {name}: EXPECTATION FAILED at rust/tests/damon.rs:280")
            out.append(f"[    5.100000]     not ok {i} {name}")
            f += 1
    out.append(f"[    5.200000] # damon_autotune_damon: pass:{p} fail:{f} skip:{sk} total:{len(cases)}")
    out.append(f"[    5.200000] {'ok' if not f else 'not ok'} 1 damon_autotune_damon")
    return "\n".join(out) + "\n"


KDAMOND_CASES = ["start_is_exclusive_and_drop_stops", "callbacks_see_statistics",
                 "commit_into_running"]
KUNIT_RAN = kunit([(c, "ok") for c in KDAMOND_CASES])
KUNIT_SKIPPED = kunit([(c, "skip") for c in KDAMOND_CASES])

# An allocation failure's report under fault injection, as warn_alloc()
# prints it (trimmed).
ALLOC_DUMP = """\
itest: faults begin
[  100.000000] insmod: page allocation failure: order:0, mode:0x400cc0(GFP_KERNEL_ACCOUNT), nodemask=(null),cpuset=/,mems_allowed=0
[  100.000001] CPU: 1 UID: 0 PID: 1234 Comm: insmod Not tainted 6.12.57 #1
[  100.000002] Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 1.16.2-debian-1.16.2-1 04/01/2014
[  100.000003] Call Trace:
[  100.000004]  <TASK>
[  100.000005]  dump_stack_lvl+0x6e/0xa0
[  100.000006]  warn_alloc+0x1a9/0x260
[  100.000007]  ? kmemleak_alloc+0x4b/0x80
[  100.000008]  _RNvNtCs1_14damon_autotune6module4init+0x12/0x40 [damon_autotune]
[  100.000009]  </TASK>
[  100.000010] Mem-Info:
[  100.000011] active_anon:1234 inactive_anon:0 isolated_anon:0
[  100.000012]  active_file:10 inactive_file:20 isolated_file:0
[  100.000013] Node 0 active_anon:4936kB inactive_anon:0kB
[  100.000014] Node 0 DMA free:15360kB boost:0kB min:268kB
[  100.000015] lowmem_reserve[]: 0 2962 2962 2962
[  100.000016] Node 0 DMA: 0*4kB 0*8kB 0*16kB = 15360kB
[  100.000017] 1234 total pagecache pages
[  100.000018] 0 pages in swap cache
[  100.000019] Free swap  = 0kB
[  100.000020] Total swap = 0kB
[  100.000021] 196478 pages RAM
[  100.000022] 0 pages HighMem/MovableOnly
[  100.000023] 5000 pages reserved
"""
FAULTS_END = "itest: faults end\n"
KASAN = """\
[  100.000030] ==================================================================
[  100.000031] BUG: KASAN: slab-use-after-free in damon_autotune_enable+0x12/0x40 [damon_autotune]
[  100.000032] Read of size 8 at addr ffff888012345678 by task sh/1234
[  100.000033] CPU: 1 UID: 0 PID: 1234 Comm: sh Not tainted 6.12.57 #1
[  100.000034] Call Trace:
[  100.000035]  <TASK>
[  100.000036]  kasan_report+0x12/0x40
[  100.000037]  </TASK>
"""


def main_log(body=GOOD_FILE, kunit_part=KUNIT_RAN, tail=KMEMLEAK):
    return BOOT + kunit_part + body + tail


MAIN_ARGS = ["--expect", "10-module.sh", "--expect", "kmemleak", "--suite", "damon_autotune_damon"]
REQUIRE = [a for c in KDAMOND_CASES for a in ("--require-case", f"damon_autotune_damon.{c}")]

# (name, log, extra arguments, expected to pass)
CASES = [
    ("well-formed log passes", main_log(), MAIN_ARGS, True),
    ("an expected file missing", main_log(body=""), MAIN_ARGS, False),
    ("a file that ran and is not expected",
     main_log(body=GOOD_FILE + GOOD_FILE.replace("10-module", "11-new")), MAIN_ARGS, False),
    ("an early exit (fewer checks than planned, status 0)",
     main_log(body=GOOD_FILE.replace("itest: ok enabled_default\n", "")), MAIN_ARGS, False),
    ("an exit with a non-zero status (shell error)",
     main_log(body=GOOD_FILE.replace("status 0", "status 2")), MAIN_ARGS, False),
    ("more checks than planned",
     main_log(body=GOOD_FILE.replace("itest: ok insmod\n", "itest: ok insmod\nitest: ok extra\n")),
     MAIN_ARGS, False),
    ("a file without a plan",
     main_log(body=GOOD_FILE.replace("itest: plan 2\n", "")), MAIN_ARGS, False),
    ("a file that began and did not end (the VM died)",
     BOOT + KUNIT_RAN + GOOD_FILE.replace("itest: end 10-module.sh status 0 took 3 s\n", ""),
     [], False),
    ("no 'itest: done'", main_log(tail=KMEMLEAK.replace("itest: done\n", "")), MAIN_ARGS, False),
    ("a kernel message inside a 'not ok' line",
     main_log(body=GOOD_FILE.replace(
         "itest: ok enabled_default\n",
         "itest: not o[   12.345678] damon_autotune: kdamond started\nk enabled_default: got Y\n")),
     MAIN_ARGS, False),
    ("an 'ok' line with a kernel message appended",
     main_log(body=GOOD_FILE.replace(
         "itest: ok enabled_default\n",
         "itest: ok enabled_default[   12.3] random: crng init done\n")),
     MAIN_ARGS, False),
    ("an itest line after a kernel message fragment",
     main_log(body=GOOD_FILE.replace(
         "itest: ok enabled_default\n",
         "[   12.3] damon_autotune: commit refused itest: ok enabled_default\n")),
     MAIN_ARGS, False),
    ("check lines as kernel records (/dev/kmsg) pass",
     main_log(body="".join(f"[   12.{i:06d}] {l}\n" for i, l in enumerate(GOOD_FILE.splitlines()))),
     MAIN_ARGS, True),
    ("a record that cut into a line the script was printing passes",
     main_log(body=GOOD_FILE.replace(
         "itest: ok enabled_default\n",
         "tier: t=5s node 0 fr[   12.3] itest: ok enabled_default\nee 863 bp\n")),
     MAIN_ARGS, True),
    ("a failed check as a record fails",
     main_log(body=GOOD_FILE.replace(
         "itest: ok enabled_default\n",
         "[   12.3] itest: not ok enabled_default: got N\n")),
     MAIN_ARGS, False),
    ("a record with a kernel message appended",
     main_log(body=GOOD_FILE.replace(
         "itest: ok enabled_default\n",
         "[   12.3] itest: ok enabled_default[   12.4] random: crng init done\n")),
     MAIN_ARGS, False),
    ("'itest: not' with garbage",
     main_log(body=GOOD_FILE.replace("itest: ok enabled_default\n", "itest: not \x00\x7f\n")),
     MAIN_ARGS, False),
    ("KUnit: a required case that ran once and skipped once passes",
     main_log(kunit_part=KUNIT_SKIPPED + KUNIT_RAN), MAIN_ARGS + REQUIRE, True),
    ("KUnit: a required case that skipped in every load",
     main_log(kunit_part=KUNIT_SKIPPED + KUNIT_SKIPPED), MAIN_ARGS + REQUIRE, False),
    ("KUnit: a required case that never ran",
     main_log(kunit_part=kunit([("new_context_has_default_attrs", "ok")])),
     MAIN_ARGS + REQUIRE, False),
    ("KUnit: a case that failed (and then skipped: reported not ok)",
     main_log(kunit_part=KUNIT_RAN + kunit([(KDAMOND_CASES[0], "not ok")])),
     MAIN_ARGS + REQUIRE, False),
    ("faults: an allocation-failure dump is expected",
     main_log(body=GOOD_FILE + ALLOC_DUMP + FAULTS_END), MAIN_ARGS, True),
    ("faults: a KASAN report right after the dump",
     main_log(body=GOOD_FILE + ALLOC_DUMP + KASAN + FAULTS_END), MAIN_ARGS, False),
    ("faults: a KASAN report a few lines after the dump",
     main_log(body=GOOD_FILE + ALLOC_DUMP + "[  100.1] damon_autotune: enable failed: -12\n"
              + KASAN + FAULTS_END), MAIN_ARGS, False),
    ("faults: a WARNING inside the dump",
     main_log(body=GOOD_FILE + ALLOC_DUMP.replace(
         "[  100.000006]  warn_alloc", "[  100.000006] WARNING: CPU: 1 PID: 1234 at mm/slub.c:1 x+0x1/0x2\n"
         "[  100.000006]  warn_alloc") + FAULTS_END), MAIN_ARGS, False),
    ("faults: a Call Trace outside a dump",
     main_log(body=GOOD_FILE + "itest: faults begin\n[  100.0] Call Trace:\n" + FAULTS_END),
     MAIN_ARGS, False),
    ("faults: a dump outside the fault window",
     main_log(body=GOOD_FILE + ALLOC_DUMP.replace("itest: faults begin\n", "")), MAIN_ARGS, False),
    ("a failed check", main_log(body=GOOD_FILE.replace(
        "itest: ok enabled_default", "itest: not ok enabled_default: got 'Y', expected 'N'")),
     MAIN_ARGS, False),
]


def run(log, args):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "console.log")
        counts = os.path.join(d, "counts")
        with open(path, "w") as f:
            f.write(log)
        p = subprocess.run([sys.executable, CHECKER, path, "--counts", counts] + args,
                           capture_output=True, text=True)
        try:
            with open(counts) as f:
                passed, failed = map(int, f.read().split())
        except (OSError, ValueError):
            passed = failed = None
        return p.returncode, passed, failed, p.stdout + p.stderr


def main():
    bad = 0
    for name, log, args, should_pass in CASES:
        rc, passed, failed, out = run(log, args)
        if should_pass:
            ok = rc == 0 and failed == 0
        else:
            ok = rc == 1 and failed is not None and failed > 0
        verdict = "passes" if rc == 0 else f"fails ({failed} failed)"
        print(f"{'ok' if ok else 'WRONG'}: {name}: check-console {verdict}")
        if not ok:
            bad += 1
            print("  " + out.replace("\n", "\n  "))
    print(f"check-console-selftest: {len(CASES) - bad} of {len(CASES)} cases as expected")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
