#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Shows the demo's console (tests/guest/demo.sh) to a person.

    tools/demo.py [--plot PNG] < CONSOLE

Reads the console as QEMU writes it (tools/run.sh pipes it in while the
VM runs), prints the guest's "demo:" lines and, for each "demo: sample"
line, one row of the live table; at the end of the input, the summary,
and the same series as a PNG plot (with matplotlib; without it, one line
saying the plot was skipped). Exits 1 if the guest printed no sample.
"""
import argparse
import os
import re
import stat
import sys
import time

SAMPLE = re.compile(r"demo: sample (.*)$")
START = re.compile(r"demo: start (.*)$")
INFO = re.compile(r"(demo: .*|guest: .*|vm\.sh: .*|itest: not ok .*)$")
# |free1 - goal| within which the goal counts as reached.
REACHED_BP = 50

# What a sample must have (a line a kernel message broke into is dropped).
KEYS = ("t", "free0_bp", "free1_bp", "quota", "min_age_us", "swpout", "promoted",
        "demoted", "refaults", "acc_ms", "hot0")
HEADER = ("    t   free0/goal    free1/goal    quota  min_age  swapped  promoted"
          "  demoted  refault/s  acc/ms  hot@0")


def fields(text):
    """{key: float} of "k=v k=v ..."."""
    out = {}
    for kv in text.split():
        k, _, v = kv.partition("=")
        try:
            out[k] = float(v)
        except ValueError:
            out[k] = v
    return out


def size(b):
    """Bytes as a short human size."""
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if b >= 1 << shift:
            return f"{b / (1 << shift):.1f}{unit}"
    return f"{b:.0f}"


def quota_text(q):
    """The effective quota: 0 is no limit, 1 nothing (the goal is met)."""
    return "none" if q == 0 else "off" if q == 1 else size(q)


def pct(bp):
    return f"{bp / 100:.1f}%"


class Demo:
    def __init__(self):
        self.start = {}
        self.samples = []

    def goal(self, node):
        """Node NODE's goal as free bp, or None: node 1's is reclaim's
        free-memory goal, node 0's what tiering's promotion leaves free."""
        if node == 1:
            return self.start.get("goal_bp")
        used = self.start.get("tier_goal_used_bp", 0)
        return 10000 - used if used else None

    def row(self, s):
        prev = self.samples[-2] if len(self.samples) > 1 else None
        rate = 0.0
        if prev and s["t"] > prev["t"]:
            rate = (s["refaults"] - prev["refaults"]) / (s["t"] - prev["t"])
        g0, g1 = self.goal(0), self.goal(1)
        free0 = f"{pct(s['free0_bp'])}/{pct(g0) if g0 is not None else '-'}"
        free1 = f"{pct(s['free1_bp'])}/{pct(g1) if g1 is not None else '-'}"
        return (f"{s['t']:5.0f}s {free0:>12} {free1:>13} {quota_text(s['quota']):>8}"
                f" {s['min_age_us'] / 1e6:7.1f}s {size(s['swpout'] * 4096):>8}"
                f" {size(s['promoted']):>9} {size(s['demoted']):>8} {rate:10.0f}"
                f" {s['acc_ms']:7.0f} {s['hot0']:5.0f}%")

    def feed(self, line):
        """One console line; returns what to print, or None."""
        line = line.rstrip("\r\n")
        m = SAMPLE.search(line)
        if m:
            f = fields(m.group(1))
            if not all(isinstance(f.get(k), float) for k in KEYS):
                return None
            self.samples.append(f)
            text = self.row(self.samples[-1])
            return HEADER + "\n" + text if len(self.samples) == 1 else text
        m = START.search(line)
        if m:
            self.start = fields(m.group(1))
        m = INFO.search(line)
        return m.group(1) if m else None

    def summary(self):
        s = self.samples
        if not s:
            return ["demo: no samples: see the console log"]
        mode = self.start.get("mode", "?")
        out = [f"summary ({'damon_autotune' if mode == 'autotune' else 'DAMON_RECLAIM'},"
               f" {s[-1]['t']:.0f} s, {len(s)} samples):"]
        goal = self.goal(1)
        if goal is not None and mode != "autotune":
            free = [x["free1_bp"] for x in s]
            out.append(f"  node 1 free: {pct(free[0])} at the start, {pct(free[-1])} at the end"
                       f" ({pct(min(free))} to {pct(max(free))}); DAMON_RECLAIM has no goal"
                       f" (damon_autotune's is {pct(goal)})")
        elif goal is not None:
            reached = next((x for x in s if abs(x["free1_bp"] - goal) <= REACHED_BP
                            or x["free1_bp"] >= goal), None)
            if reached:
                after = [abs(x["free1_bp"] - goal) for x in s if x["t"] >= reached["t"]]
                after.sort()
                out.append(f"  goal (node 1 {pct(goal)} free): reached after"
                           f" {reached['t']:.0f} s, then held within {after[-1]:.0f} bp"
                           f" (median {after[len(after) // 2]:.0f} bp);"
                           f" {pct(s[0]['free1_bp'])} free at the start")
            else:
                best = max(x["free1_bp"] for x in s)
                out.append(f"  goal (node 1 {pct(goal)} free): NOT reached in"
                           f" {s[-1]['t']:.0f} s: {pct(s[0]['free1_bp'])} free at the start,"
                           f" {pct(s[-1]['free1_bp'])} at the end, best {pct(best)}")
        ages = [x["min_age_us"] for x in s]
        changes = [x for a, x in zip(ages, s[1:]) if x["min_age_us"] != a]
        if mode == "autotune":
            last = f", last change at {changes[-1]['t']:.0f} s" if changes else ""
            out.append(f"  min_age: settled at {ages[-1] / 1e6:.1f} s (from {ages[0] / 1e6:.1f} s,"
                       f" {len(changes)} changes{last})")
        else:
            out.append(f"  min_age: fixed at {ages[-1] / 1e6:.1f} s")
        first90 = next((x for x in s if x["hot0"] >= 90), None)
        out.append(f"  hot set on the fast node: {s[-1]['hot0']:.0f}% at the end"
                   f" (from {s[0]['hot0']:.0f}%"
                   + (f"; 90% after {first90['t']:.0f} s" if first90 else "; never 90%")
                   + f"), promoted {size(s[-1]['promoted'])}, demoted {size(s[-1]['demoted'])}")
        end = s[-1]["t"]
        first = [x for x in s if x["t"] <= 60]
        last = [x for x in s if x["t"] >= end - 60]
        if end >= 90 and len(first) > 1 and len(last) > 1:
            def per_min(xs):
                return (xs[-1]["refaults"] - xs[0]["refaults"]) * 60 / (xs[-1]["t"] - xs[0]["t"])

            a, b = per_min(first), per_min(last)
            ratio = f" ({b / a:.2f}x)" if a else ""
            out.append(f"  refaults: {b:.0f}/min in the last minute vs {a:.0f}/min in the first{ratio};"
                       f" {size((s[-1]['swpout'] - s[0]['swpout']) * 4096)} written to swap")

            def median(xs):
                v = sorted(x["acc_ms"] for x in xs)
                return v[len(v) // 2]

            out.append(f"  workload: {median(last):.0f} accesses/ms in the last minute vs"
                       f" {median(first):.0f} in the first (medians)")
        else:
            out.append(f"  refaults: run too short ({end:.0f} s) to compare minutes")
        return out

    def plot(self, path):
        """Writes the series to PATH; returns the line to print."""
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            return f"plot: skipped, {sys.executable} cannot import matplotlib (apt-get install python3-matplotlib)"
        s = self.samples
        t = [x["t"] for x in s]
        fig, ax = plt.subplots(4, 1, figsize=(8, 10), sharex=True)
        for node, style in ((0, "-"), (1, "-")):
            ax[0].plot(t, [x[f"free{node}_bp"] / 100 for x in s], style, label=f"node {node} free")
            g = self.goal(node)
            if g is not None:
                ax[0].axhline(g / 100, linestyle="--", color=f"C{node}", label=f"node {node} goal")
        ax[0].set_ylabel("free memory (%)")
        ax[0].legend(fontsize="small")
        ax[1].plot(t, [x["min_age_us"] / 1e6 for x in s], label="min_age (s)")
        ax[1].set_ylabel("min_age (s)")
        ax[1].set_ylim(bottom=0)
        q = ax[1].twinx()
        q.plot(t, [x["quota"] / 2**20 if x["quota"] > 1 else 0 for x in s], color="C1", label="quota")
        q.set_ylabel("effective quota (MiB)", color="C1")
        q.set_ylim(bottom=0)
        ax[2].plot(t, [x["hot0"] for x in s], label="hot set on node 0 (%)")
        ax[2].set_ylabel("hot set on node 0 (%)")
        ax[2].set_ylim(0, 105)
        m = ax[2].twinx()
        for key, c in (("promoted", "C1"), ("demoted", "C2")):
            m.plot(t, [x[key] / 2**20 for x in s], color=c, label=key)
        m.plot(t, [x["swpout"] * 4096 / 2**20 for x in s], color="C3", label="swapped")
        m.set_ylabel("MiB")
        m.set_ylim(bottom=0)
        m.legend(fontsize="small", loc="center right")
        rate = [0.0] + [(b["refaults"] - a["refaults"]) / max(b["t"] - a["t"], 1e-3)
                        for a, b in zip(s, s[1:])]
        ax[3].plot(t, rate, label="refaults/s")
        ax[3].set_ylabel("refaults/s")
        w = ax[3].twinx()
        w.plot(t, [x["acc_ms"] for x in s], color="C1")
        w.set_ylabel("masim accesses/ms", color="C1")
        ax[3].set_xlabel("seconds since the variant started")
        mode = self.start.get("mode", "?")
        fig.suptitle(f"make run{'' if mode == 'autotune' else ' DEMO=reclaim'}:"
                     f" {'damon_autotune' if mode == 'autotune' else 'DAMON_RECLAIM'}")
        fig.tight_layout()
        fig.savefig(path, dpi=80)
        plt.close(fig)
        return f"plot: {path}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plot", help="PNG to write the series to")
    a = ap.parse_args()
    demo = Demo()
    first = None
    for line in sys.stdin:
        first = first or time.monotonic()
        out = demo.feed(line)
        if out is not None:
            print(out, flush=True)
    for line in demo.summary():
        print(line)
    if a.plot and demo.samples:
        print(demo.plot(a.plot))
    # Piped live from the VM (tools/run.sh), not replayed from a file.
    if first and stat.S_ISFIFO(os.fstat(sys.stdin.fileno()).st_mode):
        print(f"run: the VM ran {time.monotonic() - first:.0f} s (wall clock, from its first console line)")
    return 0 if demo.samples else 1


if __name__ == "__main__":
    sys.exit(main())
