#!/usr/bin/env python3
"""Check the source tree's layout (issue 13): no import cycle between top-level
modules, none between the siblings of a folder, no source file over the line limit
before its tests, and at most MAX_ENTRIES entries in src/.

What counts as an import: every path into the crate that a file's code names — `use`
trees (braces expanded, `self` and `as` understood) and every path written anywhere
else: in expressions (`super::pg::write_lock(…)`), types, generic arguments
(`collect::<crate::store::db::Result<_>>()`), attributes and macros (`$crate::…`),
whether it starts at `crate`, `super` or `self`, at a name a `use` brought in (`use
crate::store; … store::search::index(…)`), or at a module the file declares. Comments,
strings and character literals are skipped by a small lexer, so a quote or `//` in
one never hides code. Test modules are left out (`#[cfg(test)]` blocks and
`*_tests.rs`/`tests/` files, which may use anything).

Siblings are the entries of one folder, a sub-folder counting as one entry with every
file inside it (so `store/pg/copy.rs` naming `store::search` is an edge `store::pg →
store::search`, as `store/pg/mod.rs` naming `store::db` is `store::pg → store::db`).
A folder's `mod.rs` (or `name.rs` beside `name/`) is its face, not a sibling of its
own children: they may use what it declares.

Usage: python3 tools/layout/check.py [--graph]   (from the repository's root)
Exit 1 with the faults (a cycle with each of its edges and the first place the code
takes it: file, line, path); --graph prints the top-level edges.
"""

import os
import re
import sys

SRC = "src"
MAX_ENTRIES = 14
MAX_LINES = 450

IDENT = re.compile(r"(?:r#)?[A-Za-z_][A-Za-z0-9_]*")


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
                out.extend(["", ""])
                i += 2
                continue
            break
        out.append(lines[i])
        i += 1
    return out


def blank(s):
    """`s` with everything but line breaks made spaces (offsets, hence lines, kept)."""
    return re.sub(r"[^\n]", " ", s)


