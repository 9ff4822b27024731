//! Stories stage, the in-memory index of recent fingerprints: given a new article's
//! fingerprint, which story (if any) it belongs to. Pure: the caller says what "recent"
//! means (`since`) and when entries may go (`evict`).
//!
//! Invariants: an exact copy is found through its exact hash, anything else through LSH
//! banding — the first `BANDS × ROWS` slots of a signature cut into [`BANDS`] bands of
//! [`ROWS`], a stored entry being a candidate when one whole band agrees — and every
//! candidate is verified with [`similarity`] before it counts; entries older than `since`
//! are never returned; entries live in one shard per UTC day so that the window slides by
//! dropping whole shards (a busy day spans several); only the newest shard takes
//! insertions (an older day's entry joins it), the others are sealed into sorted arrays,
//! about half the memory of hash chains;
//! re-inserting an article replaces its entry (an edit keeps its story). A day's
//! entries, their tables and their sealing are in `shard`.
//!
//! A pair of Jaccard similarity J becomes a candidate with probability 1-(1-J³)⁴²: 0.94
//! at J = 0.4, 0.995 at 0.5, 0.99999 at 0.7, and 0.04 at J = 0.1.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::keyfilter::KeyFilter;
use super::shard::{CHAINS, EXACT, Meta, SEAL_AT, Shard, keys};
use super::{Fingerprint, Signature, THRESHOLD, similarity};

pub use super::shard::{BANDS, ROWS};

/// At most this many stored entries are compared per lookup, whatever a hostile feed
/// stored (thousands of identical items): the cost of a lookup stays bounded.
const MAX_CANDIDATES: usize = 2_000;
const DAY: i64 = 86_400;
/// Shard keys are `day * PARTS + part`.
const PARTS: i64 = 1 << 16;

/// An article's fingerprint and what it belongs to.
#[derive(Debug, Clone)]
pub struct Entry {
    pub article_id: i64,
    pub story_id: i64,
    /// When the article was first seen: it stays in the window from then.
    pub seen_at: DateTime<Utc>,
    pub fingerprint: Fingerprint,
}

/// The story a fingerprint belongs to, through which stored article.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Found {
    pub story_id: i64,
    pub article_id: i64,
    pub similarity: f64,
}

#[derive(Default)]
pub struct Index {
    shards: BTreeMap<i64, Shard>,
    /// Where each article's live entry is: (shard key, slot).
    by_article: HashMap<i64, (i64, u32)>,
    /// The chain keys stored in any shard: a lookup skips every shard for a key not in it.
    filter: KeyFilter,
}

impl Index {
    pub fn new() -> Index {
        Index::default()
    }

    /// Live entries.
    pub fn len(&self) -> usize {
        self.by_article.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_article.is_empty()
    }

    pub fn contains(&self, article_id: i64) -> bool {
        self.by_article.contains_key(&article_id)
    }

    /// Add an entry; an article already present is replaced (its old entry is dead).
    pub fn insert(&mut self, e: Entry) {
        if let Some((day, slot)) = self.by_article.remove(&e.article_id)
            && let Some(m) = self
                .shards
                .get_mut(&day)
                .and_then(|s| s.metas.get_mut(slot as usize))
        {
            m.live = false;
        }
        let seen_at = e.seen_at.timestamp();
        let day = match self.shards.last_key_value() {
            Some((&newest, shard)) if seen_at.div_euclid(DAY) <= newest.div_euclid(PARTS) => {
                if shard.metas.len() >= SEAL_AT && newest.rem_euclid(PARTS) < PARTS - 1 {
                    if let Some(s) = self.shards.get_mut(&newest) {
                        s.seal();
                    }
                    newest + 1
                } else {
                    newest
                }
            }
            _ => {
                self.shards.values_mut().for_each(Shard::seal);
                seen_at.div_euclid(DAY) * PARTS
            }
        };
        let entry_keys = keys(e.fingerprint.exact, &e.fingerprint.signature);
        if self.filter.is_full_for(CHAINS) {
            self.rebuild_filter(CHAINS);
        }
        let shard = self.shards.entry(day).or_insert_with(Shard::open);
        let Ok(slot) = u32::try_from(shard.metas.len()) else {
            return; // four billion entries in one day: the index stops growing
        };
        let meta = Meta {
            article_id: e.article_id,
            story_id: e.story_id,
            seen_at,
            exact: e.fingerprint.exact,
            shingles: e.fingerprint.shingles,
            live: true,
        };
        // Only the newest shard takes entries, and it is open.
        if !shard.push(slot, &entry_keys, meta, e.fingerprint.signature) {
            return;
        }
        entry_keys.into_iter().for_each(|k| self.filter.insert(k));
        self.by_article.insert(e.article_id, (day, slot));
    }

