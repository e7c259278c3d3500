#!/usr/bin/env python3
"""Reads a VM's console log and decides whether the run passed.

  check-console.py LOG [--suite NAME]... [--require-case SUITE.CASE]...
                       [--expect FILE]... [--counts FILE]

Counts:
- KUnit: each suite's statistics line ("# NAME: pass:P fail:F skip:S
  total:T" at the start of the line; the cases' own are indented), printed
  because the VM boots with kunit.stats_enabled=2. A module's suites run
  each time it is loaded, and each run counts. Every --suite NAME must
  appear: a suite that never ran counts as one failure. Each case's
  result line ("    ok N CASE # SKIP why" inside "# Subtest: SUITE") is
  read too: every --require-case SUITE.CASE must have run unskipped at
  least once over all the suite's runs (a case that skipped in every load
  of the module, or never ran, is one failure). Skips are counted and
  listed per case.
- Integration checks: "itest: ok NAME" / "itest: not ok NAME: why" lines,
  and "itest: done", without which the guest script did not finish.
- Accounting of the test files (tests/guest/run-all.sh and lib.sh's
  run_file): "itest: begin FILE", the file's "itest: plan N", its checks,
  "itest: end FILE status S took T s". Each of these fails once: a file
  that began and did not end, that ended with a non-zero status (it
  exited early or had a shell error), that declared no plan, or whose
  ok + not ok lines differ from its plan; with --expect (one per file the
  VM must run), an expected file that did not end, or a file that ran
  and was not expected.
- The guest writes those lines to /dev/kmsg, so they come as kernel
  records ("[ stamp ] itest: ..."), whole to the end of the line, also
  where one cut into a line the script was printing; lines the guest
  echoes itself (benchmark, demo) come without a timestamp.
- Any other line with "itest:" in it (a kernel message interleaved into
  a check's line on the serial console, a truncated line, ...) is one
  failure: a check result is never dropped.
- Console problems: any WARNING:, BUG:, Oops, KASAN, kmemleak or Call Trace
  line fails the run even if every test passed (the few boot-time kmemleak
  announcements listed in BENIGN excepted). Between "itest: faults begin"
  and "itest: faults end" (fault injection on purpose), the dump the
  kernel prints for an allocation failure is expected and only counted:
  the "vmalloc error:" or "page allocation failure:" line, then the
  kernel lines that have the form of warn_alloc()'s dump (DUMP_FORMS: the
  CPU, Hardware name, Call Trace, <TASK> and frame lines of dump_stack(),
  and show_mem()'s Mem-Info and node lines). The first kernel line of
  another form ends the dump. No WARNING:, BUG:, Oops or KASAN line has
  one of those forms, so none is ever exempt.
- A report before "smp: Bringing up secondary CPUs" comes from the
  kernel's earliest boot, on one CPU, before any initcall (DAMON's and the
  module's run much later): it is printed and counted apart, not failed
  on. (6.12 under TCG with KASAN once reported a wild access in
  rcu_is_watching() from an interrupt at 0.003 s.)

Prints the failures and one summary line; with --counts, writes
"PASSED FAILED" there. Exits 1 if anything failed.
"""
import argparse
import re
import sys

STAMP = re.compile(r"^\[\s*\d+\.\d+\]\s?")
# A check line the guest wrote to /dev/kmsg (tests/guest/lib.sh's
# itest_line): a kernel record, printed whole, from its timestamp to the
# end of the line, at the start of a line or where it cut into a line the
# script was still printing (the rest of that line follows on the next).
KMSG_ITEST = re.compile(r"\[\s*\d+\.\d+\]\s?(itest: .*)$")
SUITE_STATS = re.compile(r"^# (\S+): pass:(\d+) fail:(\d+) skip:(\d+) total:(\d+)")
SUBTEST = re.compile(r"^\s+# Subtest: (\S+)$")
CASE_RESULT = re.compile(r"^    (ok|not ok) \d+ (\S+)(?: # SKIP(?: (.*))?)?$")
ITEST = re.compile(r"^itest: (?:(ok) (\S+)|(not ok) (\S+)(?:: (.*))?)$")
ITEST_MARK = re.compile(r"^itest: (?:plan (\d+)|begin (\S+)|end (\S+) status (\d+) took \d+ s"
                        r"|(done)|faults (?:begin|end))$")