def strip_comments(text):
    """The code with comments, string and character literals blanked out, lifetimes and
    every offset kept. Block comments nest; raw strings (`r#"…"#`) end only at their own
    closing; `'a` is a lifetime, `'a'` and `'\\''` are characters."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(blank(text[i:j]))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(text[i:j]))
            i = j
        elif (m := re.compile(r'(?:b|c)?r(#*)"').match(text, i)) and (
            i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")
        ):
            close = '"' + m.group(1)
            j = text.find(close, m.end())
            j = n if j < 0 else j + len(close)
            out.append('""' + blank(text[i + 2 : j]))
            i = j
        elif c == '"' or (
            c in "bc"
            and text.startswith('"', i + 1)
            and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_"))
        ):
            j = i + (1 if c == '"' else 2)
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append('""' + blank(text[i + 2 : j]))
            i = j
        elif c == "'":
            # A character ('x', '\n', '\u{1F600}', b'x' reached via the letter) or a lifetime.
            m = re.compile(r"'(?:\\(?:u\{[0-9A-Fa-f]*\}|x[0-9A-Fa-f]{2}|.)|[^\\'\n])'").match(text, i)
            if m:
                out.append(" " * (m.end() - i))
                i = m.end()
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def expand_use(body):
    """Expand a `use` tree (`a::{b, c::{d as e, self}}`) into (path segments, bound name)
    pairs: the name is what the use brings into scope (None for a glob)."""
    body = re.sub(r"\s+", " ", body).strip()

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
        if cur.strip():
            out.append(cur)
        return out

    def go(prefix, s):
        s = s.strip()
        i = s.find("{")
        if i < 0:
            alias = None
            m = re.match(r"(.*?)\s+as\s+(\S+)$", s)
            if m:
                s, alias = m.group(1), m.group(2)
            segs = prefix + [p.strip() for p in s.split("::") if p.strip()]
            if segs and segs[-1] == "self":
                segs = segs[:-1]
            if not segs:
                return []
            name = alias or (None if segs[-1] == "*" else segs[-1])
            return [([x for x in segs if x != "*"], name)]
        head = [p.strip() for p in s[:i].split("::") if p.strip()]
        inner = s[i + 1 : s.rfind("}")]
        res = []
        for part in split_top(inner):
            res.extend(go(prefix + head, part))
        return res

    return go([], body)


def resolve(own, segs, scope):
    """The absolute module path a reference points into (a prefix is enough), or None
    for a path outside the crate (std, a dependency, a local item or variable)."""
    if not segs:
        return None
    head = segs[0]
    if head in ("crate", "$crate"):
        return segs[1:]
    if head in ("super", "self"):
        base = list(own)
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super":
                base = base[:-1]
            segs = segs[1:]
        return base + segs
    if head in scope:
        return scope[head] + segs[1:]
    return None


def references(code, own):
    """Every crate-relative path the code names, as (absolute segments, offset, the path
    as written)."""
    # A `use` path may start at a name an earlier `use` brought in (`use super::pg;
    # use pg::leases;`), or at a module this file declares (`mod x; use x::Y;`).
    scope = {m: own + [m] for m in re.findall(r"\bmod\s+(?:r#)?([A-Za-z_]\w*)\s*[;{]", code)}
    refs = []
    uses = []
    for m in re.finditer(r"\buse\s+([^;]+);", code):
        uses.append((m.start(), m.end()))
        for segs, name in expand_use(m.group(1)):
            segs = [s.removeprefix("r#") for s in segs if s != "::"]
            target = resolve(own, segs, scope)
            if target is None:
                continue
            refs.append((target, m.start(), "use " + "::".join(segs)))
            if name and name not in ("_", "self"):
                scope[name.removeprefix("r#")] = target
    # Every other path, wherever it is written: a run of `name :: name :: …` (or one
    # starting at `$crate`) not preceded by `::` or `.` (a method's turbofish).
    rest = list(code)
    for a, b in uses:
        rest[a:b] = blank(code[a:b])
    rest = "".join(rest)
    path = re.compile(r"(\$crate|(?:r#)?[A-Za-z_][A-Za-z0-9_]*)((?:\s*::\s*(?:r#)?[A-Za-z_][A-Za-z0-9_]*)+)")
    for m in path.finditer(rest):
        before = rest[: m.start()].rstrip()
        if before.endswith("::") or (before.endswith(".") and not before.endswith("..")):
            continue
        if m.start() > 0 and (rest[m.start() - 1].isalnum() or rest[m.start() - 1] in "_$"):
            continue
        segs = [m.group(1)] + [s.strip() for s in m.group(2).split("::") if s.strip()]
        segs = [s.removeprefix("r#") for s in segs]
        target = resolve(own, segs, scope)
        if target is not None:
            refs.append((target, m.start(), "::".join(segs)))
    return refs


def cycles(nodes, edges):
    """The strongly connected components of more than one module (Tarjan), each a
    cycle of imports."""
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
    # edges[node] = {node}, where a node is a module path (a tuple); where[(a, b)] is the
    # first place the code takes the step a → b, for the message.
    edges = {}
    where = {}
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
        for target, offset, shown in references(code, own):
            # At each level, the entry of that folder that holds this file, to the entry
            # that holds the target (the folder's face, own[:k] itself, is no entry).
            for k in range(len(own)):
                folder = own[:k]
                if len(target) <= k or target[:k] != folder:
                    continue
                a, b = tuple(own[: k + 1]), tuple(target[: k + 1])
                if a == b or b not in modules:
                    continue
                if k == 0 and b[0] not in top:
                    continue
                edges.setdefault(a, set()).add(b)
                if (a, b) not in where:
                    line = code.count("\n", 0, offset) + 1
                    where[(a, b)] = f"{f}:{line}: {shown}"

    top_edges = {a[0]: {b[0] for b in bs} for a, bs in edges.items() if len(a) == 1}
    # The pipeline's order is lib.rs's: a module imports only modules declared above it.
    with open(os.path.join(SRC, "lib.rs"), encoding="utf-8") as fh:
        order = re.findall(r"^pub mod ([a-z_]+);", fh.read(), flags=re.M)
    rank = {m: i for i, m in enumerate(order)}
    for a in sorted(top_edges):
        for b in sorted(top_edges[a]):
            if a in rank and b in rank and rank[b] > rank[a]:
                faults.append(
                    f"src/{a} imports {b}, which lib.rs declares after it (a later stage): "
                    f"{where[((a,), (b,))]}"
                )
    by_folder = {}
    for a in edges:
        by_folder.setdefault(a[:-1], set()).add(a)
    for folder in sorted(by_folder):
        nodes = by_folder[folder] | {b for a in by_folder[folder] for b in edges[a]}
        for comp in cycles(nodes, edges):
            kind = "top-level modules" if not folder else "siblings in src/" + "/".join(folder) + "/"
            lines = [f"import cycle between {kind}: " + " ⇄ ".join("::".join(c) for c in comp)]
            for a in comp:
                for b in sorted(edges.get(a, set()) & set(comp)):
                    lines.append(f"  {'::'.join(a)} → {'::'.join(b)}  ({where[(a, b)]})")
            faults.append("\n".join(lines))

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
