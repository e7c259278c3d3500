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


def metric_table(results, variants, rows, baseline, ratio_rows):
    """Markdown lines: one row per (label, key) of ROWS (a None key is a
    section header), one column per variant; then, when BASELINE is among
    the variants, each (label, key) of RATIO_ROWS as a ratio to it."""
    head = ["| | " + " | ".join(variants) + " |", "|---|" + "---|" * len(variants)]
    out = list(head)
    for label, key in rows:
        if key is None:
            out.append(f"| **{label}** |" + " |" * len(variants))
        else:
            out.append(f"| {label} | " + " | ".join(fmt(results[v][key]) for v in variants) + " |")
    if baseline in variants:
        base = results[baseline]
        out += ["", f"Ratios to {baseline} (same invocation):", ""] + head
        for label, key in ratio_rows:
            out.append(f"| {label} | " +
                       " | ".join(ratio(results[v][key], base[key]) for v in variants) + " |")
    return out
