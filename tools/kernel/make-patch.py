#!/usr/bin/env python3
"""Write the kernel patch that exports what damon_autotune.ko calls.

Usage: make-patch.py KERNEL_SOURCE_TREE > kernel/0001-....patch

Reads kernel/exports.txt ("file symbol" per line) and, for each symbol, adds
EXPORT_SYMBOL_GPL() right after the closing brace of its definition in a
pristine kernel tree.  The output is a patch in the kernel's own format.

A line "file symbol header CONFIG_X" is for a static function: its first
definition loses "static", is exported, and its prototype goes into header
(before the header's "#endif	/* CONFIG_DAMON */"), under "#ifdef CONFIG_X"
when the definition is (the !CONFIG_X stub stays static inline).
"""
import difflib
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EXPORTS = os.path.join(HERE, "..", "..", "kernel", "exports.txt")

HEADER = """\
From: damon_autotune developers <damon_autotune@localhost>
Subject: [PATCH] mm/damon: export the DAMON API used by loadable policy modules

DAMON's core functions are only usable from code built into the kernel:
DAMON_RECLAIM, DAMON_LRU_SORT and the sysfs interface.  A DAMON policy
built as a loadable module, such as damon_autotune, cannot link against
them.

Export, GPL-only, exactly the functions such a module needs to build a
monitoring context on the physical address space, start and stop its
kdamond, and commit new parameters to it, plus the memory helpers it
reads its metrics with.  The reader of the system's memory pressure that
DAMOS's quota goals use, damos_get_some_mem_psi_total(), is made public
(declared in <linux/damon.h> when CONFIG_PSI is set) so that such a module
reads PSI the way DAMOS does, without access to the scheduler's psi_system.
No behaviour changes.

Signed-off-by: damon_autotune developers <damon_autotune@localhost>
---
"""


def read_exports():
    by_file = {}
    with open(EXPORTS) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            path, sym, *public = line.split()
            by_file.setdefault(path, []).append((sym, public))
    return by_file


def make_public(text, sym, path):
    """Drops "static" from sym's first definition; returns (text, prototype)."""
    m = re.search(r"^static ([a-z][^\n;(]*\b" + re.escape(sym) + r"\([^)]*\))\n\{", text, re.M)
    if not m:
        sys.exit(f"make-patch: no static definition of {sym} in {path}")
    return text[:m.start()] + m.group(1) + text[m.end(1):], m.group(1) + ";\n"


def declare(text, proto, config, path):
    anchor = "#endif\t/* CONFIG_DAMON */\n"
    if anchor not in text:
        sys.exit(f"make-patch: no '{anchor.strip()}' in {path}")
    decl = f"#ifdef {config}\n{proto}#endif\n\n" if config else proto + "\n"
    return text.replace(anchor, decl + anchor, 1)


def add_exports(text, syms, path, headers):
    for sym, public in syms:
        if public:
            text, proto = make_public(text, sym, path)
            headers.setdefault(public[0], []).append((proto, public[1] if len(public) > 1 else None))
        # A function: its definition ends at the first "}" in column 0.
        m = re.search(r"^[a-z][^\n;]*\b" + re.escape(sym) + r"\(", text, re.M)
        if m:
            end = text.index("\n}\n", m.start()) + 3
        else:
            # A variable: its definition ends with "};" or ";".
            m = re.search(r"^[a-z][^\n(;]*\b" + re.escape(sym) + r"\s*(= \{|=|;)", text, re.M)
            if not m:
                sys.exit(f"make-patch: {sym} not defined in {path}")
            if m.group(1) == "= {":
                end = text.index("\n};\n", m.start()) + 4
            else:
                end = text.index(";\n", m.start()) + 2
        if text[end:].startswith(f"EXPORT_SYMBOL"):
            sys.exit(f"make-patch: {sym} in {path} is already exported")
        text = text[:end] + f"EXPORT_SYMBOL_GPL({sym});\n" + text[end:]
    return text


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    tree = sys.argv[1]
    out = [HEADER]
    headers = {}
    changed = {}
    for path, syms in read_exports().items():
        with open(os.path.join(tree, path)) as f:
            old = f.read()
        changed[path] = (old, add_exports(old, syms, path, headers))
    for path, protos in headers.items():
        with open(os.path.join(tree, path)) as f:
            old = f.read()
        new = old
        for proto, config in protos:
            new = declare(new, proto, config, path)
        changed[path] = (old, new)
    for path, (old, new) in sorted(changed.items()):
        diff = difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                    "a/" + path, "b/" + path)
        diff = list(diff)
        if diff:
            out.append(f"diff --git a/{path} b/{path}\n")
            out.extend(diff)
    out.append("-- \n2.39.5\n")
    sys.stdout.write("".join(out))


if __name__ == "__main__":
    main()
