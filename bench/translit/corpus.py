"""Real text for the `~` precision run (issue 25): every item of ../shared/corpora/real/feeds
(RSS 0.9x/1.0/2.0, Atom, JSON Feed captures) and the 200 articles of ../shared/corpora/geo.

Standard library only. Feeds are parsed with xml.etree; a file that is not well-formed XML is
read leniently (items cut out with regular expressions, entities decoded by html.unescape), as
vigie's own reader does. HTML in titles, summaries and contents is reduced to text. Items are
deduplicated across snapshots and feeds by guid, else link, else title: the gitscraped English
outlets were saved several times over five days, and one article seen in ten snapshots is one
article. The text of an article is its latest version's title, summary and content.
"""

import html
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / ".." / "shared"
FEEDS = SHARED / "corpora" / "real" / "feeds"
GWN = SHARED / "corpora" / "geo" / "GeoWebNews-GWN.xml"

TAG = re.compile(r"<[^>]*>")
BLOCK = re.compile(r"</?(p|div|br|li|h[1-6]|tr|td|blockquote)\b[^>]*>", re.I)
SCRIPT = re.compile(r"<(script|style)\b.*?</\1>", re.I | re.S)


def html_to_text(s):
    """Markup reduced to text: scripts dropped, blocks to spaces, tags removed, entities decoded
    (twice: feeds often escape HTML that itself holds entities)."""
    if not s:
        return ""
    if "<" not in s and "&" not in s:
        return " ".join(s.split())
    s = html.unescape(s) if "&lt;" in s else s
    s = SCRIPT.sub(" ", s)
    s = BLOCK.sub(" ", s)
    s = TAG.sub("", s)
    s = html.unescape(s)
    return " ".join(s.split())


def local(tag):
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def text_of(el):
    """Text of an element, its children's markup included (Atom content type="xhtml")."""
    if el is None:
        return ""
    if len(el):
        return "".join(ET.tostring(c, encoding="unicode") for c in el) + (el.text or "")
    return el.text or ""


def items_from_tree(root):
    out = []
    for el in root.iter():
        name = local(el.tag)
        if name not in ("item", "entry"):
            continue
        fields = {"title": "", "summary": "", "content": "", "id": ""}
        for c in el:
            n = local(c.tag)
            if n == "title":
                fields["title"] = text_of(c)
            elif n in ("description", "summary", "subtitle"):
                fields["summary"] = fields["summary"] or text_of(c)
            elif n in ("encoded", "content"):
                fields["content"] = fields["content"] or text_of(c)
            elif n in ("guid", "id") and not fields["id"]:
                fields["id"] = (c.text or "").strip()
            elif n == "link" and not fields["id"]:
                fields["id"] = (c.get("href") or c.text or "").strip()
        out.append(fields)
    return out


ITEM_RE = re.compile(r"<(item|entry)\b[^>]*>(.*?)</\1\s*>", re.S | re.I)


def field_re(names):
    alt = "|".join(names)
    return re.compile(r"<(?:[\w.-]+:)?(%s)\b[^>]*>(.*?)</(?:[\w.-]+:)?\1\s*>" % alt, re.S | re.I)


TITLE_RE = field_re(["title"])
SUMMARY_RE = field_re(["description", "summary"])
CONTENT_RE = field_re(["encoded", "content"])
ID_RE = field_re(["guid", "id", "link"])
CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)


def unwrap(s):
    if "<![CDATA[" in s:
        return CDATA.sub(lambda m: m.group(1), s)
    return html.unescape(s)


def items_lenient(raw):
    out = []
    for m in ITEM_RE.finditer(raw):
        body = m.group(2)
        f = {}
        for key, rx in (("title", TITLE_RE), ("summary", SUMMARY_RE), ("content", CONTENT_RE),
                        ("id", ID_RE)):
            g = rx.search(body)
            f[key] = unwrap(g.group(2)) if g else ""
        out.append(f)
    return out


def decode(data):
    m = re.match(rb'<\?xml[^>]*encoding=["\']([\w.-]+)', data)
    for enc in ([m.group(1).decode()] if m else []) + ["utf-8", "windows-1252"]:
        try:
            return data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("utf-8", "replace")


def parse_file(path):
    data = path.read_bytes()
    stripped = data.lstrip()
    if stripped[:1] in (b"{", b"["):
        try:
            doc = json.loads(data.decode("utf-8", "replace"))
            return [{"title": i.get("title", ""), "summary": i.get("summary", ""),
                     "content": i.get("content_html") or i.get("content_text", ""),
                     "id": i.get("id") or i.get("url", "")} for i in doc.get("items", [])]
        except (ValueError, AttributeError):
            return []
    try:
        return items_from_tree(ET.fromstring(data))
    except ET.ParseError:
        return items_lenient(decode(data))


def load_feed_items():
    """[(source, title, summary, content)] of distinct items, and counts."""
    files = sorted(p for p in FEEDS.rglob("*") if p.is_file())
    seen = {}
    raw_items = 0
    for p in files:
        rel = p.relative_to(FEEDS).as_posix()
        for it in parse_file(p):
            raw_items += 1
            title = html_to_text(it["title"])
            summary = html_to_text(it["summary"])
            content = html_to_text(it["content"])
            key = (it["id"] or "").strip() or title
            if not key and not summary:
                continue
            # Latest snapshot wins (files are walked in time order within an outlet).
            seen[key] = (rel, title, summary, content)
    items = list(seen.values())
    return items, {"files": len(files), "raw_items": raw_items, "distinct_items": len(items)}


def load_geo():
    """[(source, title, '', text)] for the 200 GeoWebNews articles."""
    out = []
    for a in ET.parse(GWN).getroot().findall("article"):
        text = a.findtext("text") or ""
        title = a.findtext("title") or ""
        out.append(("geo/" + (a.get("file") or str(len(out))), title, "", text))
    return out
