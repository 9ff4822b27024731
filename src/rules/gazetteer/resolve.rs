//! Gazetteer, resolution: `place:NAME[/CC]` to one place, and the common-word check.
//!
//! Invariants: a name is looked up folded, like the text it will match (case, accents,
//! hyphens and apostrophes do not matter); the chosen place is the most populous carrier of the
//! name (within the country asked for), ties broken by id so that the result never varies; a
//! name that resolves to nothing is always an error that names it.

use crate::rules::fold::fold_term;
use crate::rules::gazetteer::load::{index_key, name_hash, range, split_names};
use crate::rules::gazetteer::{Gazetteer, GazetteerError, Resolution};

impl Gazetteer {
    /// `place:NAME` or `place:NAME/CC`: look NAME up among all usable names in every language
    /// (folded: case and accents do not matter) and pick the most populous place, within
    /// country CC when given. Errors, each one sentence: no letters; a common word; unknown
    /// name; unknown country code; no place of that name in that country.
    pub fn resolve(&self, name: &str, country: Option<&str>) -> Result<Resolution, GazetteerError> {
        let key = fold_term(name);
        if !key.chars().any(char::is_alphanumeric) {
            return Err(GazetteerError::EmptyName);
        }
        let country = match country {
            Some(cc) => Some(self.country_code(cc)?),
            None => None,
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
            ids.retain(|&id| self.entries[id as usize].cc == cc);
            if ids.is_empty() {
                return Err(GazetteerError::NotInCountry {
                    name: name.trim().to_owned(),
                    country: String::from_utf8_lossy(&cc).into_owned(),
                    elsewhere,
                });
            }
        }
        let mut places = ids.into_iter().filter_map(|id| self.place(id));
        let place = places.next().ok_or_else(|| GazetteerError::UnknownPlace {
            name: name.trim().to_owned(),
        })?;
        Ok(Resolution {
            place,
            ambiguous: places.collect(),
        })
    }

    /// Whether `word` (folded here) is one of the common French and English words that are
    /// never used as place names.
    pub fn is_common_word(&self, word: &str) -> bool {
        let key = fold_term(word);
        self.common
            .binary_search_by(|&w| self.text[range(w)].cmp(key.as_str()))
            .is_ok()
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
                split_names(&self.text, names).any(|n| index_key(n) == key)
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
