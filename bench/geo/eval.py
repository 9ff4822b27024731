#!/usr/bin/env python3
"""Places on real news (issue 16): precision and recall of `place:` and `within()` on the
200 hand-annotated articles of ../shared/corpora/geo (GeoWebNews), judged per article.

What counts as a true mention of a place in an article: a toponym of a literal or
metonymic kind (Literal, Mixed, Coercion, Embedded_Literal, Literal_Modifier, Metonymic,
Non_Literal_Modifier, Embedded_Non_Lit) annotated with that place's GeoNames id, or with
the same name within 25 km of it, or that names the same gazetteer place under another id or
name («District of Columbia», «Washington, D.C.» for Washington). Demonyms, non-toponyms and expressions are not mentions:
GeoWebNews labels «Canadian» or «British» by their use (Non_Literal_Modifier…), so a
demonym is recognised by its form (is_demonym: one word, not the place's name nor part of
it, ending like a demonym: -an, -ian, -ese, -ish, -i, -ic, -ch, -ois…).

- `place:`: one watch for each of the N places mentioned in the most articles (countries,
  states and regions included), written `place:"Name"/CC` with the gazetteer's own name and
  country for it (found by name and coordinates); a watch alerts on an article if vigie
  matches it. A place the gazetteer cannot resolve is listed, and counts as recall lost.
- `within(50km, X)`: for the best-covered towns, a watch `within(50km, "Name")`; an article
  is a true match when it mentions any place within 50 km of X.

Usage: python3 bench/geo/eval.py [--top 25] [--towns 8] [--vigie PATH]
(builds nothing: give --vigie, or it uses target/release/vigie, then target/debug/vigie.)
"""

import argparse
import gzip
import json
import math
import os
import subprocess
import sys
import tempfile
import unicodedata
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GWN = ROOT / ".." / "shared" / "corpora" / "geo" / "GeoWebNews-GWN.xml"
GAZETTEER = ROOT / "data" / "gazetteer.tsv.gz"
COUNTED = {
    "Literal", "Mixed", "Coercion", "Embedded_Literal", "Literal_Modifier",
    "Metonymic", "Non_Literal_Modifier", "Embedded_Non_Lit",
}


def km(a, b):
    (la1, lo1), (la2, lo2) = a, b
    p1, p2 = math.radians(la1), math.radians(la2)
    d = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lo2 - lo1) / 2) ** 2
    return 6371 * 2 * math.asin(math.sqrt(min(1, d)))


def fold(s):
    s = unicodedata.normalize("NFKD", s.lower())
    s = "".join(c for c in s if not unicodedata.combining(c))
    return " ".join("".join(c if c.isalnum() else " " for c in s).split())


DEMONYM_ENDINGS = ("an", "ian", "ean", "ese", "ish", "i", "ic", "ch", "ak", "ois", "oise", "ien",
                  "ienne", "ais", "aise", "ain", "aine", "ite")


def is_demonym(written, name):
    """«Canadian» for Canada, «British» for the United Kingdom, «Iraqi», «français»: GeoWebNews
    labels adjectives of places by their use (Literal_Modifier…), but the contract's `place:`
    matches names, not demonyms. A demonym here: one word, not the place's name nor part of it,
    with a demonym's ending."""
    w, n = fold(written), fold(name)
    return (" " not in w and w not in n.split()
            and any(w.endswith(e) for e in DEMONYM_ENDINGS))


def articles():
    out = []
    for a in ET.parse(GWN).getroot().findall("article"):
        mentions = []
        for t in a.find("toponyms").findall("toponym"):
            typ = (t.findtext("type") or "").strip()
            lat, lon = t.findtext("latitude"), t.findtext("longitude")
            if typ not in COUNTED or not lat or not lon:
                continue
            written = (t.findtext("extractedName") or "").strip()
            name = (t.findtext("normalisedName") or "").strip() or written
            if is_demonym(written, name):
                continue
            mentions.append({
                "id": (t.findtext("geonamesID") or "").strip(),
                "name": name,
                "written": written,
                "type": typ,
                "at": (float(lat), float(lon)),
            })
        out.append({"title": a.findtext("title") or "", "text": a.findtext("text") or "", "mentions": mentions})
    return out


def gazetteer():
    """name (folded) -> [(kind, cc, population, (lat, lon), main name, area)]"""
    by_name = defaultdict(list)
    with gzip.open(GAZETTEER, "rt", encoding="utf-8") as f:
        next(f)
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 7:
                continue
            kind, cc, area, pop, lat, lon, name = cols[:7]
            entry = (kind.upper(), cc, int(pop), (int(lat) / 1000, int(lon) / 1000), name, area)
            for n in {fold(x.lstrip("!")) for x in cols[7:]} | {fold(name)}:
                by_name[n].append(entry)
    return by_name


