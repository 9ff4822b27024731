//! Gazetteer, longer names: «America» inside «South America», «Ireland» inside «Northern
//! Ireland», «Mexico» inside «New Mexico» or «Mexico City», «Georgia» inside «South Georgia».
//! Such a hit is a mention of the other place, not of the one whose name it is part of.
//!
//! Invariants: only the names of major places count as longer names (countries, divisions,
//! regions and towns of [`MAJOR_TOWN`] inhabitants or more): a village called «Paris Hill» must
//! not hide Paris; the index is built once, on first use, from the data alone (pure); a name is
//! never its own longer name, and the places a term stands for never block it.

use crate::rules::gazetteer::load::{EXPLICIT, Part, name_hash, range, split_names};
use crate::rules::gazetteer::{Gazetteer, Kind};

/// Towns this populous have names that can hide a shorter place name.
const MAJOR_TOWN: u64 = 100_000;

impl Gazetteer {
    /// The names of other major places that contain `name` (folded) as whole words, each with
    /// the byte offset of `name` inside it; the places of `own` (sorted ids: those the term
    /// stands for) are left out, so that «United States of America» does not hide «America»
    /// for the United States.
    pub fn longer_names(&self, name: &str, own: &[u32]) -> Vec<(u32, &str)> {
        let parts = self.parts.get_or_init(|| self.index_parts());
        let hash = name_hash(name);
        let start = parts.partition_point(|p| p.0 < hash);
        let mut out: Vec<(u32, &str)> = parts[start..]
            .iter()
            .take_while(|p| p.0 == hash)
            .filter(|p| own.binary_search(&p.1).is_err())
            .filter_map(|&(_, _, whole, offset)| {
                let whole = &self.text[range(whole)];
                let whole = whole.strip_prefix(EXPLICIT).unwrap_or(whole);
                let offset = offset as usize;
                (whole.get(offset..offset + name.len()) == Some(name))
                    .then_some((offset as u32, whole))
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Every proper word-bounded part of every multi-word name of a major place, sorted.
    fn index_parts(&self) -> Vec<Part> {
        let mut parts = Vec::new();
        for (id, e) in self.entries.iter().enumerate() {
            let major = match e.kind {
                Kind::Town | Kind::Landmark => e.population >= MAJOR_TOWN,
                Kind::Country | Kind::Division | Kind::Region | Kind::County => true,
            };
            if !major {
                continue;
            }
            for name in split_names(&self.text, e.names) {
                let at = name.as_ptr() as usize - self.text.as_ptr() as usize;
                let bare = name.strip_prefix(EXPLICIT).unwrap_or(name);
                if !bare.contains(' ') || bare.chars().any(char::is_uppercase) {
                    continue;
                }
                let bounds: Vec<(usize, usize)> = word_bounds(bare);
                for i in 0..bounds.len() {
                    for j in i..bounds.len() {
                        if i == 0 && j == bounds.len() - 1 {
                            continue; // the whole name
                        }
                        let part = &bare[bounds[i].0..bounds[j].1];
                        parts.push((
                            name_hash(part),
                            id as u32,
                            (at as u32, (at + name.len()) as u32),
                            bounds[i].0 as u32,
                        ));
                    }
                }
            }
        }
        parts.sort_unstable();
        parts
    }
}

/// Byte ranges of the space-separated words of a folded name.
fn word_bounds(name: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (k, c) in name.char_indices() {
        match (c == ' ', start) {
            (true, Some(s)) => {
                out.push((s, k));
                start = None;
            }
            (false, None) => start = Some(k),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, name.len()));
    }
    out
}
