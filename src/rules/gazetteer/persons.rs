//! Gazetteer, people's names: the common first names and surnames (1990 US Census, through the
//! `names` package: `tools/gazetteer/persons.py`) that tell a person from a place — «the death
//! of Ariel Leal», «Chris Stapleton» — for the place rules of `crate::rules::sense`.
//!
//! Invariants: the data is embedded (`data/person-names.txt.gz`) and decoded on first use only,
//! like the gazetteer; lookups take a folded word and never panic; a damaged file yields empty
//! lists (the place rules then decide as if no name were a person's), never an error at match
//! time.

use std::io::Read;
use std::sync::OnceLock;

static DATA: &[u8] = include_bytes!("../../../data/person-names.txt.gz");
const FORMAT: &str = "vigie-person-names 1";

/// The first names and surnames, folded, each list sorted.
#[derive(Debug, Default)]
pub struct PersonNames {
    first: Vec<Box<str>>,
    last: Vec<Box<str>>,
}

static PERSONS: OnceLock<PersonNames> = OnceLock::new();

/// The built-in lists, decoded on first use.
pub fn persons() -> &'static PersonNames {
    PERSONS.get_or_init(|| PersonNames::parse(DATA).unwrap_or_default())
}

impl PersonNames {
    /// Decode the data file (gzip of `FORMAT`, then `F\tname` and `S\tname` lines).
    fn parse(gz: &[u8]) -> Option<PersonNames> {
        let mut text = String::new();
        flate2::read::GzDecoder::new(gz)
            .take(8 << 20)
            .read_to_string(&mut text)
            .ok()?;
        let mut lines = text.lines();
        if lines.next()? != FORMAT {
            return None;
        }
        let mut out = PersonNames::default();
        for line in lines {
            match line.split_once('\t') {
                Some(("F", n)) => out.first.push(n.into()),
                Some(("S", n)) => out.last.push(n.into()),
                _ => {}
            }
        }
        out.first.sort_unstable();
        out.last.sort_unstable();
        Some(out)
    }

    /// Whether `word` (folded) is a common first name: «ariel», «chris», «georgia».
    pub fn is_first_name(&self, word: &str) -> bool {
        self.first.binary_search_by(|n| (**n).cmp(word)).is_ok()
    }

    /// Whether `word` (folded) is a common surname: «leal», «reed», «stapleton».
    pub fn is_surname(&self, word: &str) -> bool {
        self.last.binary_search_by(|n| (**n).cmp(word)).is_ok()
    }
}