    /// A new key filter holding every key stored, sized for them and `more` to come. It
    /// is rebuilt only once full, and its size is a power of two: each rebuild at least
    /// doubles it, which keeps the rebuilds' cost in proportion.
    fn rebuild_filter(&mut self, more: usize) {
        let stored: usize = self.shards.values().map(|s| s.metas.len() * CHAINS).sum();
        let mut filter = KeyFilter::with_capacity(stored + more);
        for shard in self.shards.values() {
            for (m, sig) in shard.metas.iter().zip(&shard.sigs) {
                keys(m.exact, sig)
                    .into_iter()
                    .for_each(|k| filter.insert(k));
            }
        }
        self.filter = filter;
    }

    /// Shards that may hold entries first seen at or after `since`, newest first. An
    /// entry of an older day may sit in a newer shard, never the other way round.
    fn recent(&self, since: i64) -> impl Iterator<Item = &Shard> {
        self.shards
            .range(since.div_euclid(DAY) * PARTS..)
            .rev()
            .map(|(_, s)| s)
    }

    /// The story of the most similar entry first seen at or after `since` whose
    /// similarity reaches [`THRESHOLD`]; a verbatim copy (same exact hash) first.
    pub fn find(&self, fp: &Fingerprint, since: DateTime<Utc>) -> Option<Found> {
        self.find_exact(fp.exact, since)
            .map(|(found, _)| found)
            .or_else(|| self.find_similar(fp, since))
    }

    /// A live entry with this exact hash first seen at or after `since`, with its
    /// fingerprint: a verbatim copy needs no MinHash of its own.
    pub fn find_exact(&self, exact: u64, since: DateTime<Utc>) -> Option<(Found, Fingerprint)> {
        let since = since.timestamp();
        let key = keys(exact, &Signature([0; super::K]))[EXACT];
        if !self.filter.may_contain(key) {
            return None;
        }
        for shard in self.recent(since) {
            let mut hit = None;
            shard.each(EXACT, key, |slot| {
                let m = &shard.metas[slot as usize];
                if m.live && m.seen_at >= since && m.exact == exact {
                    hit = Some(slot as usize);
                }
                hit.is_none()
            });
            if let Some(i) = hit {
                let m = &shard.metas[i];
                let found = Found {
                    story_id: m.story_id,
                    article_id: m.article_id,
                    similarity: 1.0,
                };
                return Some((found, shard.fingerprint(i)));
            }
        }
        None
    }

    /// The story of the most similar entry first seen at or after `since` whose
    /// similarity reaches [`THRESHOLD`], through LSH candidates.
    pub fn find_similar(&self, fp: &Fingerprint, since: DateTime<Utc>) -> Option<Found> {
        let since = since.timestamp();
        let mut bands = [(0usize, 0u32); BANDS];
        let mut n = 0;
        for (chain, &key) in keys(fp.exact, &fp.signature).iter().take(BANDS).enumerate() {
            if self.filter.may_contain(key) {
                bands[n] = (chain, key);
                n += 1;
            }
        }
        if n == 0 {
            return None;
        }
        let mut best: Option<Found> = None;
        let mut slots: Vec<u32> = Vec::new();
        let mut budget = MAX_CANDIDATES;
        for shard in self.recent(since) {
            slots.clear();
            for &(chain, key) in &bands[..n] {
                shard.each(chain, key, |slot| {
                    slots.push(slot);
                    slots.len() < budget
                });
            }
            slots.sort_unstable();
            slots.dedup();
            budget = budget.saturating_sub(slots.len());
            for &slot in &slots {
                let i = slot as usize;
                let m = &shard.metas[i];
                if !m.live || m.seen_at < since {
                    continue;
                }
                let s = similarity(fp, &shard.fingerprint(i));
                if s >= THRESHOLD && best.is_none_or(|b| s > b.similarity) {
                    best = Some(Found {
                        story_id: m.story_id,
                        article_id: m.article_id,
                        similarity: s,
                    });
                }
            }
            if budget == 0 {
                break;
            }
        }
        best
    }

    /// Drop the entries first seen before `before`, whole days at a time: a day goes
    /// once its last second is older (lookups filter the rest by `since`).
    pub fn evict(&mut self, before: DateTime<Utc>) {
        let keep_from = before.timestamp().div_euclid(DAY) * PARTS;
        let kept = self.shards.split_off(&keep_from);
        let dropped = std::mem::replace(&mut self.shards, kept);
        if dropped.is_empty() {
            return;
        }
        for (day, shard) in dropped {
            for m in shard.metas {
                if self
                    .by_article
                    .get(&m.article_id)
                    .is_some_and(|&(d, _)| d == day)
                {
                    self.by_article.remove(&m.article_id);
                }
            }
        }
        // The dropped entries' keys go with them.
        self.rebuild_filter(0);
    }

