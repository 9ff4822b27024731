//! Gazetteer, resolution: `place:NAME[/CC[-DIV]]` to one place, and the common-word check.
//!
//! Invariants: a name is looked up folded, like the text it will match (case, accents,
//! hyphens and apostrophes do not matter); the chosen place is the most populous carrier of the
//! name (within the country or division asked for), except that a division yields its name to
//! the town it is named after («New York», «Aleppo»); ties are broken by id so that the result
//! never varies; a name that resolves to nothing is always an error that names it. An ISO
//! 3166-2 code (`US-NY`) names its division directly.

use crate::rules::fold::fold_term;
use crate::rules::gazetteer::load::{bare, index_key, name_hash, range, split_names};
use crate::rules::gazetteer::{Gazetteer, GazetteerError, Kind, Resolution};

/// A town with at least 1/NAMESAKE_SHARE of a division's people takes its name before it.
const NAMESAKE_SHARE: u64 = 20;

impl Gazetteer {
    /// `place:NAME`, `place:NAME/CC` or `place:NAME/CC-DIV`: look NAME up among all usable
    /// names in every language (folded: case and accents do not matter) and pick the most
    /// populous place, within country CC (and its first-level division DIV) when given. NAME may
    /// also be a division's ISO 3166-2 code (`US-NY`). Errors, each one sentence: no letters; a
    /// common word; unknown name; unknown country or division code; no place of that name there.
    pub fn resolve(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<Resolution, GazetteerError> {
        if let Some(id) = self.division_by_code(name) {
            let place = self.place(id).ok_or_else(|| GazetteerError::UnknownPlace {
                name: name.trim().to_owned(),
            })?;
            return Ok(Resolution {
                place,
                ambiguous: Vec::new(),
            });
        }
        let key = fold_term(name);
        if !key.chars().any(char::is_alphanumeric) {
            return Err(GazetteerError::EmptyName);
        }
        let (country, division) = match qualifier {
            Some(q) => {
                let (cc, division) = match q.trim().split_once('-') {
                    Some((cc, d)) => (cc, Some(d.to_ascii_uppercase())),
                    None => (q, None),
                };
                let cc = self.country_code(cc)?;
                if division.is_some() && self.division_by_code(q).is_none() {
                    return Err(GazetteerError::UnknownDivision {
                        code: q.trim().to_ascii_uppercase(),
                    });
                }
                (Some(cc), division)
            }
            None => (None, None),
        };
        let mut ids = self.lookup(&key);
        if ids.is_empty() {
            let name = name.trim().to_owned();
            return Err(if self.is_common_word(&key) {
                GazetteerError::CommonWord { name }
            } else {
                GazetteerError::UnknownPlace { name }
            });
        }
        if let Some(cc) = country {
            let elsewhere = self.countries_of(&ids);
            ids.retain(|&id| {
                let e = &self.entries[id as usize];
                e.cc == cc
                    && division
                        .as_deref()
                        .is_none_or(|d| e.kind.lies_in_division() && self.text[range(e.area)] == *d)
            });
            if ids.is_empty() {
                return Err(GazetteerError::NotInCountry {
                    name: name.trim().to_owned(),
                    country: qualifier.unwrap_or_default().trim().to_ascii_uppercase(),
                    elsewhere,
                });
            }
        }
        self.yield_to_namesakes(&mut ids);
        let mut places = ids.into_iter().filter_map(|id| self.place(id));
        let place = places.next().ok_or_else(|| GazetteerError::UnknownPlace {
            name: name.trim().to_owned(),
        })?;
        Ok(Resolution {
            place,
            ambiguous: places.collect(),
        })
    }

    /// The division with ISO 3166-2 code `code` (`US-NY`, `fr-pac`), if the gazetteer has it.
    fn division_by_code(&self, code: &str) -> Option<u32> {
        let (cc, div) = code.trim().split_once('-')?;
        let (cc, div) = (cc.to_ascii_uppercase(), div.to_ascii_uppercase());
        if cc.len() != 2 || div.is_empty() || div.len() > 3 {
            return None;
        }
        let id = self.entries.iter().position(|e| {
            e.kind == Kind::Division && e.cc == cc.as_bytes() && self.text[range(e.area)] == div
        })?;
        u32::try_from(id).ok()
    }

    /// A division gives its name to a town of its country that bears that name too (every
    /// candidate does) and has at least a twentieth of its people: `place:"New York"` and `place:Aleppo` are the
    /// cities, `place:Washington` is the capital, not the state, though the divisions are more
    /// populous (they stay rivals, and `place:US-NY` names the state). A division also gives
    /// way to a country of the same name: `place:Georgia` is the country, `place:US-GA` the
    /// state. «Texas» has no such town. Keeps the order otherwise.
    fn yield_to_namesakes(&self, ids: &mut Vec<u32>) {
        let namesake = |d: u32, t: u32| {
            let (d, t) = (&self.entries[d as usize], &self.entries[t as usize]);
            d.kind == Kind::Division
                && ((t.kind == Kind::Town
                    && t.cc == d.cc
                    && t.population.saturating_mul(NAMESAKE_SHARE) >= d.population)
                    // A country of that name is meant before a division abroad: Georgia.
                    || (t.kind == Kind::Country && t.cc != d.cc))
        };
        let mut k = 0;
        while k < ids.len() {
            let d = ids[k];
            match ids.iter().position(|&t| namesake(d, t)) {
                // Moved right after its town; position k now holds the next id.
                Some(town) if town > k => {
                    ids.remove(k);
                    ids.insert(town, d);
                }
                _ => k += 1,
            }
        }
    }

    /// Whether `word` (folded here) is one of the common French and English words that are
    /// never used as place names.
    pub fn is_common_word(&self, word: &str) -> bool {
        let key = fold_term(word);
        self.common
            .binary_search_by(|&w| self.text[range(w)].cmp(key.as_str()))
            .is_ok()
    }

    /// Ids of the places that carry the folded name `key` (as stored: folded, acronyms in
    /// capitals), most populous first.
    pub fn carriers(&self, key: &str) -> Vec<u32> {
        self.lookup(&index_key(key))
    }

    /// Ids of the places that carry the folded name `key`, most populous first.
    fn lookup(&self, key: &str) -> Vec<u32> {
        let hash = name_hash(key);
        let start = self.index.partition_point(|&(h, _)| h < hash);
        let mut ids: Vec<u32> = self.index[start..]
            .iter()
            .take_while(|&&(h, _)| h == hash)
            .map(|&(_, id)| id)
            .filter(|&id| {
                let names = self.entries[id as usize].names;
                split_names(&self.text, names).any(|n| index_key(bare(n)) == key)
            })
            .collect();
        ids.dedup();
        ids.sort_by_key(|&id| (std::cmp::Reverse(self.entries[id as usize].population), id));
        ids
    }

    /// `cc` upper-cased, if some country of the gazetteer has that ISO code.
    fn country_code(&self, cc: &str) -> Result<[u8; 2], GazetteerError> {
        let unknown = || GazetteerError::UnknownCountry {
            code: cc.trim().to_owned(),
        };
        let code: [u8; 2] = cc
            .trim()
            .to_ascii_uppercase()
            .as_bytes()
            .try_into()
            .map_err(|_| unknown())?;
        match self.countries.binary_search(&code) {
            Ok(_) => Ok(code),
            Err(_) => Err(unknown()),
        }
    }

    /// The distinct country codes of some places, in order of first appearance, comma-separated.
    fn countries_of(&self, ids: &[u32]) -> String {
        let mut codes: Vec<[u8; 2]> = Vec::new();
        for &id in ids {
            let cc = self.entries[id as usize].cc;
            if !codes.contains(&cc) {
                codes.push(cc);
            }
        }
        codes
            .iter()
            .map(|cc| String::from_utf8_lossy(cc).into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    }
}
