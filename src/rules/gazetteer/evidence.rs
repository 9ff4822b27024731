//! Gazetteer, evidence: where a place lies (its [`Locus`]: country, first-level division,
//! kind), which place a name means when it means one place far more than any other (its
//! *principal* place), and the largest towns of a country or division — what an article's other
//! place names say about an ambiguous one («Atlanta» → US-GA, «Tbilisi» → GE).
//!
//! Invariants: pure and deterministic (ties broken by id); the town index is built once, on
//! first use, from the data alone; nothing here panics on an unknown id or name.

use crate::rules::gazetteer::load::{range, split_names};
use crate::rules::gazetteer::{Gazetteer, Kind};

/// A name's most populous carrier is its principal place when it is this many times as
/// populous as any carrier elsewhere (another country or division).
const PRINCIPAL_RATIO: u64 = 3;

/// Where a place lies: its country, its first-level division (ISO 3166-2 without the country,
/// padded with zeros; all zeros when unknown or for a country) and its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Locus {
    pub cc: [u8; 2],
    pub div: [u8; 3],
    pub kind: u8,
}

impl Locus {
    /// «US-GA», «GE».
    pub fn label(&self) -> String {
        let cc = String::from_utf8_lossy(&self.cc);
        let div: String = (self.div.iter())
            .take_while(|&&b| b != 0)
            .map(|&b| b as char)
            .collect();
        if div.is_empty() {
            cc.into_owned()
        } else {
            format!("{cc}-{div}")
        }
    }

    pub fn kind(&self) -> Kind {
        match self.kind {
            0 => Kind::Town,
            1 => Kind::Country,
            2 => Kind::Division,
            3 => Kind::Landmark,
            5 => Kind::County,
            _ => Kind::Region,
        }
    }

    /// Whether the division is known.
    pub fn has_division(&self) -> bool {
        self.div[0] != 0
    }
}

fn kind_code(k: Kind) -> u8 {
    match k {
        Kind::Town => 0,
        Kind::Country => 1,
        Kind::Division => 2,
        Kind::Landmark => 3,
        Kind::Region => 4,
        Kind::County => 5,
    }
}

impl Gazetteer {
    /// Where place `id` lies; `None` for an unknown id.
    pub fn locus(&self, id: u32) -> Option<Locus> {
        let e = self.entries.get(id as usize)?;
        let mut div = [0u8; 3];
        if e.kind.lies_in_division() {
            let area = self.text[range(e.area)].as_bytes();
            if area.len() <= 3 && area.iter().all(u8::is_ascii_alphanumeric) {
                div[..area.len()].copy_from_slice(area);
            }
        }
        Some(Locus {
            cc: e.cc,
            div,
            kind: kind_code(e.kind),
        })
    }

    /// The place that the stored name `key` means unless the text says otherwise: its most
    /// populous carrier, when that is [`PRINCIPAL_RATIO`] times as populous as every carrier
    /// lying elsewhere (another country or division). `None` for an unknown or evenly shared
    /// name.
    pub fn principal(&self, key: &str) -> Option<u32> {
        let ids = self.carriers(key);
        let (&first, rest) = ids.split_first()?;
        let home = self.locus(first)?;
        let top = self.population(first).unwrap_or(0);
        let rival = (rest.iter())
            .filter(|&&id| {
                self.locus(id)
                    .is_some_and(|l| (l.cc, l.div) != (home.cc, home.div))
            })
            .filter_map(|&id| self.population(id))
            .max()
            .unwrap_or(0);
        (top >= rival.saturating_mul(PRINCIPAL_RATIO).max(1)).then_some(first)
    }

    /// The `n` most populous towns of country `cc`, or of its division `div` when given.
    pub fn largest_towns(&self, cc: [u8; 2], div: Option<[u8; 3]>, n: usize) -> Vec<u32> {
        let index = self.by_area.get_or_init(|| {
            let mut ids: Vec<u32> = (0..self.entries.len() as u32)
                .filter(|&id| self.entries[id as usize].kind == Kind::Town)
                .collect();
            ids.sort_by_key(|&id| {
                let e = &self.entries[id as usize];
                (e.cc, std::cmp::Reverse(e.population), id)
            });
            ids
        });
        let start = index.partition_point(|&id| self.entries[id as usize].cc < cc);
        (index[start..].iter())
            .take_while(|&&id| self.entries[id as usize].cc == cc)
            .filter(|&&id| div.is_none_or(|d| self.locus(id).is_some_and(|l| l.div == d)))
            .take(n)
            .copied()
            .collect()
    }

    /// The names of place `id` that a text would use for it (the stored names, explicit-only
    /// ones included), for evidence.
    pub fn evidence_names(&self, id: u32) -> Vec<&str> {
        match self.entries.get(id as usize) {
            Some(e) => split_names(&self.text, e.names)
                .map(|n| n.strip_prefix('!').unwrap_or(n))
                .collect(),
            None => Vec::new(),
        }
    }
}

impl Gazetteer {
    /// The countries whose points (their capitals) lie within `km` of country `cc`'s, itself
    /// excluded: an article naming Azerbaijan or Baku speaks of Georgia the country, not the
    /// US state. Empty for an unknown code.
    pub fn neighbour_countries(&self, cc: [u8; 2], km: f64) -> Vec<[u8; 2]> {
        let Some(home) = self.country_id(cc).and_then(|id| self.place(id)) else {
            return Vec::new();
        };
        let mut out: Vec<[u8; 2]> = (0..self.entries.len() as u32)
            .filter(|&id| self.entries[id as usize].kind == Kind::Country)
            .filter_map(|id| self.place(id))
            .filter(|p| p.country.as_bytes() != cc)
            .filter(|p| super::distance_km((home.lat, home.lon), (p.lat, p.lon)) <= km)
            .filter_map(|p| <[u8; 2]>::try_from(p.country.as_bytes()).ok())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The id of the country with ISO code `cc`.
    pub fn country_id(&self, cc: [u8; 2]) -> Option<u32> {
        let id = (self.entries.iter()).position(|e| e.kind == Kind::Country && e.cc == cc)?;
        u32::try_from(id).ok()
    }
}
