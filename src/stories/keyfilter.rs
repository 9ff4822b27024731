//! Stories stage, the index's key filter: one bit per slot of a table at least eight times
//! as large as the number of chain keys stored, set for each of them. A key whose bit is
//! clear is in no shard, so a lookup skips every shard for it. Nearly every band key of a
//! new article is in no shard (a candidate is a rare event), and each shard answers
//! through a table many times larger than this one: one probe here replaces two per shard.
//!
//! Invariants: every key inserted since the last `rebuild` has its bit set (no false
//! negative); a set bit may belong to another key or to a dead entry (false positives are
//! about one in eight at most, and only cost the lookup they would have cost anyway).
//! Keys are uniformly mixed 32-bit values, so their top bits index the table directly.

/// At most 2²⁸ bits (32 MiB): past 33 million keys (780,000 articles in the window) the
/// filter lets more through, never fewer.
const MAX_BITS_LOG2: u32 = 28;
/// At least 2¹² bits, so that a small index does not rebuild at every insertion.
const MIN_BITS_LOG2: u32 = 12;
/// Bits per key stored.
const BITS_PER_KEY: usize = 8;

#[derive(Default)]
pub(super) struct KeyFilter {
    words: Vec<u64>,
    /// log2 of the number of bits (0: no table yet).
    log2: u32,
    /// Keys set since the last rebuild.
    keys: usize,
}

impl KeyFilter {
    /// An empty filter sized for `keys` keys.
    pub(super) fn with_capacity(keys: usize) -> KeyFilter {
        let want = keys.saturating_mul(BITS_PER_KEY).max(1);
        let log2 = want
            .next_power_of_two()
            .trailing_zeros()
            .clamp(MIN_BITS_LOG2, MAX_BITS_LOG2);
        KeyFilter {
            words: vec![0; (1usize << log2) / 64],
            log2,
            keys: 0,
        }
    }

    fn slot(&self, key: u32) -> usize {
        (u64::from(key) >> (32 - self.log2)) as usize
    }

    /// Whether `key` may have been set.
    pub(super) fn may_contain(&self, key: u32) -> bool {
        if self.log2 == 0 {
            return false;
        }
        let i = self.slot(key);
        self.words
            .get(i / 64)
            .is_some_and(|w| w >> (i % 64) & 1 == 1)
    }

    /// Whether `more` keys would crowd the table past [`BITS_PER_KEY`] bits a key (the
    /// caller then rebuilds it larger, from every key it holds).
    pub(super) fn is_full_for(&self, more: usize) -> bool {
        self.log2 == 0
            || (self.log2 < MAX_BITS_LOG2
                && (self.keys + more).saturating_mul(BITS_PER_KEY) > 1usize << self.log2)
    }

    pub(super) fn insert(&mut self, key: u32) {
        if self.log2 == 0 {
            *self = KeyFilter::with_capacity(1);
        }
        let i = self.slot(key);
        if let Some(w) = self.words.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
        self.keys += 1;
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.words.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stories::minhash::mix;

    #[test]
    fn every_key_set_is_found_and_most_others_are_not() {
        let mut f = KeyFilter::with_capacity(10_000);
        let keys: Vec<u32> = (0..10_000u64).map(|i| (mix(i) >> 32) as u32).collect();
        for &k in &keys {
            f.insert(k);
        }
        assert!(keys.iter().all(|&k| f.may_contain(k)));
        let others = (10_000..110_000u64)
            .filter(|&i| f.may_contain((mix(i) >> 32) as u32))
            .count();
        // At least 8 bits a key: about 1 - e^(-1/8) = 12 % false positives at worst.
        assert!(others < 13_000, "{others} false positives in 100,000");
        assert!(!f.is_full_for(0) && f.is_full_for(10_000_000));
    }

    #[test]
    fn an_empty_filter_contains_nothing_and_grows_on_insertion() {
        let mut f = KeyFilter::default();
        assert!(!f.may_contain(0) && !f.may_contain(u32::MAX));
        assert!(f.is_full_for(1));
        f.insert(u32::MAX);
        f.insert(0);
        assert!(f.may_contain(u32::MAX) && f.may_contain(0));
    }
}
