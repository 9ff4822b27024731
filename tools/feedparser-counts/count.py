"""Reference item counts from Python's feedparser for a corpus of real feeds.

vigie's corpora test checks that vigie reads at least as many items as
feedparser from each file; this script produces those reference counts.

Usage: python3 count.py [FOLDER] > tests/fixtures/feedparser-counts.tsv

FOLDER defaults to ../shared/corpora/real/feeds relative to the repository
root. Every regular file under it is parsed with feedparser.parse(bytes), with
no HTTP headers. Output is TSV on stdout: a header `path, items, bozo`, then
one line per file sorted by path (relative, forward slashes). A file that
feedparser cannot read at all gets 0 items and bozo 1.
"""

import sys
from pathlib import Path

import feedparser

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_FOLDER = REPO_ROOT / ".." / "shared" / "corpora" / "real" / "feeds"


def count(path):
    """Return (items, bozo) for one file."""
    try:
        d = feedparser.parse(path.read_bytes())
    except Exception:
        return 0, 1
    return len(d.entries), 1 if d.bozo else 0


def main():
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_FOLDER
    if not folder.is_dir():
        sys.exit(f"not a folder: {folder}")
    rows = sorted(
        (p.relative_to(folder).as_posix(), *count(p))
        for p in folder.rglob("*")
        if p.is_file()
    )
    out = sys.stdout
    out.write("path\titems\tbozo\n")
    for rel, items, bozo in rows:
        out.write(f"{rel}\t{items}\t{bozo}\n")


if __name__ == "__main__":
    main()
