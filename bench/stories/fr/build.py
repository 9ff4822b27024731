#!/usr/bin/env python3
"""The items of the French labelled set, read from the captures they were labelled on.

The captures' text is the publishers' (`../shared/corpora/README.md`: test input only,
never copied into the project), so the repository keeps only the labels (`pairs.tsv`: each
item's outlet, guid and address, and our reasons). This script rebuilds `items.jsonl` beside
it from `real/feeds/fr-2025-02-10-plurital` of the shared corpora (`$VIGIE_CORPORA`, else
`../shared/corpora`); `eval.py --set bench/stories/fr` and `prototype.py` run it when the
file is missing. `items.jsonl` is not tracked by git.

    python3 bench/stories/fr/build.py

What it reads, so that the set is the one the pairs were labelled on:
- every well-formed capture, in file-name order (the two ill-formed ones, and the HTML page
  saved as a feed, add no item);
- the outlet from the file name (`flux-rss*` is BFM TV, `france-info-*` franceinfo, ...);
- one item per outlet and guid (the address when there is none) without its `#fragment`:
  franceinfo puts one article in several feeds, each with its own `#xtor=` tag; the first
  file's copy is kept;
- title and teaser with their markup dropped and their spaces collapsed, the date as ISO 8601;
- the items in order of their dates as written (the feed's own offset), ties in file order.
Standard library only.
"""

import html
import json
import os
import re
import sys
import tempfile
import xml.etree.ElementTree as ET
from datetime import datetime
from email.utils import parsedate_to_datetime

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
CAPTURES = os.path.join("real", "feeds", "fr-2025-02-10-plurital")
OUTLETS = [("flux-rss", "bfmtv"), ("blast", "blast"), ("elucid", "elucid"),
           ("france-info", "franceinfo"), ("le-figaro", "lefigaro"), ("liberation", "liberation")]
_TAG = re.compile(r"<[^>]*>?")


def captures_dir():
    corpora = os.environ.get("VIGIE_CORPORA") or os.path.join(ROOT, "..", "shared", "corpora")
    path = os.path.join(corpora, CAPTURES)
    if not os.path.isdir(path):
        raise SystemExit(f"the French captures are not at {path}: set VIGIE_CORPORA to the "
                         "shared corpora folder")
    return path


def _child(item, *names):
    for name in names:
        for c in item:
            if c.tag.split("}")[-1] == name:
                return c
    return None


def _text(node):
    return "".join(node.itertext()) if node is not None else ""


def _clean(s):
    return " ".join(html.unescape(_TAG.sub(" ", s)).split())


def _date(s):
    s = s.strip()
    if not s:
        return ""
    try:
        return parsedate_to_datetime(s).isoformat()
    except (TypeError, ValueError):
        return datetime.fromisoformat(s.replace("Z", "+00:00")).isoformat()


def items(path=None):
    """The set's items (dicts: lang, outlet, guid, link, title, summary, published)."""
    path = path or captures_dir()
    out, seen = [], set()
    for name in sorted(os.listdir(path)):
        outlet = next((o for prefix, o in OUTLETS if name.startswith(prefix)), None)
        if outlet is None:
            continue
        try:
            root = ET.parse(os.path.join(path, name)).getroot()
        except ET.ParseError:
            continue
        for it in root.iter():
            if it.tag.split("}")[-1] not in ("item", "entry"):
                continue
            link_node = _child(it, "link")
            link = ""
            if link_node is not None:
                link = (link_node.get("href") or link_node.text or "").strip()
            guid = _text(_child(it, "guid", "id")).strip() or link
            key = (outlet, guid.split("#")[0])
            if key in seen:
                continue
            seen.add(key)
            out.append({"lang": "fr", "outlet": outlet, "guid": guid, "link": link,
                        "title": _clean(_text(_child(it, "title"))),
                        "summary": _clean(_text(_child(it, "description", "summary"))),
                        "published": _date(_text(_child(it, "pubDate", "published", "updated")))})
    out.sort(key=lambda d: d["published"])
    return out


def write(target):
    """Builds the items, then replaces `target` with them: a failure leaves `target` as it was."""
    rows = items()
    folder = os.path.dirname(os.path.abspath(target))
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix="items.jsonl.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for d in rows:
                f.write(json.dumps(d, ensure_ascii=False) + "\n")
        os.replace(tmp, target)
        tmp = None
    except OSError as e:
        raise SystemExit(f"cannot write the French items to {target}: {e.strerror or e}")
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)
    return target


def ensure(target=None):
    """Writes `items.jsonl` beside this script unless it is there; returns its path."""
    target = target or os.path.join(HERE, "items.jsonl")
    if not os.path.exists(target):
        write(target)
    return target


if __name__ == "__main__":
    target = write(os.path.join(HERE, "items.jsonl"))
    with open(target, encoding="utf-8") as f:
        n = sum(1 for _ in f)
    print(f"{target}: {n} items", file=sys.stderr)
