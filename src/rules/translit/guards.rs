//! Names in every spelling, the guards' data: the common French and English words (a loose
//! one-word spelling that is one — «Dash», «Shame», «Tank» — is a word, not the name) and the
//! names of other places (a country, or a division or town of [`OTHER_PLACE_POP`] people or
//! more outside the countries whose names are transliterated from Arabic, Persian or Urdu:
//! «Goma», «Algeria», «Sydney» are those places, whatever name they look like). Both come
//! from the built-in gazetteer, decoded on the first `~` term only.
//!
//! Invariants: pure (the data is embedded); built once per process; lookups never allocate.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::rules::gazetteer::{self, Gazetteer, GazetteerError, Kind};

/// A town this populous, outside [`TRANSLIT_COUNTRIES`], is another place.
const OTHER_PLACE_POP: u64 = 50_000;

/// Countries whose place names the press writes by transliterating Arabic (or Persian, Urdu,
/// Pashto, Kurdish in Arabic script): a town of theirs may be the watched name itself.
const TRANSLIT_COUNTRIES: [&[u8; 2]; 27] = [
    b"DZ", b"BH", b"KM", b"DJ", b"EG", b"IQ", b"JO", b"KW", b"LB", b"LY", b"MR", b"MA", b"OM",
    b"PS", b"QA", b"SA", b"SO", b"SD", b"SY", b"TN", b"AE", b"YE", b"EH", b"IL", b"IR", b"AF",
    b"PK",
];

pub(crate) struct Guards {
    gazetteer: &'static Gazetteer,
    /// Hash of a squashed name (folded, spaces out) → the ids of the other places it names.
    places: HashMap<u64, Box<[u32]>>,
}

impl std::fmt::Debug for Guards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guards")
            .field("places", &self.places.len())
            .finish()
    }
}

static GUARDS: OnceLock<Result<Guards, GazetteerError>> = OnceLock::new();

/// The guards' data, built on first use.
pub(crate) fn get() -> Result<&'static Guards, GazetteerError> {
    GUARDS
        .get_or_init(|| gazetteer::get().map(Guards::new))
        .as_ref()
        .map_err(Clone::clone)
}

/// FNV-1a over the bytes of a folded spelling, spaces and accent marks (`!`) left out.
pub(crate) fn squash_hash<'a>(words: impl IntoIterator<Item = &'a str>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for w in words {
        for b in w.bytes().filter(|&b| b != b' ' && b != b'!') {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

impl Guards {
    fn new(gazetteer: &'static Gazetteer) -> Guards {
        let mut places: HashMap<u64, Vec<u32>> = HashMap::new();
        gazetteer.for_each_name(|id, kind, cc, population, name| {
            let translit = TRANSLIT_COUNTRIES.contains(&&cc);
            let other = match kind {
                Kind::Country => true,
                Kind::Division | Kind::Region | Kind::County => !translit,
                Kind::Town => !translit && population >= OTHER_PLACE_POP,
                Kind::Landmark => false,
            };
            if other && name.is_ascii() {
                let ids = places.entry(squash_hash([name])).or_default();
                if ids.last() != Some(&id) {
                    ids.push(id);
                }
            }
        });
        Guards {
            gazetteer,
            places: places
                .into_iter()
                .map(|(k, v)| (k, v.into_boxed_slice()))
                .collect(),
        }
    }

    /// Whether a word folded to ASCII is a common French or English word.
    pub fn is_common(&self, fold: &str) -> bool {
        self.gazetteer.is_common_folded(fold)
    }

    /// The other places a spelling names (ids ascending), if any.
    pub fn places(&self, hash: u64) -> &[u32] {
        self.places.get(&hash).map_or(&[], |ids| ids)
    }
}
