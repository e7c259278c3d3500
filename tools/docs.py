#!/usr/bin/env python3
"""Keeps Documentation/admin-guide.rst honest.

  docs.py params MODULE.ko GUIDE.rst
      Every parameter `modinfo` lists has a section titled with its name in
      the guide, and the guide documents no parameter the module lacks.
  docs.py examples GUIDE.rst OUTDIR
      Writes each ".. code-block:: sh" block of the guide to
      OUTDIR/doc-example-N.sh, for tests/guest/25-doc-examples.sh to run.

Exits 1 (with the reason) if a check fails.
"""
import os
import re
import subprocess
import sys


def section_titles(lines):
    """Titles underlined with '-' (the guide's per-parameter level)."""
    titles = []
    for prev, cur in zip(lines, lines[1:]):
        t = prev.strip()
        if t and re.fullmatch(r"-+", cur.strip()) and len(cur.strip()) == len(t):
            titles.append(t)
    return titles


def check_params(ko, guide):
    out = subprocess.run(["modinfo", "-F", "parm", ko], check=True,
                         capture_output=True, text=True).stdout
    params = {l.split(":", 1)[0] for l in out.splitlines() if l.strip()}
    with open(guide) as f:
        titles = set(section_titles(f.read().splitlines()))
    missing = sorted(params - titles)
    documented = {t for t in titles if re.fullmatch(r"[a-z_][a-z0-9_]*", t)}
    extra = sorted(documented - params)
    for p in missing:
        print(f"docs: parameter {p} is not documented in {guide}")
    for p in extra:
        print(f"docs: {guide} documents {p}, which the module does not have")
    print(f"docs: {len(params)} parameters, {len(params) - len(missing)} documented")
    return not missing and not extra


def examples(guide):
    """The indented bodies of the ".. code-block:: sh" blocks."""
    lines = open(guide).read().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if lines[i].strip() == ".. code-block:: sh":
            i += 1
            body = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith((" ", "\t"))):
                body.append(lines[i])
                i += 1
            text = [l for l in body]
            while text and not text[-1].strip():
                text.pop()
            while text and not text[0].strip():
                text.pop(0)
            indent = min(len(l) - len(l.lstrip()) for l in text if l.strip())
            blocks.append("\n".join(l[indent:] for l in text) + "\n")
        else:
            i += 1
    return blocks


def write_examples(guide, outdir):
    blocks = examples(guide)
    os.makedirs(outdir, exist_ok=True)
    for old in os.listdir(outdir):
        if old.startswith("doc-example-"):
            os.remove(os.path.join(outdir, old))
    for n, b in enumerate(blocks, 1):
        with open(os.path.join(outdir, f"doc-example-{n}.sh"), "w") as f:
            f.write(b)
    print(f"docs: {len(blocks)} examples written to {outdir}")
    return len(blocks) > 0


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "params":
        ok = check_params(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "examples":
        ok = write_examples(sys.argv[2], sys.argv[3])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
