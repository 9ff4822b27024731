#!/usr/bin/env python3
"""Check the source tree's layout (issue 13): no import cycle between top-level
modules, none between the sibling files of a folder, no source file over the line
limit before its tests, and at most MAX_ENTRIES entries in src/.

What counts as an import: every `crate::…` and `super::…` path in a file's code
(`use` lines, braces expanded, and paths written inline), test modules left out
(`#[cfg(test)]` blocks and `*_tests.rs`/`tests/` files, which may use anything).
A folder's `mod.rs` is its face, not a sibling: children may use what it declares.

Usage: python3 tools/layout/check.py [--graph]   (from the repository's root)
Exit 1 with one line per fault; --graph prints the top-level edges.
"""

import os
import re
import sys

SRC = "src"
MAX_ENTRIES = 14
MAX_LINES = 450

PATH = re.compile(r"\b(crate|super)((?:::(?:[A-Za-z_][A-Za-z0-9_]*|\{))+)")


def module_path(rel):
    """src/rules/fold/mod.rs -> ['rules', 'fold']; src/rules/scan.rs -> ['rules', 'scan']."""
    parts = rel[len(SRC) + 1 :].split("/")
    last = parts[-1][:-3]
    parts = parts[:-1] + ([] if last in ("mod", "lib", "main") else [last])
    return parts


def is_test_file(rel):
    parts = rel.split("/")
    return rel.endswith("_tests.rs") or "tests" in parts[1:-1] or parts[-1] == "tests.rs"


def code_before_tests(text):
    """The file's code without its `#[cfg(test)]` items (a test module at the end, as is
    the rule here, or a `#[cfg(test)] mod x;` line)."""
    lines = text.split("\n")
    out = []
    i = 0
    while i < len(lines):
        if lines[i].strip() == "#[cfg(test)]":
            nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
            if nxt.startswith("mod ") and nxt.endswith(";"):
                i += 2
                continue
            break
        out.append(lines[i])
        i += 1
    return out


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    return re.sub(r"//[^\n]*", "", text)


def expand_use(body):
    """Expand a `use` tree (`a::{b, c::{d, e}}`) into its paths."""
    body = re.sub(r"\s+", "", body)

    def split_top(s):
        depth, cur, out = 0, "", []
        for ch in s:
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            if ch == "," and depth == 0:
                out.append(cur)
                cur = ""
            else:
                cur += ch
        if cur:
            out.append(cur)
        return out

    def go(prefix, s):
        i = s.find("{")
        if i < 0:
            return [prefix + s]
        head, inner = s[:i], s[i + 1 : s.rfind("}")]
        res = []
        for part in split_top(inner):
            res.extend(go(prefix + head, part))
        return res

    return go("", body)


def references(code):
    """Every crate-relative path the code names, as (anchor, [segments])."""
    refs = []
    for m in re.finditer(r"\buse\s+([^;]+);", code):
        for p in expand_use(m.group(1)):
            segs = [s for s in p.split("::") if s]
            if segs and segs[0] in ("crate", "super"):
                refs.append(segs)
    for m in PATH.finditer(code):
        segs = [s for s in (m.group(1) + m.group(2)).split("::") if s and s != "{"]
        refs.append(segs)
    return refs


def resolve(own, segs):
    """The absolute module path a reference points into (a prefix is enough)."""
    if segs[0] == "crate":
        return segs[1:]
    base = list(own)
    while segs and segs[0] == "super":
        base = base[:-1]
        segs = segs[1:]
    return base + segs


def cycles(nodes, edges):
    """The strongly connected components of more than one module (Tarjan), each a
    cycle of imports, with one path around it for the message."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(n):
        index[n] = low[n] = counter[0]
        counter[0] += 1
        stack.append(n)
        on.add(n)
        for m in sorted(edges.get(n, ())):
            if m not in index:
                visit(m)
                low[n] = min(low[n], low[m])
            elif m in on:
                low[n] = min(low[n], index[m])
        if low[n] == index[n]:
            comp = []
            while True:
                m = stack.pop()
                on.discard(m)
                comp.append(m)
                if m == n:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for n in sorted(nodes):
        if n not in index:
            visit(n)
    return out


def main():
    faults = []
    files = []
    for root, _, names in os.walk(SRC):
        for name in names:
            if name.endswith(".rs"):
                files.append(os.path.join(root, name))
    files.sort()

    entries = sorted(os.listdir(SRC))
    if len(entries) > MAX_ENTRIES:
        faults.append(f"src/ has {len(entries)} entries (at most {MAX_ENTRIES}): {' '.join(entries)}")

    modules = {tuple(module_path(f)) for f in files}
    top = {m[0] for m in modules if m}
    top_edges = {}
    sib_edges = {}
    for f in files:
        with open(f, encoding="utf-8") as fh:
            text = fh.read()
        code_lines = code_before_tests(text)
        if len(code_lines) > MAX_LINES and not is_test_file(f):
            faults.append(f"{f}: {len(code_lines)} lines before its tests (at most {MAX_LINES})")
        if is_test_file(f):
            continue
        own = module_path(f)
        if not own:
            continue
        code = strip_comments("\n".join(code_lines))
        for segs in references(code):
            target = resolve(own, segs)
            if not target:
                continue
            if target[0] != own[0] and target[0] in top:
                top_edges.setdefault(own[0], set()).add(target[0])
            # Siblings: both directly inside one folder, neither being the folder's mod.rs.
            parent = own[:-1] if not f.endswith("/mod.rs") else None
            if parent is not None and len(target) > len(parent) and target[: len(parent)] == parent:
                sib = tuple(parent + [target[len(parent)]])
                if sib != tuple(own) and sib in modules:
                    sib_edges.setdefault(tuple(own), set()).add(sib)

    # The pipeline's order is lib.rs's: a module imports only modules declared above it.
    with open(os.path.join(SRC, "lib.rs"), encoding="utf-8") as fh:
        order = re.findall(r"^pub mod ([a-z_]+);", fh.read(), flags=re.M)
    rank = {m: i for i, m in enumerate(order)}
    for a in sorted(top_edges):
        for b in sorted(top_edges[a]):
            if a in rank and b in rank and rank[b] > rank[a]:
                faults.append(f"src/{a} imports {b}, which lib.rs declares after it (a later stage)")
    for comp in cycles(top, top_edges):
        faults.append("import cycle between top-level modules: " + " ⇄ ".join(comp))
    sib_nodes = set(sib_edges) | {t for v in sib_edges.values() for t in v}
    for comp in cycles(sib_nodes, sib_edges):
        faults.append("import cycle between sibling files: " + " ⇄ ".join("::".join(c) for c in comp))

    if "--graph" in sys.argv:
        for a in sorted(top_edges):
            print(f"{a} → {' '.join(sorted(top_edges[a]))}")
    for f in faults:
        print(f)
    if faults:
        return 1
    print(f"layout ok: {len(entries)} entries in src/, {len(files)} files, no cycle, none over {MAX_LINES} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
