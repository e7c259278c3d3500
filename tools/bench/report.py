# SPDX-License-Identifier: GPL-2.0
"""The benchmark report's Markdown: cells, ratios and metric tables, shared
by bench.py (the reclaim scenarios) and tiering.py."""


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


def _order(v):
    """Sort key: numbers in order, nan ("not reached") after them all."""
    return float("inf") if v != v else v


def median_results(each):
    """One variant's metrics over repeated runs: the median of each number
    (nan counts as above every number, so a median of mostly unreached
    runs is nan), the share of runs for text ("2/3 yes"); "_spread" maps
    each number to its (lowest, highest), "_runs" is the number of runs."""
    out = {"_spread": {}, "_runs": len(each)}
    for k, v0 in each[0].items():
        vals = [m[k] for m in each if k in m]
        if isinstance(v0, str):
            common = max(set(vals), key=vals.count)
            out[k] = f"{vals.count(common)}/{len(vals)} {common}"
            continue
        s = sorted(vals, key=_order)
        n = len(s)
        mid = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
        out[k] = float("nan") if mid == float("inf") else mid
        out["_spread"][k] = (s[0], s[-1])
    return out


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