BAD = re.compile(r"WARNING:|BUG:|Oops|KASAN|kmemleak|Call Trace")
NEVER_EXEMPT = re.compile(r"WARNING:|BUG:|Oops|KASAN")
ALLOC_REPORT = re.compile(r"vmalloc error:|page allocation failure:")
# The lines of an allocation-failure dump after its first line, each
# matched in full (timestamp removed): dump_stack()'s, then show_mem()'s.
DUMP_FORMS = re.compile("|".join([
    r"CPU: \d+ (?:UID: \d+ )?PID: \d+ Comm: .* (?:Not tainted|Tainted: [A-Z ]+) \S+ #\S+.*",
    r"Tainted: (?:\[[A-Z]\]=[A-Z_]+,? ?)+",
    r"Hardware name: .*",
    r"Workqueue: \S+ \S+",
    r"Call Trace:",
    r" *</?(?:TASK|IRQ|SOFTIRQ|NMI)>",
    r" +(?:\? )?[\w.$]+\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[\w+\])?",
    r"Mem-Info:",
    r" ?[a-z_]+:\d+(?: [a-z_]+:\d+)*",
    r"Node \d+ [\w ]*(?:[a-z_]+:\S+ ?)*|Node \d+ \w+: .*",
    r"Node \d+ hugepages_total=\d+ hugepages_free=\d+ hugepages_surp=\d+ hugepages_size=\d+kB",
    r"lowmem_reserve\[\]:(?: \d+)+",
    r"\d+ total pagecache pages",
    r"\d+ pages in swap cache",
    r"Free swap  = -?\d+kB",
    r"Total swap = \d+kB",
    r"\d+ pages (?:RAM|HighMem/MovableOnly|reserved|cma reserved|hwpoisoned)",
]))
EARLY_BOOT_END = "smp: Bringing up secondary CPUs"
BENIGN = [
    "kmemleak: Kernel memory leak detector initialized",
    "kmemleak: Automatic memory scanning thread started",
    # kmemleak's own bookkeeping hit by failslab (90-faults.sh): it scans
    # the whole object instead; not a leak report.
    "kmemleak: Cannot allocate a scan area, scanning the full object",
]


