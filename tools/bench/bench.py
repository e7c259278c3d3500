#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The benchmark: every variant of every scenario in a fresh VM, one report.

    tools/bench/bench.py [--quick] [--kernel bench|test] [--out DIR]
                         [--scenarios a,b] [--variants a,b]

Each run boots the kernel with a swap disk, runs tests/guest/bench.sh
SCENARIO VARIANT SCALE SET, and parses its "bench:" lines from the console.
All runs of one invocation use the same kernel build, and every figure is
also given as a ratio to DAMON_RECLAIM's defaults (reclaim_default) of the
same invocation: absolute numbers under QEMU TCG are not stable.

Writes DIR/report.md (tables in the DAMA RFC's layout, plus ratios),
DIR/summary.csv, one DIR/<scenario>-<variant>.csv time series per run, the
console logs, and DIR/<scenario>-*.png plots when matplotlib is installed.

Scenarios: dama1 and dama2 (the DAMA RFC's, against DAMON_RECLAIM's
defaults) and failcharge (the fail-charge RFC's: reclaim per 1 s interval
against a hard quota, with and without the charge ratio, against
DAMON_RECLAIM with the same quota).

--quick is the smoke test: a small VM, short phases, dama1 with two
variants and failcharge; it checks that the pipeline works and that the
numbers are sane, not the targets.
"""
import argparse
import csv
import os
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

FULL = dict(mem="1024M", swap="2G", scale=0.2, configs="samples/bench/full",
            variants=["none", "reclaim_default", "reclaim_custom",
                      "autotune_min_age", "autotune_free_goal"])
QUICK = dict(mem="512M", swap="1G", scale=0.1, configs="samples/bench/quick",
             variants=["reclaim_default", "autotune_min_age"])
# The fail-charge scenario has its own variants and baseline (DAMON_RECLAIM
# with the same hard quota), and a scratch disk for its page cache.
FAILCHARGE_VARIANTS = ["reclaim_quota", "failcharge_off", "failcharge_on"]
SCENARIOS = ["dama1", "dama2", "failcharge"]
QUICK_SCENARIOS = ["dama1", "failcharge"]
BASELINE = "reclaim_default"
FC_BASELINE = "reclaim_quota"
FC_GOAL_BP = 4000
PAGE = 4096
USER_HZ = 100

# (row label, key, unit) in the RFC's order; None keys are section headers.
ROWS = [
    ("RECLAIMED", None, None),
    ("DAMON", "damon_pages", "pages"),
    ("KSWAPD", "pgsteal_kswapd", "pages"),
    ("DIRECT", "pgsteal_direct", "pages"),
    ("PSI", None, None),
    ("CPU", "psi_cpu", "% some"),
    ("I/O", "psi_io", "% some"),
    ("MEM", "psi_memory", "% some"),
    ("REFAULT", None, None),
    ("ANON", "workingset_refault_anon", "pages"),
    ("FILE", "workingset_refault_file", "pages"),
    ("FAULT", None, None),
    ("PGFAULT", "pgfault_rate", "/s"),
    ("MAJFAULT", "pgmajfault_rate", "/s"),
    ("WORKLOAD", None, None),
    ("ACCESSES", "accesses_per_ms", "/ms"),
    ("KDAMOND", None, None),
    ("CPU TIME", "kdamond_cpu_s", "s"),
]


def parse_console(path):
    """The samples (dicts), phase rates and start values of one run's
    console log."""
    samples, phases, start, ended = [], [], {}, False
    with open(path, errors="replace") as f:
        for line in f:
            if not line.startswith("bench: "):
                continue
            kind, _, rest = line[7:].strip().partition(" ")
            if kind == "sample":
                row = {}
                for kv in rest.split():
                    k, _, v = kv.partition("=")
                    try:
                        row[k] = float(v)
                    except ValueError:
                        pass
                samples.append(row)
            elif kind == "phase":
                name, _, rate = rest.rpartition(" ")
                phases.append((name, float(rate)))
            elif kind == "start":
                start = dict(kv.partition("=")[::2] for kv in rest.split())
            elif kind == "end":
                ended = True
            elif kind == "error":
                raise RuntimeError(f"{path}: guest error: {rest}")
    if not ended or len(samples) < 2:
        raise RuntimeError(f"{path}: the run did not finish ({len(samples)} samples)")
    return samples, phases, start


def summarise(samples, phases):
    """The RFC's metrics of one run, from its first and last samples."""
    first, last = samples[0], samples[-1]
    secs = max(last["t"] - first["t"], 1e-9)

    def delta(k):
        return max(last.get(k, 0) - first.get(k, 0), 0)

    m = {k: delta(k) for k in ("pgsteal_kswapd", "pgsteal_direct",
                               "workingset_refault_anon", "workingset_refault_file")}
    m["damon_pages"] = delta("damon_bytes") / PAGE
    for r in ("memory", "io", "cpu"):
        m[f"psi_{r}"] = delta(f"psi_{r}_total_us") / (secs * 1e6) * 100
    m["pgfault_rate"] = delta("pgfault") / secs
    m["pgmajfault_rate"] = delta("pgmajfault") / secs
    m["accesses_per_ms"] = sum(r for _, r in phases) / len(phases) if phases else 0.0
    m["kdamond_cpu_s"] = delta("kdamond_ticks") / USER_HZ
    m["refaults"] = m["workingset_refault_anon"] + m["workingset_refault_file"]
    m["kernel_reclaim"] = m["pgsteal_kswapd"] + m["pgsteal_direct"]
    m["seconds"] = secs
    return m


FC_ROWS = [
    ("reclaimed per interval, mean (MiB)", "fc_mean_mib"),
    ("reclaimed per interval, lowest (MiB)", "fc_min_mib"),
    ("intervals at >= 95% of the quota (%)", "fc_full_pct"),
    ("intervals before the goal", "fc_intervals"),
    ("time to the goal (s)", "fc_goal_s"),
    ("tried (MiB)", "fc_tried_mib"),
    ("reclaimed (MiB)", "fc_reclaimed_mib"),
    ("quota exceeds", "fc_exceeds"),
    ("kdamond CPU time (s)", "kdamond_cpu_s"),
]


def summarise_failcharge(samples, start):
    """Reclaim per interval against the hard quota, until the goal: the
    samples are about a second apart, the quota's reset interval is 1 s,
    so each sample's delta is scaled to one second."""
    quota = float(start.get("fc_quota", 0)) or 1.0
    rates, goal_t = [], None
    for a, b in zip(samples, samples[1:]):
        if a.get("free_bp", 0) >= FC_GOAL_BP:
            goal_t = a["t"] - samples[0]["t"]
            break
        dt = max(b["t"] - a["t"], 1e-9)
        rates.append((b.get("damon_bytes", 0) - a.get("damon_bytes", 0)) / dt)
    first, last = samples[0], samples[-1]
    mib = 2.0 ** 20
    return {
        "fc_mean_mib": sum(rates) / len(rates) / mib if rates else 0.0,
        "fc_min_mib": min(rates) / mib if rates else 0.0,
        "fc_full_pct": 100.0 * sum(r >= 0.95 * quota for r in rates) / len(rates) if rates else 0.0,
        "fc_intervals": len(rates),
        "fc_goal_s": goal_t if goal_t is not None else float("nan"),
        "fc_tried_mib": (last.get("damon_tried", 0) - first.get("damon_tried", 0)) / mib,
        "fc_reclaimed_mib": (last.get("damon_bytes", 0) - first.get("damon_bytes", 0)) / mib,
        "fc_exceeds": last.get("quota_exceeds", 0) - first.get("quota_exceeds", 0),
        "kdamond_cpu_s": max(last.get("kdamond_ticks", 0) - first.get("kdamond_ticks", 0), 0) / USER_HZ,
        "fc_quota_mib": quota / mib,
    }


def failcharge_table(results, variants):
    """Markdown: per-interval reclaim against the quota, per variant."""
    quota = next(iter(results.values()))["fc_quota_mib"]
    out = ["### failcharge", "",
           f"Hard quota {quota:g} MiB per 1 s interval; goal {FC_GOAL_BP} bp free on "
           "node 0 (DAMON_RECLAIM: its high watermark at the same level). Target: "
           ">= 95% of the quota in every interval until the goal.", "",
           "| | " + " | ".join(variants) + " |", "|---|" + "---|" * len(variants)]
    for label, key in FC_ROWS:
        out.append(f"| {label} | " + " | ".join(fmt(results[v][key]) for v in variants) + " |")
    if FC_BASELINE in variants:
        base = results[FC_BASELINE]
        out += ["", f"Ratios to {FC_BASELINE} (same invocation):", "",
                "| | " + " | ".join(variants) + " |", "|---|" + "---|" * len(variants)]
        for label, key in (("mean reclaim per interval", "fc_mean_mib"),
                           ("kdamond CPU time", "kdamond_cpu_s")):
            out.append(f"| {label} | " +
                       " | ".join(ratio(results[v][key], base[key]) for v in variants) + " |")
    return out


def fmt(v):
    if v != v:
        return "not reached"
    if float(v).is_integer() or abs(v) >= 100:
        return f"{v:,.0f}".replace(",", " ")
    return f"{v:.2f}"


def ratio(v, base):
    if base == 0:
        return "n/a" if v else "1.00"
    return f"{v / base:.2f}"


def table(scenario, results, variants):
    """Markdown: the RFC's table, then ratios to the baseline."""
    out = [f"### {scenario}", "", "| | " + " | ".join(variants) + " |",
           "|---|" + "---|" * len(variants)]
    for label, key, unit in ROWS:
        if key is None:
            out.append(f"| **{label}** |" + " |" * len(variants))
            continue
        out.append(f"| {label} ({unit}) | " +
                   " | ".join(fmt(results[v][key]) for v in variants) + " |")
    if BASELINE in variants:
        base = results[BASELINE]
        out += ["", f"Ratios to {BASELINE} (same invocation):", "",
                "| | " + " | ".join(variants) + " |",
                "|---|" + "---|" * len(variants)]
        for label, key in (("refaults (anon + file)", "refaults"),
                           ("kswapd + direct reclaim", "kernel_reclaim"),
                           ("memory PSI", "psi_memory"),
                           ("workload accesses/ms", "accesses_per_ms"),
                           ("kdamond CPU time", "kdamond_cpu_s")):
            out.append(f"| {label} | " +
                       " | ".join(ratio(results[v][key], base[key]) for v in variants) + " |")
    return out


def plot(outdir, scenario, series):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    panels = [("min_age (s)", lambda s: s.get("min_age_us", 0) / 1e6),
              ("effective quota (MiB)", lambda s: s.get("quota_sz", 0) / 2**20),
              ("goal score (bp)", lambda s: s.get("goal_bp", 0)),
              ("node 0 free (bp)", lambda s: s.get("free_bp", 0))]
    fig, axes = plt.subplots(len(panels) + 1, 1, figsize=(8, 11), sharex=True)
    for variant, samples in series.items():
        t = [s["t"] for s in samples]
        for ax, (title, f) in zip(axes, panels):
            ax.plot(t, [f(s) for s in samples], label=variant)
            ax.set_ylabel(title, fontsize=8)
        rate = [0.0] + [(b.get("damon_bytes", 0) - a.get("damon_bytes", 0)) / 2**20 /
                        max(b["t"] - a["t"], 1e-9) for a, b in zip(samples, samples[1:])]
        axes[-1].plot(t, rate, label=variant)
    axes[-1].set_ylabel("DAMON reclaim (MiB/s)", fontsize=8)
    axes[-1].set_xlabel("seconds")
    axes[0].legend(fontsize=7)
    fig.suptitle(scenario)
    path = os.path.join(outdir, f"{scenario}.png")
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def build(kernel, build_dir, out):
    """The module for `kernel` and the guest's static masim; returns the .ko."""
    os.makedirs(os.path.join(TOP, "out/guest-bin"), exist_ok=True)
    subprocess.run(["gcc", "-static", "-O2", "-Wall", "-o",
                    os.path.join(TOP, "out/guest-bin/masim"),
                    os.path.join(TOP, "tools/workload/masim.c")], check=True)
    if kernel == "test":
        subprocess.run(["make", "-s", "-C", TOP, "modules"], check=True)
        return os.path.join(TOP, "damon_autotune.ko")
    # Another kernel: build a copy of the sources, leaving the tree's .ko.
    src = os.path.join(out, "module-src")
    subprocess.run(["rsync", "-a", "--delete", "--exclude", "out", "--exclude", ".git",
                    "--exclude", "rust/host/target", TOP + "/", src + "/"], check=True)
    subprocess.run(["make", "-s", "-C", src, "clean"], check=False)
    subprocess.run(["make", "-s", "-C", src, f"KDIR={build_dir}", "modules"], check=True)
    return os.path.join(src, "damon_autotune.ko")


def run_one(args, cfg, scenario, variant):
    log = os.path.join(args.out, f"{scenario}-{variant}.log")
    cmd = [os.path.join(TOP, "tools/qemu/vm.sh"), "--log", log, "--timeout", str(args.timeout),
           "--mem", cfg["mem"], "--swap", cfg["swap"], "--append", "kunit.enable=0"]
    if scenario == "failcharge":
        cmd += ["--disk", cfg["mem"]]
    cmd += ["bench.sh", scenario, variant, str(cfg["scale"]), cfg["configs"].split("/")[-1]]
    cmd[1:1] = ["--kernel", args.kernel_image, "--module", str(args.module)]
    t0 = time.time()
    if not args.report_only:
        subprocess.run(cmd, check=False)
    samples, phases, start = parse_console(log)
    with open(os.path.join(args.out, f"{scenario}-{variant}.csv"), "w", newline="") as f:
        keys = sorted({k for s in samples for k in s})
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(samples)
    print(f"bench: {scenario}/{variant}: {len(samples)} samples, "
          f"VM {time.time() - t0:.0f} s", flush=True)
    return samples, phases, start


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--kernel", choices=["bench", "test"], default=None,
                    help="kernel build (default: bench, test with --quick)")
    ap.add_argument("--out", default=os.path.join(TOP, "out/bench"))
    ap.add_argument("--scenarios")
    ap.add_argument("--variants")
    ap.add_argument("--timeout", type=int, default=1800)
    ap.add_argument("--report-only", action="store_true",
                    help="boot nothing: rewrite the report from the console logs in --out")
    args = ap.parse_args()
    cfg = QUICK if args.quick else FULL
    kernel = args.kernel or ("test" if args.quick else "bench")
    build_dir = subprocess.run([os.path.join(TOP, "tools/kernel/prepare.sh"), "--dir", kernel],
                               capture_output=True, text=True, check=True).stdout.strip()
    args.kernel_image = os.path.join(build_dir, "arch/x86/boot/bzImage")
    os.makedirs(args.out, exist_ok=True)
    args.module = None
    if not args.report_only:
        subprocess.run([os.path.join(TOP, "tools/kernel/prepare.sh"), kernel], check=True)
        args.module = build(kernel, build_dir, args.out)
    scenarios = args.scenarios.split(",") if args.scenarios else (
        QUICK_SCENARIOS if args.quick else SCENARIOS)
    os.makedirs(args.out, exist_ok=True)
    start = time.time()
    report = ["# damon_autotune benchmark", "",
              f"Kernel: {kernel} build; VM {cfg['mem']}, swap {cfg['swap']} (virtio); "
              f"scale {cfg['scale']}; configurations in {cfg['configs']}.", ""]
    summary = []
    for scenario in scenarios:
        fc = scenario == "failcharge"
        variants = (args.variants.split(",") if args.variants
                    else FAILCHARGE_VARIANTS if fc else cfg["variants"])
        results, series = {}, {}
        for variant in variants:
            samples, phases, info = run_one(args, cfg, scenario, variant)
            results[variant] = (summarise_failcharge(samples, info) if fc
                                else summarise(samples, phases))
            series[variant] = samples
            summary.append(dict(scenario=scenario, variant=variant, **results[variant]))
        report += (failcharge_table(results, variants) if fc
                   else table(scenario, results, variants)) + [""]
        png = plot(args.out, scenario, series)
        if png:
            report += [f"![{scenario}]({os.path.basename(png)})", ""]
    report.append(f"Took {time.time() - start:.0f} s.")
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write("\n".join(report) + "\n")
    with open(os.path.join(args.out, "summary.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(dict.fromkeys(k for r in summary for k in r)))
        w.writeheader()
        w.writerows(summary)
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
