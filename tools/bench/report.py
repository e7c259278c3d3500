# SPDX-License-Identifier: GPL-2.0
"""The benchmark report's Markdown: cells, ratios and metric tables, shared
by bench.py (the reclaim scenarios) and tiering.py; and the statistics of
repeated runs: medians, ranges, whether a comparison is beyond the noise,
the oracle of a min_age sweep.

    python3 tools/bench/report.py --selftest

checks those statistics on made-up numbers (tools/test.sh runs it in its
build stage) and prints "N passed, N failed".
"""
import sys


def fmt(v):
    """A table cell: text as is, nan as "not reached", whole or large
    numbers without decimals, others with two."""
    if isinstance(v, str):
        return v
    if v != v:
        return "not reached"
    if float(v).is_integer() or abs(v) >= 100:
        return f"{v:,.0f}".replace(",", " ")
    return f"{v:.2f}"


def ratio(v, base):
    """v / base as text, two significant digits below 0.1; "n/a" when
    the base is 0 and v is not."""
    if base == 0 or base != base:
        return "n/a" if v else "1.00"
    r = v / base
    return f"{r:.2g}" if 0 < r < 0.1 else f"{r:.2f}"


def cell(m, key):
    """A table cell of one variant's metrics M: the value, and with
    repeated runs, their range when it is not one value."""
    spread = m.get("_spread", {}).get(key)
    if spread is None or fmt(spread[0]) == fmt(spread[1]):
        return fmt(m[key])
    return f"{fmt(m[key])} ({fmt(spread[0])}-{fmt(spread[1])})"


def metric_table(results, variants, rows, baseline, ratio_rows):
    """Markdown lines: one row per (label, key) of ROWS (a None key is a
    section header), one column per variant; then, when BASELINE is among
    the variants, each (label, key) of RATIO_ROWS as a ratio to it (of
    the medians, with repeated runs)."""
    head = ["| | " + " | ".join(variants) + " |", "|---|" + "---|" * len(variants)]
    out = list(head)
    for label, key in rows:
        if key is None:
            out.append(f"| **{label}** |" + " |" * len(variants))
        else:
            out.append(f"| {label} | " + " | ".join(cell(results[v], key) for v in variants) + " |")
    if baseline in variants:
        base = results[baseline]
        out += ["", f"Ratios to {baseline} (same invocation):", ""] + head
        for label, key in ratio_rows:
            out.append(f"| {label} | " +
                       " | ".join(ratio(results[v][key], base[key]) for v in variants) + " |")
    return out


# Repeated runs. A metric of one variant is the list of its values, one
# per run that finished. Under TCG identical runs differ by up to 30%, so
# a ratio of medians alone proves nothing: a comparison counts only when
# the runs' ranges, scaled by the target's factor, do not overlap.
MET, MISSED, NOISE, FEW = "met", "MISSED", "within noise", "too few runs"
# Runs per side a comparison needs before its ranges mean anything.
MIN_RUNS = 2


def median(vals):
    """The median of a non-empty list of numbers (the mean of the middle
    two for an even count)."""
    s = sorted(vals)
    n = len(s)
    if n == 0:
        raise ValueError("median of no values")
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def spread(vals):
    """(lowest, highest) of a non-empty list."""
    return min(vals), max(vals)


def cell_of(vals):
    """A table cell of one metric's runs: the median, and with more than
    one distinct value their range, "median (lowest-highest)"."""
    if not vals:
        return "-"
    if isinstance(vals[0], str):
        common = max(set(vals), key=vals.count)
        return common if len(vals) == 1 else f"{vals.count(common)}/{len(vals)} {common}"
    lo, hi = spread(vals)
    m = fmt(median(vals))
    return m if fmt(lo) == fmt(hi) else f"{m} ({fmt(lo)}-{fmt(hi)})"


def compare(vals, base, limit, lower=True):
    """Whether VALS are at most (LOWER) or at least LIMIT times BASE: MET
    when every run of VALS is on the right side of LIMIT times every run
    of BASE, MISSED when every run is on the wrong side, NOISE when the
    scaled ranges overlap, FEW when either side has fewer than MIN_RUNS
    runs. Returns (status, ratio of the medians or None when the base's
    median is 0, (lowest, highest) ratio between the runs or None)."""
    if not vals or not base:
        return FEW, None, None
    mb = median(base)
    r = median(vals) / mb if mb else None
    (lo, hi), (blo, bhi) = spread(vals), spread(base)
    rr = (lo / bhi, hi / blo) if blo > 0 else None
    if len(vals) < MIN_RUNS or len(base) < MIN_RUNS:
        return FEW, r, rr
    if lower:
        if hi <= limit * blo:
            return MET, r, rr
        if lo > limit * bhi:
            return MISSED, r, rr
    else:
        if lo >= limit * bhi:
            return MET, r, rr
        if hi < limit * blo:
            return MISSED, r, rr
    return NOISE, r, rr