def script_output_before(raw, end, count=4):
    """The last COUNT lines the guest script printed before line END (index),
    other than check results: kernel messages carry a timestamp, the
    script's lines do not."""
    found = []
    for l in reversed(raw[max(0, end - 400):end]):
        if not l or STAMP.match(l) or "itest:" in l:
            continue
        found.append(l.strip())
        if len(found) == count:
            break
    return reversed(found)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--suite", action="append", default=[])
    ap.add_argument("--require-case", action="append", default=[],
                    help="SUITE.CASE: must run unskipped at least once")
    ap.add_argument("--expect", action="append", default=[],
                    help="a test file the guest must run (tests/guest/run-all.sh)")
    ap.add_argument("--counts")
    args = ap.parse_args()

    with open(args.log, errors="replace") as f:
        raw = [l.rstrip("\r\n") for l in f]
    lines = [STAMP.sub("", l) for l in raw]
    for i, l in enumerate(raw):
        m = KMSG_ITEST.search(l)
        if m:
            lines[i] = m.group(1)

    failures = []
    passed = failed = 0
    suites = {}
    itests_done = False
    in_faults = False
    in_dump = False
    expected_reports = 0
    early = True
    early_reports = []
    suite = None    # the KUnit suite whose cases are being printed
    case_runs = {}  # "SUITE.CASE" -> [runs, skips]
    cur = None      # the test file running: [name, plan, checks, line]
    ended = []
    for n, line in enumerate(lines, 1):
        if EARLY_BOOT_END in line:
            early = False
        if line.strip() == "itest: faults begin":
            in_faults = True
        elif line.strip() == "itest: faults end":
            in_faults = False
        kernel_line = bool(STAMP.match(raw[n - 1]))
        if in_dump and kernel_line:
            if DUMP_FORMS.fullmatch(line) and not NEVER_EXEMPT.search(line):
                continue
            in_dump = False
        if in_faults and kernel_line and ALLOC_REPORT.search(line) and not BAD.search(line):
            expected_reports += 1
            in_dump = True
            continue
        m = SUBTEST.match(line)
        if m:
            suite = m.group(1)
            continue
        m = CASE_RESULT.match(line)
        if m and suite:
            r = case_runs.setdefault(f"{suite}.{m.group(2)}", [0, 0])
            r[0] += 1
            if m.group(1) == "ok" and line.find(" # SKIP") >= 0:
                r[1] += 1
            continue
        m = SUITE_STATS.match(line)
        if m and m.group(1) != "Totals":
            suite = None
            name, p, fl, _, _ = m.groups()
            suites[name] = suites.get(name, 0) + 1
            passed += int(p)
            failed += int(fl)
            if int(fl):
                failures.append(f"KUnit suite {name}: {fl} case(s) failed")
            continue
        m = ITEST.match(line)
        if m:
            if cur:
                cur[2] += 1
            if m.group(1):
                passed += 1
            else:
                failed += 1
                failures.append(f"integration check {m.group(4)} failed: {m.group(5) or ''}")
                # The figures the check was made on, so that CI shows them.
                failures += [f"  before it: {l}" for l in script_output_before(raw, n - 1)]
            continue
        m = ITEST_MARK.match(line)
        if m:
            plan, begin, end, status, done = m.groups()
            if done:
                itests_done = True
            elif begin:
                if cur:
                    failed += 1
                    failures.append(f"test file {cur[0]} (line {cur[3]}) did not end "
                                    f"before {begin} began")
                cur = [begin, None, 0, n]
            elif plan is not None:
                if not cur or cur[1] is not None:
                    failed += 1
                    failures.append(f"line {n}: a plan outside a test file, or a "
                                    "second plan in one")
                else:
                    cur[1] = int(plan)
            elif end:
                if not cur or cur[0] != end:
                    failed += 1
                    failures.append(f"line {n}: end of {end}, which did not begin "
                                    f"(running: {cur[0] if cur else 'none'})")
                    cur = None
                    continue
                name, want, got, _ = cur
                cur = None
                ended.append(name)
                if status != "0":
                    failed += 1
                    failures.append(f"test file {name} ended with status {status} "
                                    "(exited early or a shell error)")
                if want is None:
                    failed += 1
                    failures.append(f"test file {name} declared no plan (itest_plan N)")
                elif got != want:
                    failed += 1
                    failures.append(f"test file {name} ran {got} checks, its plan says {want}")
            continue
        if "itest:" in line:
            failed += 1
            failures.append(f"line {n}: an itest line that cannot be read: {line.strip()}")
            continue
        if BAD.search(line) and not any(b in line for b in BENIGN):
            if early:
                early_reports.append(f"console line {n}: {line.strip()}")
                continue
            failures.append(f"console line {n}: {line.strip()}")

    for s in args.suite:
        if s not in suites:
            failed += 1
            failures.append(f"KUnit suite {s} did not run")
    for c in args.require_case:
        runs, skips = case_runs.get(c, [0, 0])
        if runs == skips:
            failed += 1
            failures.append(f"KUnit case {c} never ran unskipped ({runs} run(s), all skipped)"
                            if runs else f"KUnit case {c} did not run")
    if cur:
        failed += 1
        failures.append(f"test file {cur[0]} began (line {cur[3]}) and did not end")
    for e in args.expect:
        if e not in ended:
            failed += 1
            failures.append(f"test file {e} was expected and did not run to its end")
    if args.expect:
        for e in sorted(set(ended) - set(args.expect)):
            failed += 1
            failures.append(f"test file {e} ran and was not expected (add it to tools/test.sh)")
    if not itests_done:
        failed += 1
        failures.append("the guest script did not finish (no 'itest: done')")
    problems = sum(1 for f in failures if f.startswith("console line"))
    for f in failures:
        print(f"check-console: {f}")
    for r in early_reports:
        print(f"check-console: early boot, before any initcall (not counted): {r}")
    for c, (runs, skips) in sorted(case_runs.items()):
        if skips:
            print(f"check-console: KUnit case {c}: skipped in {skips} of {runs} run(s)")
    if expected_reports:
        print(f"check-console: {expected_reports} allocation-failure report(s) "
              "under fault injection (expected)")
    print(f"check-console: {args.log}: {passed} passed, {failed} failed, "
          f"{problems} console problem(s), suites run: {', '.join(sorted(suites)) or 'none'}")
    if args.counts:
        with open(args.counts, "w") as f:
            f.write(f"{passed} {failed + problems}\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