def resolve(gaz, name, at):
    """The gazetteer's place for an annotated (name, coordinates): a country of that name,
    else the nearest town of that name within 50 km, else the nearest division or region of
    that name within 1,500 km (their points are a largest town or a centre, not the gold's)."""
    cands = gaz.get(fold(name), [])
    countries = [c for c in cands if c[0] == "A"]
    if countries:
        return max(countries, key=lambda c: c[2])
    towns = sorted((km(c[3], at), c) for c in cands if c[0] == "P")
    if towns and towns[0][0] <= 50:
        return towns[0][1]
    areas = sorted((km(c[3], at), c) for c in cands if c[0] in "DR")
    return areas[0][1] if areas and areas[0][0] <= 1500 else None


def term_of(g):
    """The place: term that names gazetteer place g."""
    kind, cc, _, _, name, area = g
    if kind == "A" or (kind == "R" and cc == "ZZ"):
        return f'place:"{name}"'
    if kind == "D" and area not in ("", "?"):
        return f"place:{cc}-{area}"
    return f'place:"{name}"/{cc}'


def vigie_bin(arg):
    for p in [arg, ROOT / "target/release/vigie", ROOT / "target/debug/vigie"]:
        if p and Path(p).is_file():
            return str(p)
    sys.exit("no vigie binary: build one (cargo build) or give --vigie PATH")


def run(vigie, watches, files, work):
    rules = "".join(f"[[watch]]\nname = \"{n}\"\nquery = '{q}'\n" for n, q in watches)
    (work / "rules.toml").write_text(rules)
    (work / "vigie.toml").write_text('rules = ["rules.toml"]\n')
    check = subprocess.run([vigie, "-c", str(work / "vigie.toml"), "check"], capture_output=True, text=True)
    if check.returncode != 0:
        sys.exit(check.stdout + check.stderr)
    out = subprocess.run([vigie, "-c", str(work / "vigie.toml"), "rules", "test", "--json", *map(str, files)],
                         capture_output=True, text=True, check=True)
    hits = defaultdict(set)
    for line in out.stdout.splitlines():
        j = json.loads(line)
        hits[j["watch"]].add(j["item"])
        EVIDENCE[(j["watch"], j["item"])] = j
    return hits, check.stdout + check.stderr


# (watch, article file) -> vigie's JSON line, for --explain.
EVIDENCE = {}