def ratio_text(r, rr):
    """A ratio of medians with the range between the runs: "0.35
    (0.30-0.41)"; "n/a" without a ratio (a base of 0)."""
    if r is None:
        return "n/a (base 0)"
    one = f"{r:.2g}" if 0 < r < 0.1 else f"{r:.2f}"
    if rr is None or rr[0] == rr[1]:
        return one
    return f"{one} ({rr[0]:.2f}-{rr[1]:.2f})"


def comparison(vals, base, limit=1.0, lower=True):
    """A ratio cell: the ratio only when it is beyond the noise (the
    ranges do not overlap), else "within noise" with what was measured."""
    status, r, rr = compare(vals, base, limit, lower)
    text = ratio_text(r, rr)
    if status in (MET, MISSED):
        return text
    return f"{status} ({text})"


def choose_oracle(costs):
    """The best fixed setting in hindsight. COSTS: setting -> list of the
    cost (lower is better) of each of its runs. The settings with the most
    runs compete (a sweep repeats only its best candidate: a setting run
    once cannot take that place on one lucky run); among them the lowest
    median wins, ties by name. None when no setting ran."""
    ran = {k: v for k, v in costs.items() if v}
    if not ran:
        return None
    most = max(len(v) for v in ran.values())
    return min((median(v), k) for k, v in ran.items() if len(v) == most)[1]


def _selftest():
    """Checks of the statistics above; returns (passed, failed)."""
    checks = []

    def check(name, ok):
        checks.append(ok)
        print(f"test: {'ok' if ok else 'FAILED'} report_{name}")

    check("median_odd", median([3, 1, 2]) == 2)
    check("median_even", median([4, 1, 3, 2]) == 2.5)
    check("median_one", median([7.5]) == 7.5)
    try:
        median([])
        check("median_empty_refused", False)
    except ValueError:
        check("median_empty_refused", True)
    check("spread", spread([5, 2, 9]) == (2, 9))
    check("cell_range", cell_of([10, 12, 11]) == "11 (10-12)")
    check("cell_one_value", cell_of([3, 3, 3]) == "3")
    check("cell_text_majority", cell_of(["yes", "no", "yes"]) == "2/3 yes")
    # Lower is better, limit 0.4: every run below 0.4x every base run.
    check("compare_met", compare([30, 35, 38], [100, 110, 120], 0.4)[0] == MET)
    # 45 > 0.4 * 100: the ranges overlap once scaled.
    check("compare_noise", compare([30, 35, 45], [100, 110, 120], 0.4)[0] == NOISE)
    check("compare_missed", compare([50, 60, 70], [100, 110, 120], 0.4)[0] == MISSED)
    # A tight ratio of medians (0.9x) inside a 30% spread is noise.
    check("compare_noise_30pct", compare([80, 90, 104], [75, 100, 110], 1.0)[0] == NOISE)
    check("compare_ratio_of_medians", abs(compare([30, 35, 38], [100, 110, 120], 0.4)[1]
                                          - 35 / 110) < 1e-12)
    check("compare_ratio_range", compare([30, 35, 38], [100, 110, 120], 0.4)[2] == (0.25, 0.38))
    # Higher is better (accesses/ms no worse).
    check("compare_higher_met", compare([120, 125, 130], [100, 110, 115], 1.0, lower=False)[0]
          == MET)
    check("compare_higher_missed", compare([80, 85, 90], [100, 110, 115], 1.0, lower=False)[0]
          == MISSED)
    check("compare_higher_noise", compare([100, 112, 130], [100, 110, 115], 1.0, lower=False)[0]
          == NOISE)
    check("compare_one_run_is_too_few", compare([1], [100, 110], 0.4)[0] == FEW)
    check("compare_no_runs", compare([], [100, 110], 0.4) == (FEW, None, None))
    # A base of 0: no ratio, but more than nothing is still worse.
    st, r, rr = compare([5, 6], [0, 0], 1.0)
    check("compare_zero_base", st == MISSED and r is None and rr is None)
    check("compare_zero_both", compare([0, 0], [0, 0], 1.0)[0] == MET)
    check("comparison_text_met", comparison([30, 35, 38], [100, 110, 120], 0.4)
          == "0.32 (0.25-0.38)")
    check("comparison_text_noise", comparison([80, 90, 104], [75, 100, 110]).startswith(
        "within noise (0.90"))
    check("oracle_lowest_median", choose_oracle({"a": [5, 9, 6], "b": [4, 5, 7], "c": [7, 7, 7]})
          == "b")
    # A setting run once does not beat the repeated candidate on one run.
    check("oracle_repeated_only", choose_oracle({"a": [1], "b": [4, 8, 7], "c": [9]}) == "b")
    check("oracle_tie_by_name", choose_oracle({"b": [2, 2], "a": [2, 2]}) == "a")
    check("oracle_none", choose_oracle({"a": []}) is None)
    passed = sum(checks)
    return passed, len(checks) - passed


if __name__ == "__main__":
    if sys.argv[1:] != ["--selftest"]:
        sys.exit("usage: report.py --selftest")
    ok, bad = _selftest()
    print(f"{ok} passed, {bad} failed")
    sys.exit(1 if bad else 0)
