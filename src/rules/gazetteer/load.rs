//! Gazetteer, loading: the gzip-compressed, tab-separated data file into compact tables.
//!
//! Invariants: every byte range kept points into `text` on char boundaries (fields are split on
//! ASCII tabs and newlines only); ids are line numbers of the place section, `< entries.len()`;
//! a malformed file is a [`GazetteerError::Corrupt`] naming the line, never a panic.
//!
//! File format (version 3), UTF-8 after decompression:
//! `vigie-gazetteer 3 \t PLACES \t COMMON`, then PLACES lines
//! `KIND \t CC \t AREA \t POPULATION \t LAT \t LON \t DISPLAY-NAME [\t NAME]...` (KIND: `P`
//! town, `A` country, `D` division, `R` region, lower-case when the display name is not a usable
//! name; AREA as [`crate::rules::gazetteer::Place::area`] says; LAT/LON in millidegrees; NAMEs
//! folded, acronyms excepted, and prefixed with `!` when explicit only), then COMMON lines, one
//! folded common word each, sorted by bytes.

use std::io::Read;
use std::ops::Range;
use std::sync::OnceLock;

use crate::rules::fold::fold_term;
use crate::rules::gazetteer::{GazetteerError, Kind, Place};

/// The header's first field: the format this code reads.
const FORMAT: &str = "vigie-gazetteer 3";
/// Refuse to inflate more than this (the real data is about 15 MB).
const MAX_TEXT: u64 = 256 << 20;

/// One place, as stored: numbers and byte ranges into [`Gazetteer::text`].
#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub population: u64,
    /// Millidegrees.
    pub lat: i32,
    pub lon: i32,
    pub display: (u32, u32),
    /// The AREA field.
    pub area: (u32, u32),
    /// The tab-separated usable names (empty range when there are none).
    pub names: (u32, u32),
    pub cc: [u8; 2],
    pub kind: Kind,
}

/// One word-bounded part of a longer name (see `longer`): (hash of the part, place id, byte
/// range of the whole name in the text, byte offset of the part in the name).
pub(super) type Part = (u32, u32, (u32, u32), u32);

/// The gazetteer: every place with its usable names, an index from folded name to places, and
/// the common words that are never place names.
pub struct Gazetteer {
    pub(super) text: String,
    pub(super) entries: Vec<Entry>,
    /// (hash of a folded name, place id), sorted: [`Gazetteer::resolve`] looks names up here.
    pub(super) index: Vec<(u32, u32)>,
    /// Byte ranges of the common words in `text`, sorted by their bytes.
    pub(super) common: Vec<(u32, u32)>,
    /// ISO codes of the countries, sorted.
    pub(super) countries: Vec<[u8; 2]>,
    /// Ids of towns sorted by latitude, made on the first [`Gazetteer::within`].
    pub(super) by_lat: OnceLock<Vec<u32>>,
    /// Parts of major places' longer names, made on the first [`Gazetteer::longer_names`].
    pub(super) parts: OnceLock<Vec<Part>>,
    /// Ids of towns sorted by (country, division, population descending), made on the first
    /// [`Gazetteer::largest_towns`].
    pub(super) by_area: OnceLock<Vec<u32>>,
}

impl std::fmt::Debug for Gazetteer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gazetteer")
            .field("places", &self.entries.len())
            .field("names", &self.index.len())
            .field("common_words", &self.common.len())
            .finish()
    }
}

fn corrupt(line: usize, reason: impl Into<String>) -> GazetteerError {
    GazetteerError::Corrupt {
        line,
        reason: reason.into(),
    }
}

