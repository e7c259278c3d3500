#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The benchmark: every variant of every scenario in a fresh VM, one report.

    tools/bench/bench.py [--quick] [--check] [--kernel bench|test]
                         [--out DIR] [--scenarios a,b] [--variants a,b]
                         [--repeats N] [--report-only]

Each run boots the kernel, runs one guest script (tests/guest/bench.sh
SCENARIO VARIANT SCALE SET, or tests/guest/bench-tier.sh VARIANT SCALE)
and parses its "bench:" lines from the console. All runs of one
invocation use the same kernel build (the benchmark kernel: no debug
options, DAMON_RECLAIM built in and fixed by kernel/bench/*.patch), and
every figure is compared with the scenario's baseline in the same
invocation: absolute numbers under QEMU TCG are not stable.

Writes DIR/report.md (the targets, then tables in the DAMA RFC's layout),
DIR/summary.csv (one row per run), one DIR/<scenario>-<variant>[-rK].csv
time series per run (K: the repeat, from 2), the console logs, and
DIR/<scenario>.png plots (each variant's first run) when matplotlib is
installed.

Scenarios:
- dama1, dama2: the DAMA RFC's; reuse: ours, sixteen regions whose reuse
  intervals spread over 1 to 16 phases (tools/bench/configs.py). Their
  baseline is DAMON_RECLAIM with the watermarks the tuner uses (low
  watermark 0: with its 20% the defaults never reclaim here), at its
  default min_age; against it DAMON_RECLAIM at a shorter fixed min_age,
  a sweep of fixed min_ages of damon_autotune (fixed_N: N seconds,
  scaled) whose best point in hindsight is the oracle, our min_age
  controller (autotune_min_age_wm), DAMA's (autotune_min_age_dama_wm),
  and no DAMON at all;
- failcharge: the fail-charge RFC's, reclaim per 1 s interval against a
  hard quota, with and without the charge ratio, against DAMON_RECLAIM
  with the same quota;
- tiering: a hot set on the slow node of two, the fast node filled with
  cold memory; damon_autotune's tiering against static DAMOS migrate
  schemes (what 6.12's DAMON offers without node goals) and nothing.

Repeats (--repeats N, default 3 in the full mode, 1 with --quick): the
reclaim scenarios' compared variants (the baseline, both controllers and
the sweep's best point) run N times, the others once; repeat 1 of every
scenario runs before repeat 2 of any, and the sweep point repeated is the
one with the lowest refaults + kswapd + direct reclaim in repeat 1. Every
cell is the median with the lowest and highest run; a ratio is given only
when the runs' ranges do not overlap (scaled by the target's factor for a
target), "within noise" otherwise (tools/bench/report.py). failcharge and
tiering run once. With --variants, every variant named runs N times.
The planned VM time (runs x seconds) is printed before the first run.

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

from report import (FEW, NOISE, cell_of, choose_oracle, compare, comparison, fmt,
                    metric_table, ratio_text)
from tiering import (CHURN_PCT_PER_MIN, TIME_RATIO, plot_tiering, summarise_tiering,
                     tiering_table)

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The reclaim scenarios' variants (tests/guest/bench.sh sets them up).
# BASELINE: DAMON_RECLAIM at its default min_age (120 s, scaled) with the
# low watermark the tuned variants use (0); SHORT: the same at 60 s; OURS
# and DAMA: the two min_age controllers (their autotune_min_age_algo values
# are ALGO_OURS and ALGO_DAMA in bench.sh); SWEEP: damon_autotune at fixed
# min_ages (seconds, scaled), twice apart, straddling the scenarios' phase
# lengths (30 s) and reuse intervals (30 s to 8 minutes) rather than
# landing on them; ORACLE stands, in a repeat plan, for the sweep's best
# point so far.
BASELINE = "reclaim_default_wm0"
SHORT = "reclaim_custom_wm0"
OURS = "autotune_min_age_wm"
DAMA = "autotune_min_age_dama_wm"
SWEEP = [f"fixed_{n}" for n in (10, 20, 40, 80, 160)]
ORACLE = "oracle"
RECLAIM = ["dama1", "dama2", "reuse"]
RECLAIM_FULL = ["none", BASELINE, SHORT] + SWEEP + [OURS, DAMA]
# The old baseline (DAMON_RECLAIM's 20% low watermark), for --variants.
OLD_BASELINE = "reclaim_default"
# Per mode: the reclaim scenarios' VM and scale (one factor for phase
# lengths and every age-like parameter), each scenario's variants, the
# variants run in repeats after the first, and run lengths (None: the
# workload's own).
#
# The full mode fits 90 minutes on 2 cores (--repeats 3): 3 reclaim
# scenarios x (10 variants + 2 x 4 repeated) runs of 60 s (the first
# 60 s of each workload: 10 of dama1's loops, 5 of dama2's, 20 of
# reuse's phases, so each of dama1's and dama2's revisits happens 5 times
# or more, reuse's regions with periods up to 10 phases are revisited,
# those of 11 to 16 once or not at all), failcharge 3 x 60 s, tiering
# 3 x 180 s: 60 runs, 86 minutes planned with each VM's boot and set-up
# (VM_OVERHEAD_S), plus the module's build.
FULL = dict(mem="1024M", swap="2G", scale=0.1, configs="samples/bench/full",
            variants=dict(dama1=RECLAIM_FULL, dama2=RECLAIM_FULL, reuse=RECLAIM_FULL,
                          failcharge=["reclaim_quota", "failcharge_off", "failcharge_on"],
                          tiering=["damon_static", "none", "autotune_tier"]),
            repeated=dict(dama1=[BASELINE, OURS, DAMA, ORACLE],
                          dama2=[BASELINE, OURS, DAMA, ORACLE],
                          reuse=[BASELINE, OURS, DAMA, ORACLE]),
            repeats=3,
            seconds=dict(dama1=60, dama2=60, reuse=60, failcharge=60, tiering=180))
QUICK = dict(mem="512M", swap="1G", scale=0.1, configs="samples/bench/quick",
             variants=dict(
                 dama1=[BASELINE, OURS],
                 failcharge=["reclaim_quota", "failcharge_on"],
                 tiering=["autotune_tier"]),
             repeated={}, repeats=1,
             seconds=dict(failcharge=30, tiering=45))
SCENARIOS = ["dama1", "dama2", "reuse", "failcharge", "tiering"]
# Seconds each VM takes beyond its run: boot, swap, set-up, the last
# sample (measured: see the README's benchmark section).
VM_OVERHEAD_S = 20
# The full mode's budget: the plan is printed against it.
BUDGET_S = 90 * 60
# The tiering VM: two NUMA nodes of 512 MiB, no swap.
TIER_VM = ["--numa", "2", "--mem", "1024M"]
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
    ("MIN_AGE (damon_autotune's current_min_age)", None, None),
    ("MEAN, 2ND HALF", "min_age_mean2_s", "s"),
    ("AT THE END", "min_age_end_s", "s"),
    ("COST (the oracle's measure)", None, None),
    ("REFAULTS + KSWAPD + DIRECT", "cost", "pages"),
    ("NODE 0 FREE, 2ND HALF", None, None),
    ("MEAN", "free_bp_steady", "bp"),
    (f"MEAN DISTANCE TO {FREE_GOAL_BP} bp", "free_goal_dev_bp", "bp"),
    ("GOAL SATURATED (share of the samples)", "goal_saturated_pct", "%"),
    ("WANTED / EFFECTIVE QUOTA, MEAN", "wanted_over_quota", "x"),
]


class GuestError(RuntimeError):
    """The guest refused the variant ("bench: error": a module parameter
    refused or missing, a set-up step failed): running it again gives the
    same, so it is neither retried nor repeated."""


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
                raise GuestError(f"{path}: guest error: {rest}")
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
    m["cost"] = m["refaults"] + m["kernel_reclaim"]
    # damon_autotune's min_age in effect (0 for the others: DAMON_RECLAIM
    # has no current_min_age).
    ages = [s.get("min_age_us", 0) / 1e6 for s in samples]
    m["min_age_end_s"] = ages[-1]
    m["min_age_mean2_s"] = sum(ages[len(ages) // 2:]) / len(ages[len(ages) // 2:])
    m["seconds"] = secs
    # Node 0's free memory in the second half, against the free-memory
    # goal of autotune_free_goal (the others have no goal: for reference).
    steady = [s.get("free_bp", 0) for s in samples[len(samples) // 2:]]
    m["free_bp_steady"] = sum(steady) / len(steady)
    m["free_goal_dev_bp"] = sum(abs(v - FREE_GOAL_BP) for v in steady) / len(steady)
    # Whether the goal controller was capped there (damon_autotune's
    # nr_quota_saturated, wanted_quota_sz): the share of the second half's
    # samples in which the saturation count rose, and how much more it
    # wanted than the core let it charge.
    half = samples[len(samples) // 2:]
    rose = sum(1 for a, b in zip(half, half[1:]) if b.get("saturated", 0) > a.get("saturated", 0))
    m["goal_saturated_pct"] = 100.0 * rose / max(len(half) - 1, 1)
    ratios = [s["wanted_sz"] / s["quota_sz"] for s in half
              if s.get("quota_sz", 0) > 0 and "wanted_sz" in s]
    m["wanted_over_quota"] = sum(ratios) / len(ratios) if ratios else 0.0
    return m


FC_ROWS = [
    ("reclaimed per interval, mean (MiB)", "fc_mean_mib"),
    ("reclaimed per interval, lowest (MiB)", "fc_min_mib"),
    ("intervals at >= 95% of the quota (%)", "fc_full_pct"),
    ("charge windows at >= 95% of the quota (%)", "fc_win_full_pct"),
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
    so each sample's delta is scaled to one second; a sample that straddles
    two windows counts a part of each. damon_autotune's
    bytes_reclaimed_last_interval gives each window's own figure."""
    quota = float(start.get("fc_quota", 0)) or 1.0
    rates, goal_t, windows = [], None, []
    for a, b in zip(samples, samples[1:]):
        if a.get("free_bp", 0) >= FC_GOAL_BP:
            goal_t = a["t"] - samples[0]["t"]
            break
        dt = max(b["t"] - a["t"], 1e-9)
        rates.append((b.get("damon_bytes", 0) - a.get("damon_bytes", 0)) / dt)
        # damon_autotune's own count per charge window (-1: a variant
        # without it), from the first window that closed.
        if b.get("last_window", -1) >= 0 and (windows or b["last_window"] > 0):
            windows.append(b["last_window"])
    first, last = samples[0], samples[-1]
    mib = 2.0 ** 20
    return {
        "fc_mean_mib": sum(rates) / len(rates) / mib if rates else 0.0,
        "fc_min_mib": min(rates) / mib if rates else 0.0,
        "fc_full_pct": 100.0 * sum(r >= 0.95 * quota for r in rates) / len(rates) if rates else 0.0,
        "fc_win_full_pct": (100.0 * sum(w >= 0.95 * quota for w in windows) / len(windows)
                            if windows else float("nan")),
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


# The reclaim tables' comparisons with the baseline: (label, key, lower
# is better).
RATIO_ROWS = [("refaults (anon + file)", "refaults", True),
              ("kswapd + direct reclaim", "kernel_reclaim", True),
              ("refaults + kswapd + direct", "cost", True),
              ("memory PSI", "psi_memory", True),
              ("workload accesses/ms", "accesses_per_ms", False),
              ("kdamond CPU time", "kdamond_cpu_s", True)]


def reclaim_base(runs):
    """The baseline of a reclaim scenario's RUNS (variant -> list of
    metrics): DAMON_RECLAIM with the low watermark 0, else with its
    defaults (an old run, or --variants)."""
    return next((b for b in (BASELINE, OLD_BASELINE) if runs.get(b)), None)


def values(runs, variant, key):
    return [m[key] for m in runs.get(variant, [])]


def table(scenario, runs, variants):
    """Markdown: the RFC's table (medians and ranges over the runs), the
    comparisons with the baseline, and the sweep with its oracle. RUNS:
    variant -> list of the metrics of each run that finished."""
    rows = [(label if key is None else f"{label} ({unit})", key) for label, key, unit in ROWS]
    head = ["| | " + " | ".join(variants) + " |", "|---|" + "---|" * len(variants)]
    out = [f"### {scenario}", "", "Each cell: the median of the runs, with the lowest and "
           "highest in brackets when they differ.", ""] + head
    out.append("| runs | " + " | ".join(str(len(runs[v])) for v in variants) + " |")
    for label, key in rows:
        if key is None:
            out.append(f"| **{label}** |" + " |" * len(variants))
        else:
            out.append(f"| {label} | " + " | ".join(cell_of(values(runs, v, key))
                                                    for v in variants) + " |")
    base = reclaim_base(runs)
    if base:
        out += ["", f"Against {base} (same invocation): the ratio of the medians, with the "
                "lowest and highest ratio between runs, when the runs' ranges do not "
                "overlap; \"within noise\" when they do, \"too few runs\" with fewer than "
                "two on a side.", ""] + head
        for label, key, lower in RATIO_ROWS:
            out.append(f"| {label} | " + " | ".join(
                "baseline" if v == base else
                comparison(values(runs, v, key), values(runs, base, key), 1.0, lower)
                for v in variants) + " |")
    sweep = {v: values(runs, v, "cost") for v in SWEEP if runs.get(v)}
    oracle = choose_oracle(sweep)
    if oracle:
        out += ["", "The min_age sweep (damon_autotune, min_age fixed, low watermark 0), "
                "refaults + kswapd + direct reclaim: " +
                "; ".join(f"{v} {cell_of(c)} ({len(c)} run{'s' * (len(c) > 1)})"
                          for v, c in sweep.items()) +
                f". The oracle (the best in hindsight among the points with the most runs): "
                f"**{oracle}**."]
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


def run_name(scenario, variant, rep):
    """The file name stem of one run: repeats from the second get -rK."""
    return f"{scenario}-{variant}" + (f"-r{rep}" if rep > 1 else "")


def run_seconds(cfg, scenario):
    """The length of SCENARIO's runs in CFG's mode: its seconds, else the
    workload configuration's own length."""
    if cfg["seconds"].get(scenario):
        return cfg["seconds"][scenario]
    with open(os.path.join(TOP, cfg["configs"], f"{scenario}.cfg")) as f:
        return sum(int(line) for line in f if line.strip().isdigit()) // 1000


def run_one(args, cfg, scenario, variant, rep):
    """Boots one VM for SCENARIO/VARIANT (unless --report-only) and parses
    its console; returns (samples, phases, start, log path). REP (1, 2,
    ...) is the repeat."""
    name = run_name(scenario, variant, rep)
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
        except GuestError:
            raise
        except RuntimeError as e:
            # A run under heavy memory pressure in TCG can fail on its own
            # (the OOM killer). The smoke test (--check) never hides that
            # with a second run: the failure is its result. The benchmark
            # runs it once more, keeping the failed log, and says so.
            if args.check:
                raise
            print(f"bench: {name}: {e}; running it again "
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


def plan(args, cfg, scenarios):
    """The runs of this invocation: a list of (repeat, scenario, variant),
    repeat 1 of every scenario first; ORACLE stands for the sweep's best
    point, chosen when its repeat comes."""
    out = []
    for rep in range(1, args.repeats + 1):
        for sc in scenarios:
            if args.variants:
                names = args.variants.split(",")
            elif rep == 1:
                names = cfg["variants"][sc]
            else:
                names = cfg["repeated"].get(sc, [])
            out += [(rep, sc, v) for v in names]
    return out


def resolve(variant, runs):
    """The variant a planned run stands for: ORACLE is the sweep point
    with the lowest refaults + kswapd + direct so far (None: no sweep
    point finished)."""
    if variant != ORACLE:
        return variant
    return choose_oracle({v: [m["cost"] for m in runs.get(v, [])] for v in SWEEP})


def run_all(args, cfg, scenarios):
    """Runs the plan. Returns (runs: scenario -> variant -> list of
    (metrics, samples), errors: (scenario, variant) -> text, checked: the
    run records of sanity())."""
    todo = plan(args, cfg, scenarios)
    secs = sum(run_seconds(cfg, sc) + VM_OVERHEAD_S for _, sc, _ in todo)
    args.planned = (len(todo), secs)
    print(f"bench: plan: {len(todo)} runs, about {secs} s of VM time ({secs / 60:.0f} min"
          f", {VM_OVERHEAD_S} s per VM beyond its run)"
          + (f"; over the full mode's {BUDGET_S // 60} min" if secs > BUDGET_S else ""),
          flush=True)
    runs, errors, checked, refused = {}, {}, [], set()
    for rep, sc, planned in todo:
        by = runs.setdefault(sc, {})
        variant = resolve(planned, {v: [m for m, _ in r] for v, r in by.items()})
        if variant is None:
            print(f"bench: {sc}: no sweep point finished, no oracle to repeat", flush=True)
            continue
        if (sc, variant) in refused:
            print(f"bench: {run_name(sc, variant, rep)}: skipped, refused before: "
                  f"{errors[(sc, variant)]}", flush=True)
            continue
        name = run_name(sc, variant, rep)
        log = os.path.join(args.out, f"{name}.log")
        try:
            samples, phases, info, log = run_one(args, cfg, sc, variant, rep)
        except (OSError, RuntimeError) as e:
            print(f"bench: {name}: {e}", flush=True)
            if isinstance(e, GuestError):
                refused.add((sc, variant))
            errors.setdefault((sc, variant), str(e).split(": ", 1)[-1])
            checked.append(dict(scenario=sc, variant=variant, error=str(e), log=log))
            continue
        if sc == "failcharge":
            m = summarise_failcharge(samples, info)
        elif sc == "tiering":
            m = summarise_tiering(samples, info)
        else:
            m = summarise(samples, phases)
        m["rep"] = rep
        by.setdefault(variant, []).append((m, samples))
        checked.append(dict(scenario=sc, variant=variant, error=None, log=log,
                            samples=len(samples), phases=phases, start=info,
                            seconds=samples[-1]["t"] - samples[0]["t"], result=m))
    return runs, errors, checked


# Points of a min_age trajectory in the report (the CSVs have them all).
TRAJECTORY_POINTS = 11


def trajectories(by, variants):
    """Markdown lines: the min_age in effect over each run of the tuned
    variants among VARIANTS, at TRAJECTORY_POINTS evenly spaced times."""
    out = []
    for v in variants:
        if not v.startswith("autotune_min_age"):
            continue
        for m, samples in by[v]:
            t0, t1 = samples[0]["t"], samples[-1]["t"]
            points = []
            for i in range(TRAJECTORY_POINTS):
                t = t0 + (t1 - t0) * i / (TRAJECTORY_POINTS - 1)
                near = min(samples, key=lambda x: abs(x["t"] - t))
                points.append(f"{near.get('min_age_us', 0) / 1e6:.2g}")
            out.append(f"- {v}, run {m['rep']}: min_age (s) every {(t1 - t0) / 10:.0f} s: "
                       + " ".join(points))
    return ["", "min_age over time (current_min_age, in the guest's seconds: scaled, so "
            "at scale 0.1 fixed_40 runs at 4 s):", ""] + out if out else []


def scenario_report(args, cfg, sc, by, errors):
    """Markdown lines of one scenario. BY: variant -> list of (metrics,
    samples); failcharge and tiering show each variant's first run."""
    names = list(dict.fromkeys(v for _, _, v in plan(args, cfg, [sc]) if v != ORACLE))
    done = [v for v in names if by.get(v)]
    series = {v: by[v][0][1] for v in done}
    if not done:
        lines = [f"### {sc}", ""]
    elif sc == "failcharge":
        lines = failcharge_table({v: by[v][0][0] for v in done}, done)
    elif sc == "tiering":
        lines = tiering_table({v: by[v][0][0] for v in done}, done)
    else:
        lines = table(sc, {v: [m for m, _ in by[v]] for v in done}, done)
    if sc in RECLAIM:
        lines += trajectories(by, done)
    if sc in ("failcharge", "tiering") and any(len(by[v]) > 1 for v in done):
        lines += ["", "Each variant's first run (repeats are in summary.csv)."]
    png = done and (plot_tiering(args.out, series) if sc == "tiering"
                    else plot(args.out, sc, series))
    if png:
        lines += ["", f"![{sc}]({os.path.basename(png)}) (each variant's first run)"]
    again = sorted(f[:-len(".log.failed")] for f in os.listdir(args.out)
                   if f.startswith(f"{sc}-") and f.endswith(".log.failed"))
    if again:
        lines += ["", f"Run a second time after a first run that did not finish: "
                  f"{', '.join(again)} (the first run's log: *.log.failed)."]
    bad = [(v, e) for (s2, v), e in errors.items() if s2 == sc]
    if bad:
        lines += ["", "Runs that did not finish (see their logs):", ""]
        lines += [f"- **{v}**: {e}" for v, e in bad]
    return lines + [""]


# The reclaim targets: (label, key, factor, lower is better), against the
# baseline; and the oracle's.
RECLAIM_TARGETS = [("refaults", "refaults", 0.40, True),
                   ("kswapd + direct", "kernel_reclaim", 0.35, True),
                   ("memory PSI no worse", "psi_memory", 1.00, True),
                   ("accesses/ms no worse", "accesses_per_ms", 1.00, False)]
ORACLE_FACTOR = 1.10


def reclaim_targets(runs, errors):
    """The reclaim scenarios' target rows: RUNS: scenario -> variant ->
    list of metrics; ERRORS: (scenario, variant) -> why it did not run."""
    rows = []

    def row(sc, v, what, key, factor, lower, base, base_name):
        mine = values(runs.get(sc, {}), v, key)
        if not mine or not base:
            why = errors.get((sc, v)) if not mine else f"no {base_name} run"
            rows.append(f"| {sc} | {v} | {what} | not measured{': ' + why if why else ''} "
                        "| | | - |")
            return
        status, r, rr = compare(mine, base, factor, lower)
        rows.append(f"| {sc} | {v} | {what} | {cell_of(mine)} | {cell_of(base)} | "
                    f"{ratio_text(r, rr)} | {status} |")

    for sc in RECLAIM:
        if sc not in runs and not any(s2 == sc for s2, _ in errors):
            continue
        by = runs.get(sc, {})
        base = reclaim_base(by) or BASELINE
        oracle = choose_oracle({v: values(by, v, "cost") for v in SWEEP})
        tuned = [v for v in (OURS, DAMA, "autotune_min_age") if by.get(v) or (sc, v) in errors]
        for v in tuned:
            for label, key, factor, lower in RECLAIM_TARGETS:
                op = "<=" if lower else ">="
                row(sc, v, f"{label} ({op} {factor:.2f}x {base})", key, factor, lower,
                    values(by, base, key), base)
            row(sc, v, f"refaults + kswapd + direct <= {ORACLE_FACTOR:.2f}x the oracle"
                f" ({oracle or 'no sweep'})", "cost", ORACLE_FACTOR, True,
                values(by, oracle, "cost") if oracle else [], "sweep")
    if not rows:
        return []
    return ["Reclaim scenarios (medians, lowest-highest in brackets; met or MISSED only "
            "when every run is on the same side of the factor times every baseline run, "
            f"\"{NOISE}\" when the scaled ranges overlap, \"{FEW}\" with fewer than two "
            "runs on a side):", "",
            "| scenario | variant | target | measured | baseline | ratio | |",
            "|---|---|---|---|---|---|---|"] + rows + [""]


class ZeroBase:
    """A ratio whose baseline measured 0 (e.g. an idle kdamond): only the
    value is shown."""

    def __init__(self, v):
        self.v = v


def targets(res, runs, errors):
    """The issue's targets against what was measured: Markdown lines. RES:
    scenario -> variant -> the metrics of its first run (failcharge,
    tiering, the free-memory goal); RUNS and ERRORS: reclaim_targets'."""
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

    for sc in RECLAIM:
        fg = res.get(sc, {}).get("autotune_free_goal")
        if fg:
            row(f"{sc}: free-memory goal ({FREE_GOAL_BP} bp) held within +-100 bp (one run)",
                fg["free_goal_dev_bp"], lambda x: x <= 100,
                f"mean distance {fg['free_goal_dev_bp']:.0f} bp")
    if "failcharge" in res:
        fc = res["failcharge"].get("failcharge_on")
        # Per charge window (bytes_reclaimed_last_interval): the 1 s samples
        # straddle the windows, so fc_full_pct measures the sampler too.
        win = fc and fc.get("fc_win_full_pct")
        row("failcharge: >= 95% of the quota in every charge window", win,
            lambda x: x >= 100, None if win is None else f"{win:.0f}% of the windows sampled")
    if "tiering" in res:
        tier = res["tiering"].get("autotune_tier")
        row("tiering: >= 95% of the hot set on the fast node", tier and tier["hot_end_pct"],
            lambda x: x >= 95, tier and f"{tier['hot_end_pct']:.0f}%")
        row("tiering: fast node used bp within +-50 of the goal", tier and tier["used0_mad_bp"],
            lambda x: x <= 50, tier and f"mean distance {tier['used0_mad_bp']:.0f} bp")
        row(f"tiering: time to >= 95% <= {TIME_RATIO:g}x damon_static's",
            rel("tiering", "autotune_tier", "damon_static", "hot_95_s"),
            lambda x: x <= TIME_RATIO)
        row(f"tiering: migration in steady state < {CHURN_PCT_PER_MIN:g}% of the hot set "
            "per minute", tier and tier["steady_churn_pct_min"],
            lambda x: x < CHURN_PCT_PER_MIN,
            tier and f"{tier['steady_churn_pct_min']:.2f}% per minute "
            f"({tier['steady_migrated_mib']:.1f} MiB)")
        row("tiering: kdamond CPU <= 1.00x damon_static",
            rel("tiering", "autotune_tier", "damon_static", "kdamond_cpu_s"),
            lambda x: x <= 1.0)
    out = ["### Targets", "", "Ratios are against the baseline of the same scenario and "
           "invocation.", ""] + reclaim_targets(runs, errors)
    if rows:
        out += ["Other scenarios (one run each):", "", "| target | measured | |",
                "|---|---|---|"] + rows + [""]
    return out


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
        if sc in RECLAIM:
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
    ap.add_argument("--variants", help="these variants (each run --repeats times) instead "
                    "of the mode's")
    ap.add_argument("--repeats", "--repeat", type=int, default=None,
                    help="runs of each compared variant (default: 3, 1 with --quick)")
    ap.add_argument("--timeout", type=int, default=1800)
    ap.add_argument("--report-only", action="store_true",
                    help="boot nothing: rewrite the report from the console logs in --out")
    args = ap.parse_args()
    cfg = QUICK if args.quick else FULL
    if args.repeats is None:
        args.repeats = cfg["repeats"]
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
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
    runs, errors, checked = run_all(args, cfg, scenarios)
    report = ["# damon_autotune benchmark", "",
              f"Kernel: {args.kernel} build; reclaim scenarios: VM {cfg['mem']}, swap "
              f"{cfg['swap']} (virtio), configurations in {cfg['configs']}; tiering: "
              f"two NUMA nodes of 512 MiB; scale {cfg['scale']} (phase lengths and "
              "every age-like parameter). "
              f"Planned: {args.planned[0]} runs, about {args.planned[1] / 60:.0f} min of VM "
              f"time; up to {args.repeats} runs per compared variant.", ""]
    summary, first = [], {}
    for sc in scenarios:
        by = runs.get(sc, {})
        report += scenario_report(args, cfg, sc, by, errors)
        first[sc] = {v: r[0][0] for v, r in by.items() if r}
        summary += [dict(scenario=sc, variant=v, **m) for v, r in by.items() for m, _ in r]
    reclaim = {sc: {v: [m for m, _ in r] for v, r in runs.get(sc, {}).items()}
               for sc in scenarios if sc in RECLAIM}
    # The targets first: the report is what a user reads first.
    report[4:4] = targets(first, reclaim, errors)
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
        return 0 if not errors else 1
    checks = sanity(checked)
    for name, ok, why in checks:
        print(f"test: ok {name}" if ok else f"test: FAILED {name}: {why}")
    passed = sum(ok for _, ok, _ in checks)
    if args.counts:
        with open(args.counts, "w") as f:
            f.write(f"{passed} {len(checks) - passed}\n")
    return 0 if passed == len(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
