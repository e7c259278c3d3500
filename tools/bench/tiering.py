#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The benchmark's tiering scenario: metrics, report table and plot.

    tools/bench/tiering.py [--plot DIR] LOG...

tests/guest/bench-tier.sh runs one variant in a VM with two NUMA nodes:
node 0 (fast) is filled with a cold filler, a hot set starts on node 1
(slow), and the variant should bring the whole hot set to node 0, demoting
as much filler as that needs and holding node 0's used memory at the
promotion goal. bench.py imports this module; run as a script, it re-reads
console logs of such runs and prints the table (for debugging).

Sample keys (bench-tier.sh's "bench: sample" lines): t (s since the
variant started), hot0 and cold0 (% of the hot set and of the filler on
node 0), used0_bp, free0_bp, used1_bp, promoted and demoted (bytes
migrated since the start), kdamond_ticks (USER_HZ, all kdamonds),
pcp0_kib (node 0's pages on the per-CPU free lists, which MemFree leaves
out). The start line gives hot_mib, the hot set's size.
"""
import os
import sys

from report import metric_table

BASELINE = "damon_static"
HOT_TARGET_PCT = 95.0
USED_TOLERANCE_BP = 50
# Steady-state migration (promoted + demoted in the last third) under this
# share of the hot set per minute: no churn.
CHURN_PCT_PER_MIN = 1.0
# Time to HOT_TARGET_PCT at most this many times damon_static's.
TIME_RATIO = 2.0
DEFAULT_GOAL_BP = 9970
USER_HZ = 100
MIB = 2.0 ** 20
NAN = float("nan")

# (row label, key), in the table's order.
ROWS = [
    ("hot set on node 0 at the end (%)", "hot_end_pct"),
    ("time to >= 95% of the hot set on node 0 (s)", "hot_95_s"),
    ("steady-state samples with >= 95% on node 0 (%)", "hot_steady_pct"),
    ("filler on node 0 at the end (%)", "cold_end_pct"),
    ("node 0 used, steady state (bp)", "used0_mean_bp"),
    ("node 0 used - goal, mean abs. (bp)", "used0_mad_bp"),
    ("node 0 used - goal, max abs. (bp)", "used0_maxdev_bp"),
    ("migrated in steady state (MiB)", "steady_migrated_mib"),
    ("migrated in steady state (% of the hot set per minute)", "steady_churn_pct_min"),
    ("promoted (MiB)", "promoted_mib"),
    ("demoted (MiB)", "demoted_mib"),
    ("kdamond CPU time (s)", "kdamond_cpu_s"),
    ("targets met", "targets_met"),
]
# Rows given as ratios to the baseline.
RATIO_ROWS = [
    ("kdamond CPU time", "kdamond_cpu_s"),
    ("bytes migrated (promoted + demoted)", "migrated_mib"),
    ("bytes promoted", "promoted_mib"),
    ("bytes demoted", "demoted_mib"),
]


def _mean(xs):
    return sum(xs) / len(xs) if xs else NAN


def summarise_tiering(samples, start):
    """The scenario's metrics of one run.

    samples: the parsed sample lines (dicts of floats), in time order;
    start: the start line's values (strings or numbers). The steady state
    is the last third of the samples; the counters (bytes migrated,
    kdamond ticks) start at 0 with the variant, so their last values are
    the run's totals.
    """
    goal = float(start.get("goal_used_bp", DEFAULT_GOAL_BP))
    tail = samples[len(samples) - max(len(samples) // 3, 1):]
    last = samples[-1]
    hot_95 = next((s["t"] for s in samples if s.get("hot0", 0) >= HOT_TARGET_PCT), NAN)
    devs = [abs(s.get("used0_bp", 0) - goal) for s in tail]
    m = {
        "hot_end_pct": _mean([s.get("hot0", 0) for s in tail]),
        "hot_95_s": hot_95,
        "hot_steady_pct": 100.0 * sum(s.get("hot0", 0) >= HOT_TARGET_PCT for s in tail) / len(tail),
        "cold_end_pct": _mean([s.get("cold0", 0) for s in tail]),
        "used0_mean_bp": _mean([s.get("used0_bp", 0) for s in tail]),
        "used0_mad_bp": _mean(devs),
        "used0_maxdev_bp": max(devs),
        "promoted_mib": last.get("promoted", 0) / MIB,
        "demoted_mib": last.get("demoted", 0) / MIB,
        "kdamond_cpu_s": last.get("kdamond_ticks", 0) / USER_HZ,
        "goal_used_bp": goal,
        "seconds": last["t"] - samples[0]["t"],
    }
    m["migrated_mib"] = m["promoted_mib"] + m["demoted_mib"]
    # Churn: what moved between the sample before the last third and the
    # last one, per minute, against the hot set (the start line's hot_mib).
    before = samples[max(len(samples) - len(tail) - 1, 0)]
    moved = sum(last.get(k, 0) - before.get(k, 0) for k in ("promoted", "demoted"))
    minutes = (last["t"] - before["t"]) / 60
    hot_mib = float(start.get("hot_mib", 0))
    m["steady_migrated_mib"] = moved / MIB
    m["steady_churn_pct_min"] = (100.0 * moved / MIB / hot_mib / minutes
                                 if hot_mib > 0 and minutes > 0 else NAN)
    met = (m["hot_end_pct"] >= HOT_TARGET_PCT and m["used0_mad_bp"] <= USED_TOLERANCE_BP
           and m["steady_churn_pct_min"] < CHURN_PCT_PER_MIN)
    m["targets_met"] = "yes" if met else "no"
    return m


def tiering_table(results, variants):
    """Markdown lines: the set-up and targets, one column per variant,
    then ratios to damon_static when it ran."""
    start = next(iter(results.values()))
    goal = start["goal_used_bp"]
    out = ["### tiering", "",
           "Node 0 (fast, with the CPUs) filled with a never-touched cold filler, "
           "a hot set accessed all the time starting on node 1 (slow); the two do "
           "not fit on node 0 together. Targets: >= "
           f"{HOT_TARGET_PCT:g}% of the hot set on the fast node in steady state "
           f"(the last third of the run), and the fast node's used memory within "
           f"+-{USED_TOLERANCE_BP} bp of the promotion goal ({goal:g} bp), and "
           f"bytes migrated in steady state under {CHURN_PCT_PER_MIN:g}% of the hot set "
           "per minute (\"targets met\": the steady-state means).", ""]
    return out + metric_table(results, variants, ROWS, BASELINE, RATIO_ROWS)


def plot_tiering(outdir, series, goal_bp=DEFAULT_GOAL_BP):
    """Writes outdir/tiering.png: the hot set and the filler on node 0,
    node 0's used memory against the goal, and the bytes migrated, over
    time, one line per variant (series: variant -> samples). Returns its
    path, or None without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, axes = plt.subplots(4, 1, figsize=(8, 11), sharex=True)
    for i, (variant, samples) in enumerate(series.items()):
        color = f"C{i}"
        t = [s["t"] for s in samples]
        axes[0].plot(t, [s.get("hot0", 0) for s in samples], color=color, label=variant)
        axes[1].plot(t, [s.get("cold0", 0) for s in samples], color=color)
        axes[2].plot(t, [s.get("used0_bp", 0) for s in samples], color=color)
        axes[3].plot(t, [s.get("promoted", 0) / MIB for s in samples], color=color,
                     label=f"{variant} promoted")
        axes[3].plot(t, [s.get("demoted", 0) / MIB for s in samples], color=color,
                     linestyle="--", label=f"{variant} demoted")
    axes[0].axhline(HOT_TARGET_PCT, color="grey", linestyle=":", linewidth=1)
    axes[2].axhline(goal_bp, color="grey", linestyle=":", linewidth=1, label="goal")
    for ax, title in zip(axes, ("hot set on node 0 (%)", "filler on node 0 (%)",
                                "node 0 used (bp)", "migrated (MiB)")):
        ax.set_ylabel(title, fontsize=8)
    axes[0].legend(fontsize=7)
    axes[2].legend(fontsize=7)
    axes[3].legend(fontsize=6)
    axes[-1].set_xlabel("seconds since the variant started")
    fig.suptitle("tiering")
    path = os.path.join(outdir, "tiering.png")
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def main(argv):
    """Re-reads console logs and prints the table (and, with --plot DIR,
    writes the plot there)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.dont_write_bytecode = True
    from bench import parse_console

    plot_dir = None
    if argv[:1] == ["--plot"]:
        plot_dir, argv = argv[1], argv[2:]
    if not argv:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    results, series, goal = {}, {}, DEFAULT_GOAL_BP
    for log in argv:
        try:
            samples, _, start = parse_console(log)
        except (OSError, RuntimeError) as e:
            print(f"tiering: {e}", file=sys.stderr)
            continue
        variant = start.get("variant", os.path.basename(log))
        results[variant] = summarise_tiering(samples, start)
        series[variant] = samples
        goal = results[variant]["goal_used_bp"]
        print(f"tiering: {log}: {variant}, {len(samples)} samples over "
              f"{results[variant]['seconds']:.0f} s", file=sys.stderr)
    if not results:
        return 1
    order = ["none", BASELINE, "autotune_tier"]
    variants = sorted(results, key=lambda v: order.index(v) if v in order else len(order))
    print("\n".join(tiering_table(results, variants)))
    if plot_dir:
        print(f"tiering: plot {plot_tiering(plot_dir, series, goal)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