impl Gazetteer {
    /// Decode a data file (gzip of the format above). Pure: the caller supplies the bytes.
    pub fn parse(gz: &[u8]) -> Result<Gazetteer, GazetteerError> {
        let mut text = String::with_capacity(16 << 20);
        flate2::read::GzDecoder::new(gz)
            .take(MAX_TEXT)
            .read_to_string(&mut text)
            .map_err(|e| corrupt(0, format!("cannot decompress: {e}")))?;
        if text.len() as u64 >= MAX_TEXT || u32::try_from(text.len()).is_err() {
            return Err(corrupt(0, "larger than any gazetteer vigie ships"));
        }
        let mut lines = LineOffsets::new(&text);
        let (_, header) = lines.next().ok_or_else(|| corrupt(1, "empty file"))?;
        let mut head = text[header.clone()].split('\t');
        if head.next() != Some(FORMAT) {
            return Err(corrupt(1, format!("not a `{FORMAT}` file")));
        }
        let mut count = || -> Result<usize, GazetteerError> {
            head.next()
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| corrupt(1, "bad header counts"))
        };
        let (places, commons) = (count()?, count()?);
        let mut entries = Vec::with_capacity(places.min(1 << 22));
        let mut index = Vec::with_capacity(places.saturating_mul(5).min(1 << 24));
        for _ in 0..places {
            let (line, range) = lines.next().ok_or_else(|| corrupt(0, "too few places"))?;
            let id = u32::try_from(entries.len()).map_err(|_| corrupt(line, "too many places"))?;
            let entry = parse_place(&text, range, line)?;
            for name in split_names(&text, entry.names) {
                index.push((name_hash(&index_key(bare(name))), id));
            }
            entries.push(entry);
        }
        index.sort_unstable();
        let mut countries: Vec<[u8; 2]> = (entries.iter())
            .filter(|e: &&Entry| e.kind == Kind::Country)
            .map(|e| e.cc)
            .collect();
        countries.sort_unstable();
        countries.dedup();
        let mut common = Vec::with_capacity(commons);
        for _ in 0..commons {
            let (line, range) = lines
                .next()
                .ok_or_else(|| corrupt(0, "too few common words"))?;
            if range.is_empty() {
                return Err(corrupt(line, "empty common word"));
            }
            common.push(span(range));
        }
        if !common.is_sorted_by(|a, b| text[range(*a)] <= text[range(*b)]) {
            return Err(corrupt(0, "common words not sorted"));
        }
        Ok(Gazetteer {
            text,
            entries,
            index,
            common,
            countries,
            by_lat: OnceLock::new(),
            parts: OnceLock::new(),
            by_area: OnceLock::new(),
        })
    }

    /// Number of places.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The place with this id, if there is one.
    pub fn place(&self, id: u32) -> Option<Place> {
        let e = self.entries.get(id as usize)?;
        Some(Place {
            id,
            name: self.text[range(e.display)].to_owned(),
            country: String::from_utf8_lossy(&e.cc).into_owned(),
            area: self.text[range(e.area)].to_owned(),
            kind: e.kind,
            population: e.population,
            lat: f64::from(e.lat) / 1000.0,
            lon: f64::from(e.lon) / 1000.0,
        })
    }

    /// The population of place `id` (for a division, its towns'), without building a [`Place`].
    pub fn population(&self, id: u32) -> Option<u64> {
        self.entries.get(id as usize).map(|e| e.population)
    }

    /// Every usable name of the place (none for an unknown id): folded, noise already removed
    /// by the generator (common words, codes, names of one or two letters), explicit-only names
    /// included (the watch named this place).
    pub fn names(&self, id: u32) -> Vec<&str> {
        match self.entries.get(id as usize) {
            Some(e) => split_names(&self.text, e.names).map(bare).collect(),
            None => Vec::new(),
        }
    }

    /// Every usable name of every place, with the place's id, kind, country and population:
    /// `f(id, kind, cc, population, name)`, names folded, explicit-only marks removed.
    pub fn for_each_name(&self, mut f: impl FnMut(u32, Kind, [u8; 2], u64, &str)) {
        for (id, e) in self.entries.iter().enumerate() {
            for name in split_names(&self.text, e.names) {
                f(id as u32, e.kind, e.cc, e.population, bare(name));
            }
        }
    }

    /// Whether `key`, folded already, is one of the common words (see
    /// [`Gazetteer::is_common_word`], which folds it first).
    pub fn is_common_folded(&self, key: &str) -> bool {
        self.common
            .binary_search_by(|&w| self.text[range(w)].cmp(key))
            .is_ok()
    }

    /// The names of several places (the members of a `within()` area), each once, sorted;
    /// explicit-only names («Orange», «Elizabeth») are left out: nobody asked for that place.
    pub fn names_of(&self, ids: &[u32]) -> Vec<&str> {
        let mut names: Vec<&str> = (ids.iter())
            .filter_map(|&id| self.entries.get(id as usize))
            .flat_map(|e| split_names(&self.text, e.names))
            .filter(|n| !n.starts_with(EXPLICIT))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

fn parse_place(text: &str, line_range: Range<usize>, line: usize) -> Result<Entry, GazetteerError> {
    let base = line_range.start;
    let line_text = &text[line_range.clone()];
    let mut fields = line_text.splitn(8, '\t');
    let mut field = |what: &str| {
        fields
            .next()
            .ok_or_else(|| corrupt(line, format!("no {what}")))
    };
    let kind = match field("kind")? {
        "P" | "p" => Kind::Town,
        "L" | "l" => Kind::Landmark,
        "C" | "c" => Kind::County,
        "A" | "a" => Kind::Country,
        "D" | "d" => Kind::Division,
        "R" | "r" => Kind::Region,
        other => return Err(corrupt(line, format!("unknown kind `{other}`"))),
    };
    let cc: [u8; 2] = field("country")?
        .as_bytes()
        .try_into()
        .ok()
        .filter(|cc: &[u8; 2]| cc.iter().all(u8::is_ascii_uppercase))
        .ok_or_else(|| corrupt(line, "bad country code"))?;
    let area = field("area")?;
    let area_start = area.as_ptr() as usize - line_text.as_ptr() as usize + base;
    let population = field("population")?
        .parse()
        .map_err(|_| corrupt(line, "bad population"))?;
    let mut degrees = |what: &str, max: i32| -> Result<i32, GazetteerError> {
        field(what)?
            .parse::<i32>()
            .ok()
            .filter(|v| v.abs() <= max)
            .ok_or_else(|| corrupt(line, format!("bad {what}")))
    };
    let lat = degrees("latitude", 90_000)?;
    let lon = degrees("longitude", 180_000)?;
    let display = field("name")?;
    let display_start = display.as_ptr() as usize - line_text.as_ptr() as usize + base;
    let display_range = display_start..display_start + display.len();
    let names_start = (display_range.end + 1).min(line_range.end);
    Ok(Entry {
        population,
        lat,
        lon,
        display: span(display_range),
        area: span(area_start..area_start + area.len()),
        names: span(names_start..line_range.end),
        cc,
        kind,
    })
}

/// The names in a tab-separated range.
pub(super) fn split_names(text: &str, names: (u32, u32)) -> impl Iterator<Item = &str> {
    text[range(names)].split('\t').filter(|n| !n.is_empty())
}

/// Marks a stored name as explicit only.
pub(super) const EXPLICIT: char = '!';

/// A stored name without its explicit-only mark.
pub(super) fn bare(name: &str) -> &str {
    name.strip_prefix(EXPLICIT).unwrap_or(name)
}

/// The lookup key of a stored name: names are stored folded, acronyms excepted.
pub(super) fn index_key(name: &str) -> std::borrow::Cow<'_, str> {
    if name.chars().any(char::is_uppercase) {
        fold_term(name).into()
    } else {
        name.into()
    }
}

/// FNV-1a: the index only needs a cheap, stable spread; equal hashes are checked by name.
pub(super) fn name_hash(key: &str) -> u32 {
    key.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

pub(super) fn range((start, end): (u32, u32)) -> Range<usize> {
    start as usize..end as usize
}

/// Offsets fit in u32: [`Gazetteer::parse`] refuses texts of 4 GiB or more.
fn span(r: Range<usize>) -> (u32, u32) {
    (r.start as u32, r.end as u32)
}

/// Lines of a text as (1-based line number, byte range without the newline).
struct LineOffsets<'a> {
    text: &'a str,
    at: usize,
    line: usize,
}

impl<'a> LineOffsets<'a> {
    fn new(text: &'a str) -> Self {
        LineOffsets {
            text,
            at: 0,
            line: 0,
        }
    }
}

impl Iterator for LineOffsets<'_> {
    type Item = (usize, Range<usize>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.text.len() {
            return None;
        }
        let start = self.at;
        let end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |k| start + k);
        self.at = end + 1;
        self.line += 1;
        Some((self.line, start..end))
    }
}
