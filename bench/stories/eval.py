#!/usr/bin/env python3
"""Stories on real cross-outlet news (issue 24): every item of a labelled set polled by
vigie as feeds from loopback, then each labelled pair asked: were both items filed under
one story?

The set is `../shared/corpora/stories-en` by default (items.jsonl: outlet, guid, link,
title, summary, published; pairs.tsv: tab-separated, not quoted, label 1 same story, 0
not, -1 unsure). Each outlet becomes one RSS feed served on 127.0.0.1 with its items
(teasers only: the feed's summary, `fulltext = "never"`), `vigie poll` stores them all,
and the SQLite store says which story each item went to.

Prints precision and recall on the same-story pairs, with and without the `diff-angle`
pairs (explainers, opinion, reactions), and what each kind of pair became.

The French set labelled for issue 24 is `bench/stories/fr` (the plurital captures of
`../shared/corpora/real/feeds/fr-2025-02-10-plurital`, 1,496 items, 177 pairs). The
repository keeps its labels only: its items.jsonl is rebuilt from the captures by
`bench/stories/fr/build.py` when missing.

Usage (from the repository's root):
    python3 bench/stories/eval.py [--set DIR] [--vigie PATH] [--keep DIR] [--list] [--pairs TSV]
    python3 bench/stories/eval.py --set bench/stories/fr
VIGIE (or --vigie) names the binary; by default target/release/vigie, built if missing.
Standard library only; traffic to 127.0.0.1 only.
"""

import argparse
import csv
import email.utils
import html
import http.server
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections import defaultdict
from datetime import datetime

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_items(path):
    items = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                items.append(json.loads(line))
    return items


def load_pairs(path):
    pairs = []
    with open(path, encoding="utf-8", newline="") as f:
        rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(rows)
        for r in rows:
            if len(r) < len(header):
                continue
            rec = dict(zip(header, r))
            try:
                label = int(rec["label"])
            except ValueError:
                continue
            if label < 0:
                continue
            tag = rec.get("reason", "").split(":")[0].strip().split(" ")[0]
            pairs.append((rec, label, tag))
    return pairs


def rfc822(published):
    if not published:
        return None
    try:
        t = datetime.fromisoformat(published.replace("Z", "+00:00"))
    except ValueError:
        return None
    return email.utils.format_datetime(t)


def rss(outlet, items):
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<rss version="2.0"><channel>',
           f"<title>{html.escape(outlet)}</title><link>https://{html.escape(outlet)}.example/</link>",
           "<description>labelled set</description>"]
    for it in items:
        out.append("<item>")
        out.append(f'<guid isPermaLink="false">{html.escape(it["guid"])}</guid>')
        if it.get("link"):
            out.append(f"<link>{html.escape(it['link'])}</link>")
        out.append(f"<title>{html.escape(it.get('title') or '')}</title>")
        out.append(f"<description>{html.escape(it.get('summary') or '')}</description>")
        date = rfc822(it.get("published"))
        if date:
            out.append(f"<pubDate>{date}</pubDate>")
        out.append("</item>")
    out.append("</channel></rss>")
    return "\n".join(out).encode("utf-8")