    /// Heap bytes held by the index (capacities, hash tables with their control bytes):
    /// what 100,000 articles cost is measured with this in `benches/stories.rs`.
    pub fn heap_bytes(&self) -> usize {
        let per_article = std::mem::size_of::<(i64, (i64, u32))>() + 1;
        self.shards.values().map(Shard::heap_bytes).sum::<usize>()
            + self.by_article.capacity() * per_article
            + self.filter.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stories::shard::Table;
    use crate::stories::text;

    fn at(day: i64, h: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_487_000_000 / DAY * DAY + day * DAY + h * 3600, 0).unwrap()
    }

    fn fp(s: &str) -> Fingerprint {
        text("", "", s).unwrap().fingerprint()
    }

    const WIRE: &str = "Russian military engineers began clearing mines from the ancient ruins of Palmyra on Thursday, Russia's defence ministry said, as Syrian troops secured the desert city after Islamic State militants withdrew. A team of about 150 sappers and 20 mine-detecting dogs arrived from the Russian base at Hmeimim, the ministry said in a statement.";
    const OTHER: &str = "U.S. stocks closed higher on Monday, led by a rally in bank shares after strong quarterly results, with the S&P 500 gaining 0.6 percent to a record close. The Dow Jones Industrial Average rose 118.95 points, or 0.58 percent.";

    fn entry(article_id: i64, story_id: i64, seen_at: DateTime<Utc>, s: &str) -> Entry {
        Entry {
            article_id,
            story_id,
            seen_at,
            fingerprint: fp(s),
        }
    }

    #[test]
    fn copies_find_their_story_within_the_window_only() {
        let mut ix = Index::new();
        ix.insert(entry(1, 1, at(0, 10), WIRE));
        ix.insert(entry(2, 2, at(0, 11), OTHER));
        let copy = format!(
            "MOSCOW (Reuters) - {}",
            WIRE.replace("on Thursday", "today")
        );
        let found = ix.find(&fp(&copy), at(-7, 0)).unwrap();
        assert_eq!((found.story_id, found.article_id), (1, 1));
        assert!(found.similarity >= THRESHOLD && found.similarity < 1.0);
        // The verbatim copy is found through its exact hash.
        assert_eq!(ix.find(&fp(WIRE), at(-7, 0)).unwrap().similarity, 1.0);
        // Out of the window: not found, and gone after eviction.
        assert_eq!(ix.find(&fp(&copy), at(0, 12)), None);
        ix.evict(at(1, 0));
        assert!(ix.is_empty());
        assert_eq!(ix.find(&fp(WIRE), at(-7, 0)), None);
    }

    #[test]
    fn reinserting_an_article_replaces_its_entry() {
        let mut ix = Index::new();
        ix.insert(entry(1, 1, at(0, 10), WIRE));
        ix.insert(entry(1, 1, at(0, 10), OTHER));
        assert_eq!(ix.len(), 1);
        assert_eq!(ix.find(&fp(WIRE), at(-1, 0)), None);
        assert_eq!(ix.find(&fp(OTHER), at(-1, 0)).unwrap().story_id, 1);
        assert!(ix.heap_bytes() > crate::stories::K);
    }

    #[test]
    fn a_busy_day_spans_sealed_shards_that_are_still_searched() {
        let mut ix = Index::new();
        ix.insert(entry(1, 1, at(0, 1), WIRE));
        // Enough other articles the same day to seal the first shard and open another.
        for id in 2..(SEAL_AT as i64 + 100) {
            let mut e = entry(id, id, at(0, 2), OTHER);
            e.fingerprint.exact = id as u64;
            e.fingerprint.signature.0[0] = (id % 256) as u8;
            ix.insert(e);
        }
        assert!(ix.shards.len() >= 2, "{} shards", ix.shards.len());
        let open = ix
            .shards
            .values()
            .filter(|s| matches!(s.table, Table::Open { .. }))
            .count();
        assert_eq!(open, 1);
        // The first article, now in a sealed shard, is still found; a late one too.
        assert_eq!(ix.find(&fp(WIRE), at(-1, 0)).unwrap().story_id, 1);
        let late = SEAL_AT as i64 + 50;
        assert_eq!(
            ix.find_exact(late as u64, at(-1, 0)).unwrap().0.article_id,
            late
        );
        // The whole day goes at once.
        ix.evict(at(1, 0));
        assert!(ix.is_empty() && ix.shards.is_empty());
    }
}