def score(truth, got, universe):
    tp = fp = fn = 0
    for w in truth:
        t, g = truth[w], got.get(w, set()) & universe
        tp, fp, fn = tp + len(t & g), fp + len(g - t), fn + len(t - g)
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0), tp, fp, fn


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--towns", type=int, default=8)
    ap.add_argument("--vigie")
    ap.add_argument("--explain", action="store_true",
                    help="list each watch's missed and wrongly matched articles, with the words")
    args = ap.parse_args()
    vigie = vigie_bin(args.vigie)
    arts, gaz = articles(), gazetteer()
    work = Path(tempfile.mkdtemp())
    files = []
    for i, a in enumerate(arts):
        f = work / f"a{i:03}.txt"
        f.write_text(a["title"].replace("\n", " ") + "\n\n" + a["text"])
        files.append(f)
    ids = {f.name: i for i, f in enumerate(files)}
    # The places mentioned in the most articles, by GeoNames id.
    per_place = Counter()
    sample = {}
    spellings = defaultdict(Counter)
    for i, a in enumerate(arts):
        for m in a["mentions"]:
            if m["id"]:
                spellings[m["id"]][m["written"]] += 1
        for m in {m["id"]: m for m in a["mentions"] if m["id"]}.values():
            per_place[m["id"]] += 1
            sample.setdefault(m["id"], m)

    def place_of(pid):
        """The gazetteer's place for an id: by its normalised name, else by the names
        the articles write it with, most frequent first."""
        m = sample[pid]
        for name in [m["name"]] + [w for w, _ in spellings[pid].most_common()]:
            g = resolve(gaz, name, m["at"])
            if g:
                return g
        return None

    def same_place(m, g):
        """A mention under another GeoNames id or name that is the same gazetteer place:
        «District of Columbia» and «Washington, D.C.» for Washington."""
        return g is not None and any(resolve(gaz, n, m["at"]) == g for n in (m["name"], m["written"]))

    def mentions(i, pid, at, name, g=None):
        return any(m["id"] == pid or (fold(m["name"]) == fold(name) and km(m["at"], at) <= 25)
                   or same_place(m, g)
                   for m in arts[i]["mentions"])

    watches, truth, unresolved = [], {}, []
    for pid, n in per_place.most_common(args.top):
        m = sample[pid]
        g = place_of(pid)
        if g is None:
            unresolved.append(f"{m['name']} ({n} articles)")
            # No watch can name it: its articles are recall lost.
            truth[f"unresolved-{pid}"] = {f"a{i:03}.txt" for i in range(len(arts)) if mentions(i, pid, m["at"], m["name"])}
            continue
        term = term_of(g)
        w = f"p{len(watches)}"
        watches.append((w, term))
        truth[w] = {f"a{i:03}.txt" for i in range(len(arts)) if mentions(i, pid, m["at"], m["name"], g)}
    # within(): the best-covered towns.
    towns = []
    for pid, n in per_place.most_common():
        m = sample[pid]
        g = place_of(pid)
        if g and g[0] == "P" and len(towns) < args.towns:
            towns.append((g, m))
    for g, m in towns:
        w = f"w{len(watches)}"
        watches.append((w, f'within(50km, "{g[4]}")'))
        truth[w] = {f"a{i:03}.txt" for i, a in enumerate(arts) if any(km(x["at"], g[3]) <= 50 for x in a["mentions"])}
    # Georgia, the country and the US state (issue 26): each watch should fire only on the
    # articles that name its own Georgia.
    georgia = {"GE": lambda at: 38 < at[0] < 44 and 39 < at[1] < 47,
               "US": lambda at: 30 < at[0] < 35.5 and -86 < at[1] < -80.5}
    for cc, inside in georgia.items():
        w = f"georgia-{cc}"
        watches.append((w, f"place:Georgia/{cc}"))
        truth[w] = {f"a{i:03}.txt" for i, a in enumerate(arts)
                    if any(fold(m["name"]) == "georgia" and inside(m["at"]) for m in a["mentions"])}
    got, check = run(vigie, watches, files, work)
    for w in ("georgia-GE", "georgia-US"):
        t, g = truth.pop(w), got.get(w, set())
        print(f"{w}: {len(t)} articles name it; fires on {len(g)}, {len(g - t)} of them wrongly, misses {len(t - g)}")
    watches = [(w, q) for w, q in watches if not w.startswith("georgia-")]
    universe = set(ids)
    place_w = {w for w, q in watches if q.startswith("place:")} | {w for w in truth if w.startswith("unresolved-")}
    within_w = set(truth) - place_w
    print(f"GeoWebNews, {len(arts)} articles; vigie {vigie}")
    # Issue 26: develop on the even-numbered articles, check on the odd ones (held out).
    for part, keep in [("all", lambda i: True), ("even", lambda i: i % 2 == 0), ("odd", lambda i: i % 2 == 1)]:
        u = {f for f in universe if keep(ids[f])}
        for label, ws, target in [("place:", place_w, "F1 >= 0.97"), ("within(50km)", within_w, "P >= 0.92, R >= 0.90")]:
            p, r, f1, tp, fp, fn = score({w: truth[w] & u for w in ws}, got, u)
            print(f"{part:<5} {label:<14} P {p:.3f}  R {r:.3f}  F1 {f1:.3f}   (tp {tp}, fp {fp}, fn {fn}; target {target})")
    print("\nper watch (articles: truth / matched / both):")
    for w, q in watches:
        t, g = truth[w], got.get(w, set())
        print(f"  {q:<40} {len(t):>3} / {len(g):>3} / {len(t & g):>3}")
    if args.explain:
        for w, q in watches:
            t, g = truth[w], got.get(w, set())
            for f in sorted(t - g):
                i = ids[f]
                near = sorted({f'{m["written"]} ({m["type"]})' for m in arts[i]["mentions"]})
                print(f"  MISSED {q} {f}: gold mentions {near[:14]}")
            for f in sorted(g - t):
                hit = EVIDENCE.get((w, f), {})
                print(f"  WRONG  {q} {f}: {json.dumps(hit.get('hits', hit), ensure_ascii=False)[:300]}")
    if unresolved:
        print("\nnot resolved in the gazetteer (recall lost): " + ", ".join(unresolved))
    warnings = [l for l in check.splitlines() if l.startswith("warning")]
    if warnings:
        print(f"\nvigie check warnings: {len(warnings)}")


if __name__ == "__main__":
    main()
