#!/usr/bin/env python3
"""Make data/person-names.txt.gz: the first names and surnames that tell a person from a place
(«the death of Ariel Leal», «Chris Stapleton»), for the place rules of vigie (docs/places.md).

Input: the `names` package 0.3.0 (PyPI, MIT licence), which ships the 1990 US Census lists of
first names (male and female) and surnames (public domain: a work of the US government).
Output (UTF-8, gzip without timestamp): `vigie-person-names 1`, then `F<TAB>name` lines (first
names held by at least 0.001 % of the people of one sex) and `S<TAB>name` lines (surnames held
by at least 0.0005 %), folded (lower case, no accents), each list sorted by bytes.
Usage: python3 tools/gazetteer/persons.py [--check]
"""

import argparse
import gzip
import io
import os
import sys
import unicodedata
from importlib import resources
from pathlib import Path

OUTPUT = Path(__file__).resolve().parents[2] / "data" / "person-names.txt.gz"
FIRST_MIN = 0.001  # per cent of one sex
LAST_MIN = 0.0005  # per cent of everyone


def fold(s: str) -> str:
    s = unicodedata.normalize("NFKD", s.lower())
    return "".join(c for c in s if not unicodedata.combining(c))


def read(name: str, floor: float) -> set[str]:
    out = set()
    text = resources.files("names").joinpath(name).read_text()
    for line in text.splitlines():
        cols = line.split()
        if len(cols) >= 2 and float(cols[1]) >= floor and cols[0].isalpha():
            out.add(fold(cols[0]))
    return out


def build() -> str:
    first = read("dist.male.first", FIRST_MIN) | read("dist.female.first", FIRST_MIN)
    last = read("dist.all.last", LAST_MIN)
    lines = ["vigie-person-names 1"]
    lines += [f"F\t{n}" for n in sorted(first, key=str.encode)]
    lines += [f"S\t{n}" for n in sorted(last, key=str.encode)]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if the committed file differs")
    args = ap.parse_args()
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as f:
        f.write(build().encode())
    data = buf.getvalue()
    if args.check:
        same = OUTPUT.exists() and OUTPUT.read_bytes() == data
        print("up to date" if same else f"{OUTPUT} is out of date", file=sys.stderr)
        return 0 if same else 1
    tmp = OUTPUT.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, OUTPUT)
    print(f"{OUTPUT}: {len(data)} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