def serve(feeds):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = feeds.get(self.path)
            if body is None:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def vigie_binary(arg):
    path = arg or os.environ.get("VIGIE")
    if path:
        return path
    path = os.path.join(ROOT, "target", "release", "vigie")
    if not os.path.exists(path):
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", default=os.path.join(ROOT, "..", "shared", "corpora", "stories-en"))
    ap.add_argument("--vigie")
    ap.add_argument("--keep", help="keep the configuration and store in this folder")
    ap.add_argument("--list", action="store_true", help="list the missed pairs and the wrong merges")
    ap.add_argument("--pairs", help="another labelling of the set's pairs, in the same format (for "
                    "the French set: bench/stories/fr/pairs-second.tsv, a blind second reading)")
    args = ap.parse_args()
    if os.path.exists(os.path.join(args.set, "build.py")):
        # A set kept as labels only (bench/stories/fr): its items are rebuilt from the captures.
        sys.path.insert(0, args.set)
        import build
        build.ensure()
    items = load_items(os.path.join(args.set, "items.jsonl"))
    title_of = {(it["outlet"], it["guid"]): it["title"] for it in items}
    pairs = load_pairs(args.pairs or os.path.join(args.set, "pairs.tsv"))
    by_outlet = defaultdict(list)
    for it in items:
        by_outlet[it["outlet"]].append(it)
    feeds = {f"/{o}.xml": rss(o, its) for o, its in by_outlet.items()}
    server = serve(feeds)
    port = server.server_address[1]
    work = args.keep or tempfile.mkdtemp(prefix="vigie-stories-")
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(work, "rules.toml"), "w", encoding="utf-8") as f:
        f.write("")
    with open(os.path.join(work, "vigie.toml"), "w", encoding="utf-8") as f:
        f.write('state_dir = "state"\nrules = ["rules.toml"]\n\n[poll]\nper_host = 8\n\n')
        for o in sorted(by_outlet):
            f.write(f'[[feed]]\nname = "{o}"\nurl = "http://127.0.0.1:{port}/{o}.xml"\nfulltext = "never"\n\n')
    vigie = vigie_binary(args.vigie)
    run = subprocess.run([vigie, "-c", os.path.join(work, "vigie.toml"), "poll"],
                         capture_output=True, text=True)
    server.shutdown()
    if run.returncode != 0:
        sys.stderr.write(run.stdout + run.stderr)
        sys.exit(1)
    db = sqlite3.connect(os.path.join(work, "state", "vigie.db"))
    story_of = {}
    for outlet, fguid, aguid, link, canon, story in db.execute(
        "SELECT f.name, af.guid, a.guid, a.link, a.canonical_link, a.story_id FROM articles a "
        "JOIN article_feeds af ON af.article_id = a.id JOIN feeds f ON f.id = af.feed_id"
    ):
        for key in (fguid, aguid, link, canon):
            if key:
                story_of.setdefault((outlet, key), story)
    stories = db.execute("SELECT COUNT(DISTINCT story_id), COUNT(*) FROM articles").fetchone()

    def story(outlet, guid, link):
        for key in (guid, html.unescape(guid), link, html.unescape(link)):
            s = story_of.get((outlet, key))
            if s is not None:
                return s
        return None

    counts = defaultdict(lambda: [0, 0])  # tag -> [grouped, pairs]
    missing = 0
    results = []
    for rec, label, tag in pairs:
        a = story(rec["outlet_a"], rec["guid_a"], rec["link_a"])
        b = story(rec["outlet_b"], rec["guid_b"], rec["link_b"])
        if a is None or b is None:
            missing += 1
            continue
        grouped = a == b
        counts[tag][0] += int(grouped)
        counts[tag][1] += 1
        results.append((label, tag, grouped))
        if args.list and label in (0, 1) and grouped != (label == 1):
            kind = "missed" if label == 1 else "WRONG "
            for side, lead in (("a", f"{kind} [{tag}]"), ("b", " " * (len(tag) + 9))):
                outlet, guid = rec[f"outlet_{side}"], rec[f"guid_{side}"]
                title = rec.get(f"title_{side}") or title_of.get((outlet, guid), guid)
                print(f"{lead} {outlet}: {title}")

    def figures(keep):
        tp = sum(1 for label, tag, g in results if keep(tag) and label == 1 and g)
        fp = sum(1 for label, tag, g in results if keep(tag) and label == 0 and g)
        fn = sum(1 for label, tag, g in results if keep(tag) and label == 1 and not g)
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 0.0
        return tp, fp, fn, p, r

    print(f"{len(items)} items from {len(by_outlet)} outlets polled: {stories[1]} articles, {stories[0]} stories")
    print(f"{len(results)} labelled pairs found in the store ({missing} not found)")
    for name, keep in (("all pairs", lambda t: True),
                       ("without diff-angle", lambda t: t != "diff-angle")):
        tp, fp, fn, p, r = figures(keep)
        print(f"{name:>20}: precision {p:.3f}  recall {r:.3f}  (grouped {tp} of {tp + fn} same-story pairs; {fp} wrong merges)")
    for tag in sorted(counts):
        g, n = counts[tag]
        print(f"{tag:>20}: {g} of {n} pairs grouped")
    if args.keep:
        print(f"configuration and store kept in {work}")


if __name__ == "__main__":
    main()
