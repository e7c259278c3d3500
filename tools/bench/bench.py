#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The benchmark: every variant of every scenario in a fresh VM, one report.

    tools/bench/bench.py [--quick] [--check] [--kernel bench|test]
                         [--out DIR] [--scenarios a,b] [--variants a,b]
                         [--repeat N]

Each run boots the kernel, runs one guest script (tests/guest/bench.sh
SCENARIO VARIANT SCALE SET, or tests/guest/bench-tier.sh VARIANT SCALE)
and parses its "bench:" lines from the console. All runs of one
invocation use the same kernel build (the benchmark kernel: no debug
options, DAMON_RECLAIM built in and fixed by kernel/bench/*.patch), and
every figure is also given as a ratio to the scenario's baseline in the
same invocation: absolute numbers under QEMU TCG are not stable.

Writes DIR/report.md (tables in the DAMA RFC's layout, plus ratios),
DIR/summary.csv, one DIR/<scenario>-<variant>.csv time series per run, the
console logs, and DIR/<scenario>.png plots when matplotlib is installed.
With --repeat N, each variant runs N times (logs and time series
<scenario>-<variant>-rK.*) and every cell is the median of the N runs,
with their lowest and highest in brackets; the targets use the medians.

Scenarios:
- dama1, dama2: the DAMA RFC's, against DAMON_RECLAIM's defaults;
- failcharge: the fail-charge RFC's, reclaim per 1 s interval against a
  hard quota, with and without the charge ratio, against DAMON_RECLAIM
  with the same quota;
- tiering: a hot set on the slow node of two, the fast node filled with
  cold memory; damon_autotune's tiering against static DAMOS migrate
  schemes (what 6.12's DAMON offers without node goals) and nothing.

--quick is the smoke test (about 5 minutes): a small VM, short runs, two
variants of dama1 and of failcharge, ours of tiering. --check then checks
that every run finished with a clean console and that the numbers are
sane (not the targets), prints "test: ok|FAILED NAME" lines and, with
--counts FILE, writes "PASSED FAILED" there (tools/test.sh reads it).
"""
import argparse
import csv
import os
import subprocess
import sys
import time

from report import fmt, median_results, metric_table
from tiering import (CHURN_PCT_PER_MIN, TIME_RATIO, plot_tiering, summarise_tiering,
                     tiering_table)

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Per mode: the reclaim scenarios' VM and scale (one factor for phase
# lengths and every age-like parameter), and each scenario's variants and
# run length (None: the workload's own).
FULL = dict(mem="1024M", swap="2G", scale=0.1, configs="samples/bench/full",
            variants=dict(
                dama1=["reclaim_default", "none", "reclaim_custom", "autotune_min_age",
                       "autotune_min_age_wm", "autotune_free_goal", "reclaim_default_wm0",
                       "autotune_min_age_dama_wm"],
                dama2=["reclaim_default", "none", "reclaim_custom", "autotune_min_age",
                       "autotune_min_age_wm", "autotune_free_goal", "reclaim_default_wm0",
                       "autotune_min_age_dama_wm"],
                failcharge=["reclaim_quota", "failcharge_off", "failcharge_on"],
                tiering=["damon_static", "none", "autotune_tier"]),
            seconds=dict(failcharge=60, tiering=180))
QUICK = dict(mem="512M", swap="1G", scale=0.1, configs="samples/bench/quick",
             variants=dict(
                 dama1=["reclaim_default", "autotune_min_age"],
                 failcharge=["reclaim_quota", "failcharge_on"],
                 tiering=["autotune_tier"]),
             seconds=dict(failcharge=30, tiering=45))
SCENARIOS = ["dama1", "dama2", "failcharge", "tiering"]
# The tiering VM: two NUMA nodes of 512 MiB, no swap.
TIER_VM = ["--numa", "2", "--mem", "1024M"]
BASELINE = "reclaim_default"
# The baseline of the variants with the low watermark 0 (_wm).
WM0_BASELINE = "reclaim_default_wm0"
# autotune_free_goal's goal (tests/guest/bench.sh): node 0's free memory.
FREE_GOAL_BP = 1000
# The fail-charge ratios are against the same module and quota without the
# ratio (the RFC's before/after). DAMON_RECLAIM with the quota is shown
# too, but 6.12's core leaves its first quota window unlimited (esz 0), in
# which it tries every region at once.
FC_BASELINE = "failcharge_off"
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
    ("NODE 0 FREE, 2ND HALF", None, None),
    ("MEAN", "free_bp_steady", "bp"),
    (f"MEAN DISTANCE TO {FREE_GOAL_BP} bp", "free_goal_dev_bp", "bp"),
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
    # Node 0's free memory in the second half, against the free-memory
    # goal of autotune_free_goal (the others have no goal: for reference).
    steady = [s.get("free_bp", 0) for s in samples[len(samples) // 2:]]
    m["free_bp_steady"] = sum(steady) / len(steady)
    m["free_goal_dev_bp"] = sum(abs(v - FREE_GOAL_BP) for v in steady) / len(steady)
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
           ">= 95% of the quota in every interval until the goal.", ""]
    return out + metric_table(results, variants, FC_ROWS, FC_BASELINE,
                              [("mean reclaim per interval", "fc_mean_mib"),
                               ("kdamond CPU time", "kdamond_cpu_s")])


def table(scenario, results, variants):
    """Markdown: the RFC's table, then ratios to the baseline."""
    rows = [(label if key is None else f"{label} ({unit})", key) for label, key, unit in ROWS]
    return [f"### {scenario}", ""] + metric_table(
        results, variants, rows, BASELINE,
        [("refaults (anon + file)", "refaults"),
         ("kswapd + direct reclaim", "kernel_reclaim"),
         ("memory PSI", "psi_memory"),
         ("workload accesses/ms", "accesses_per_ms"),
         ("kdamond CPU time", "kdamond_cpu_s")])


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


def run_one(args, cfg, scenario, variant, rep=None):
    """Boots one VM for SCENARIO/VARIANT (unless --report-only) and parses
    its console; returns (samples, phases, start, log path). REP (1, 2,
    ...) names the run of a repeated variant."""
    name = f"{scenario}-{variant}" + (f"-r{rep}" if rep else "")
    log = os.path.join(args.out, f"{name}.log")
    seconds = cfg["seconds"].get(scenario)
    cmd = [os.path.join(TOP, "tools/qemu/vm.sh"), "--kernel", args.kernel_image,
           "--module", str(args.module), "--log", log, "--timeout", str(args.timeout),
           "--append", "kunit.enable=0"]
    if scenario == "tiering":
        cmd += TIER_VM + ["bench-tier.sh", variant, str(cfg["scale"])]
    else:
        cmd += ["--mem", cfg["mem"], "--swap", cfg["swap"]]
        if scenario == "failcharge":
            cmd += ["--disk", cfg["mem"]]
        cmd += ["bench.sh", scenario, variant, str(cfg["scale"]),
                cfg["configs"].split("/")[-1]]
    if seconds:
        cmd.append(str(seconds))
    t0 = time.time()
    if not args.report_only:
        subprocess.run(cmd, check=False)
        try:
            parse_console(log)
        except RuntimeError as e:
            # A run under heavy memory pressure in TCG can fail on its own
            # (the OOM killer). The smoke test (--check) never hides that
            # with a second run: the failure is its result. The benchmark
            # runs it once more, keeping the failed log, and says so.
            if args.check:
                raise
            print(f"bench: {scenario}/{variant}: {e}; running it again "
                  f"(the failed log is {log}.failed)", flush=True)
            os.replace(log, log + ".failed")
            subprocess.run(cmd, check=False)
    samples, phases, start = parse_console(log)
    with open(os.path.join(args.out, f"{name}.csv"), "w", newline="") as f:
        keys = sorted({k for s in samples for k in s})
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(samples)
    print(f"bench: {name}: {len(samples)} samples, "
          f"VM {time.time() - t0:.0f} s", flush=True)
    return samples, phases, start, log


def run_scenario(args, cfg, scenario, variants):
    """Every variant of SCENARIO; returns (results, report lines, runs).
    A run that did not finish is left out of the tables and listed in runs
    with its error."""
    results, series, runs = {}, {}, []
    reps = [None] if args.repeat <= 1 else list(range(1, args.repeat + 1))
    for variant in variants:
        each = []
        for rep in reps:
            name = f"{scenario}-{variant}" + (f"-r{rep}" if rep else "")
            try:
                samples, phases, info, log = run_one(args, cfg, scenario, variant, rep)
            except (OSError, RuntimeError) as e:
                print(f"bench: {name}: {e}", flush=True)
                runs.append(dict(scenario=scenario, variant=variant, error=str(e),
                                 log=os.path.join(args.out, f"{name}.log")))
                continue
            if scenario == "failcharge":
                m = summarise_failcharge(samples, info)
            elif scenario == "tiering":
                m = summarise_tiering(samples, info)
            else:
                m = summarise(samples, phases)
            each.append(m)
            series.setdefault(variant, samples)
            runs.append(dict(scenario=scenario, variant=variant, error=None, log=log,
                             samples=len(samples), phases=phases, start=info,
                             seconds=samples[-1]["t"] - samples[0]["t"], result=m))
        if each:
            results[variant] = each[0] if len(each) == 1 else median_results(each)
    done = [v for v in variants if v in results]
    if not done:
        lines = [f"### {scenario}", ""]
    elif scenario == "failcharge":
        lines = failcharge_table(results, done)
    elif scenario == "tiering":
        lines = tiering_table(results, done)
    else:
        lines = table(scenario, results, done)
    png = done and (plot_tiering(args.out, series) if scenario == "tiering"
                    else plot(args.out, scenario, series))
    if args.repeat > 1 and done:
        lines += ["", f"Medians of {args.repeat} runs per variant, lowest-highest in brackets "
                  "(runs that finished: " +
                  ", ".join(f"{v} {results[v]['_runs']}" for v in done) +
                  "); the plot shows each variant's first run."]
    if png:
        lines += ["", f"![{scenario}]({os.path.basename(png)})"]
    again = [v for v in variants for rep in reps
             if os.path.exists(os.path.join(
                 args.out, f"{scenario}-{v}" + (f"-r{rep}" if rep else "") + ".log.failed"))]
    if again:
        lines += ["", f"Run a second time after a first run that did not finish: "
                  f"{', '.join(again)} (the first run's log: *.log.failed)."]
    missing = [v for v in variants if v not in results]
    if missing:
        lines += ["", f"Runs that did not finish: {', '.join(missing)} (see their logs)."]
    return results, lines + [""], runs


class ZeroBase:
    """A ratio whose baseline measured 0 (e.g. an idle kdamond): only the
    value is shown."""

    def __init__(self, v):
        self.v = v


def targets(res):
    """The issue's targets against what was measured: Markdown lines, one
    row each (target, measured, met). RES: scenario -> variant -> metrics;
    a target whose runs are missing is listed as not measured."""
    rows = []

    def rel(sc, v, base, key):
        r = res.get(sc, {})
        if v not in r or base not in r:
            return None
        if r[base][key] == 0:
            return ZeroBase(r[v][key])
        return r[v][key] / r[base][key]

    def row(what, value, ok, shown=None):
        if value is None:
            rows.append(f"| {what} | not measured | - |")
        elif isinstance(value, ZeroBase):
            rows.append(f"| {what} | {fmt(value.v)} against 0 | no ratio |")
        else:
            rows.append(f"| {what} | {shown or f'{value:.2f}'} | {'met' if ok(value) else 'MISSED'} |")

    for sc in ("dama1", "dama2"):
        for v in ("autotune_min_age", "autotune_min_age_wm", "autotune_min_age_dama_wm"):
            # Against DAMON_RECLAIM with the same watermarks, when it ran.
            base = BASELINE
            if v.endswith("_wm") and WM0_BASELINE in res.get(sc, {}):
                base = WM0_BASELINE
            row(f"{sc}: {v} refaults <= 0.40x {base}", rel(sc, v, base, "refaults"),
                lambda x: x <= 0.40)
            row(f"{sc}: {v} kswapd + direct <= 0.35x {base}",
                rel(sc, v, base, "kernel_reclaim"), lambda x: x <= 0.35)
            row(f"{sc}: {v} memory PSI no worse (<= 1.00x {base})",
                rel(sc, v, base, "psi_memory"), lambda x: x <= 1.0)
            row(f"{sc}: {v} accesses/ms no worse (>= 1.00x {base})",
                rel(sc, v, base, "accesses_per_ms"), lambda x: x >= 1.0)
        for v in ("autotune_min_age", "autotune_min_age_wm", "autotune_free_goal"):
            row(f"{sc}: {v} kdamond CPU <= 1.05x", rel(sc, v, BASELINE, "kdamond_cpu_s"),
                lambda x: x <= 1.05)
        fg = res.get(sc, {}).get("autotune_free_goal")
        row(f"{sc}: free-memory goal ({FREE_GOAL_BP} bp) held within +-100 bp",
            fg and fg["free_goal_dev_bp"], lambda x: x <= 100,
            fg and f"mean distance {fg['free_goal_dev_bp']:.0f} bp")
    fc = res.get("failcharge", {}).get("failcharge_on")
    row("failcharge: >= 95% of the quota in every interval", fc and fc["fc_full_pct"],
        lambda x: x >= 100, fc and f"{fc['fc_full_pct']:.0f}% of intervals")
    tier = res.get("tiering", {}).get("autotune_tier")
    row("tiering: >= 95% of the hot set on the fast node", tier and tier["hot_end_pct"],
        lambda x: x >= 95, tier and f"{tier['hot_end_pct']:.0f}%")
    row("tiering: fast node used bp within +-50 of the goal", tier and tier["used0_mad_bp"],
        lambda x: x <= 50, tier and f"mean distance {tier['used0_mad_bp']:.0f} bp")
    t95 = rel("tiering", "autotune_tier", "damon_static", "hot_95_s")
    row(f"tiering: time to >= 95% <= {TIME_RATIO:g}x damon_static's", t95,
        lambda x: x <= TIME_RATIO)
    row(f"tiering: migration in steady state < {CHURN_PCT_PER_MIN:g}% of the hot set per minute",
        tier and tier["steady_churn_pct_min"], lambda x: x < CHURN_PCT_PER_MIN,
        tier and f"{tier['steady_churn_pct_min']:.2f}% per minute "
        f"({tier['steady_migrated_mib']:.1f} MiB)")
    row("tiering: kdamond CPU <= 1.00x damon_static",
        rel("tiering", "autotune_tier", "damon_static", "kdamond_cpu_s"), lambda x: x <= 1.0)
    return ["### Targets", "", "Ratios are damon_autotune's against the baseline of the same "
            "scenario and invocation.", "", "| target | measured | |", "|---|---|---|"] + rows + [""]


def sanity(runs):
    """The smoke test's checks: (name, ok, why) for each. They check that
    the pipeline works and the numbers are possible, not the targets."""
    out = []

    def check(name, ok, why=""):
        out.append((name, bool(ok), "" if ok else why))

    for r in runs:
        name = f"bench_{r['scenario']}_{r['variant']}"
        check(f"{name}_finished", r["error"] is None, r["error"] or "")
        if r["error"] is not None:
            continue
        clean = subprocess.run([os.path.join(TOP, "tools/qemu/check-console.py"), r["log"]],
                               capture_output=True, text=True)
        check(f"{name}_console_clean", clean.returncode == 0,
              clean.stdout.strip().splitlines()[-1:] and clean.stdout.strip().splitlines()[-1])
        check(f"{name}_sampled", r["samples"] >= 10, f"{r['samples']} samples")
        m, v, sc = r["result"], r["variant"], r["scenario"]
        damon = v != "none"
        if sc in ("dama1", "dama2"):
            check(f"{name}_workload_ran", r["phases"] and all(rate > 0 for _, rate in r["phases"]),
                  f"phases {r['phases'][:3]}")
            check(f"{name}_psi_in_range",
                  all(0 <= m[k] <= 100 for k in ("psi_cpu", "psi_io", "psi_memory")),
                  f"cpu {m['psi_cpu']:.1f} io {m['psi_io']:.1f} mem {m['psi_memory']:.1f}")
        elif sc == "failcharge":
            # Watermarks always active and min_age 0: every variant reclaims
            # (DAMON_RECLAIM only with kernel/bench/'s fix).
            check(f"{name}_reclaimed", 0 < m["fc_reclaimed_mib"] <= m["fc_tried_mib"],
                  f"reclaimed {m['fc_reclaimed_mib']:.1f} of {m['fc_tried_mib']:.1f} MiB tried")
            check(f"{name}_kdamond_cpu_sane", 0 < m["kdamond_cpu_s"] <= 2 * r["seconds"],
                  f"{m['kdamond_cpu_s']:.2f} s in {r['seconds']:.0f} s")
        elif sc == "tiering" and damon:
            # Whether anything moved is tests/guest/tier.sh's to check (and
            # the report's): at 45 s this scenario's promotion may not have
            # started yet (see the report).
            check(f"{name}_kdamonds_ran", 0 < m["kdamond_cpu_s"] <= 2 * r["seconds"],
                  f"{m['kdamond_cpu_s']:.2f} s in {r['seconds']:.0f} s")
            check(f"{name}_shares_in_range",
                  all(0 <= m.get(k, -1) <= 100 for k in ("hot_end_pct", "cold_end_pct")),
                  f"hot {m.get('hot_end_pct')} cold {m.get('cold_end_pct')}")
        if damon and sc != "tiering":
            # The sampler found the variant's kdamond (its CPU time is read
            # from it).
            check(f"{name}_kdamond_found", int(r["start"].get("kdamond", -1)) > 0,
                  f"kdamond={r['start'].get('kdamond')}")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--check", action="store_true",
                    help="check the runs and numbers are sane (the smoke test)")
    ap.add_argument("--counts", help="with --check: write 'PASSED FAILED' here")
    ap.add_argument("--kernel", choices=["bench", "test"], default="bench",
                    help="kernel build (default: bench)")
    ap.add_argument("--out", default=None,
                    help="default out/bench, or out/bench-quick with --quick")
    ap.add_argument("--scenarios")
    ap.add_argument("--variants")
    ap.add_argument("--timeout", type=int, default=1800)
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per variant; the report gives medians and ranges")
    ap.add_argument("--report-only", action="store_true",
                    help="boot nothing: rewrite the report from the console logs in --out")
    args = ap.parse_args()
    cfg = QUICK if args.quick else FULL
    args.out = args.out or os.path.join(TOP, "out/bench-quick" if args.quick else "out/bench")
    build_dir = subprocess.run([os.path.join(TOP, "tools/kernel/prepare.sh"), "--dir", args.kernel],
                               capture_output=True, text=True, check=True).stdout.strip()
    args.kernel_image = os.path.join(build_dir, "arch/x86/boot/bzImage")
    os.makedirs(args.out, exist_ok=True)
    args.module = None
    if not args.report_only:
        subprocess.run([os.path.join(TOP, "tools/kernel/prepare.sh"), args.kernel], check=True)
        args.module = build(args.kernel, build_dir, args.out)
    scenarios = args.scenarios.split(",") if args.scenarios else [
        s for s in SCENARIOS if s in cfg["variants"]]
    start = time.time()
    report = ["# damon_autotune benchmark", "",
              f"Kernel: {args.kernel} build; reclaim scenarios: VM {cfg['mem']}, swap "
              f"{cfg['swap']} (virtio), configurations in {cfg['configs']}; tiering: "
              f"two NUMA nodes of 512 MiB; scale {cfg['scale']} (phase lengths and "
              "every age-like parameter).", ""]
    summary, runs, everything = [], [], {}
    for scenario in scenarios:
        variants = (args.variants.split(",") if args.variants
                    else cfg["variants"][scenario])
        results, lines, scenario_runs = run_scenario(args, cfg, scenario, variants)
        report += lines
        runs += scenario_runs
        everything[scenario] = results
        summary += [dict(scenario=scenario, variant=v,
                         **{k: x for k, x in r.items() if not k.startswith("_")})
                    for v, r in results.items()]
    # The targets first: the report is what a user reads first.
    report[4:4] = targets(everything)
    took = os.path.join(args.out, "took.txt")
    if args.report_only:
        with open(took) if os.path.exists(took) else open(os.devnull) as f:
            ran = f.read().strip() or "unknown"
        report.append(f"The runs took {ran} s; report rewritten from their logs.")
    else:
        with open(took, "w") as f:
            f.write(f"{time.time() - start:.0f}\n")
        report.append(f"Took {time.time() - start:.0f} s.")
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write("\n".join(report) + "\n")
    with open(os.path.join(args.out, "summary.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(dict.fromkeys(k for r in summary for k in r)))
        w.writeheader()
        w.writerows(summary)
    print("\n".join(report))
    if not args.check:
        return 0 if all(r["error"] is None for r in runs) else 1
    checks = sanity(runs)
    for name, ok, why in checks:
        print(f"test: ok {name}" if ok else f"test: FAILED {name}: {why}")
    passed = sum(ok for _, ok, _ in checks)
    if args.counts:
        with open(args.counts, "w") as f:
            f.write(f"{passed} {len(checks) - passed}\n")
    return 0 if passed == len(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
