//! Stories stage, one shard of the story index: the entries of (part of) one UTC day, and
//! the chain keys that find them — a hash table with chains while the shard is open,
//! sorted pairs with a directory once sealed. Pure.
//! Invariant: a slot's chain keys are computed by [`keys`] alone, so an open shard and
//! the same shard sealed answer every lookup alike.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::minhash::mix;
use super::{Fingerprint, Signature};

pub const BANDS: usize = 42;
pub const ROWS: usize = 3;
/// Chains per entry: one per band, and one for the exact hash.
pub(super) const CHAINS: usize = BANDS + 1;
pub(super) const EXACT: usize = BANDS;
const NONE: u32 = u32::MAX;

/// A day's entries may span several shards: once the open one holds this many, it is
/// sealed and a new one opened, so a burst (a first poll of thousands of feeds) does not
/// keep a whole day in the larger open form (2,048 entries take about 1.6 MB open and
/// 1.1 MB sealed; an open shard is allocated at this size at once, see `Shard::open`).
pub(super) const SEAL_AT: usize = 2_048;

/// Keys are already mixed: spreading them over 64 bits is all the hashing they need.
#[derive(Default)]
pub(super) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = mix(self.0 ^ u64::from(b));
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Meta {
    pub(super) article_id: i64,
    pub(super) story_id: i64,
    pub(super) seen_at: i64,
    pub(super) exact: u64,
    pub(super) shingles: u32,
    pub(super) live: bool,
}

pub(super) enum Table {
    /// The newest day: key → last slot inserted with it, and `next[slot * CHAINS +
    /// chain]`, the previous slot with the same key.
    Open {
        heads: HashMap<u32, u32, BuildHasherDefault<KeyHasher>>,
        next: Vec<u32>,
    },
    /// A past day: every (key, slot), sorted.
    Sealed(Sealed),
}

/// Sorted (key, slot) pairs, with a directory by the keys' top bits so that a lookup
/// scans a few pairs instead of binary-searching them all (keys are uniformly mixed).
pub(super) struct Sealed {
    pub(super) all: Vec<(u32, u32)>,
    /// `all[dir[b]..dir[b + 1]]` holds the keys whose top bits are `b`.
    pub(super) dir: Vec<u32>,
    pub(super) shift: u32,
}

impl Sealed {
    pub(super) fn new(mut all: Vec<(u32, u32)>) -> Sealed {
        all.sort_unstable();
        // About four pairs per directory entry: one byte of directory per pair.
        let bits = (all.len().max(1).ilog2()).saturating_sub(2).clamp(1, 24);
        let shift = 32 - bits;
        let mut dir = Vec::with_capacity((1 << bits) + 1);
        let mut at = 0usize;
        for b in 0..(1u64 << bits) {
            while at < all.len() && u64::from(all[at].0 >> shift) < b {
                at += 1;
            }
            dir.push(u32::try_from(at).unwrap_or(u32::MAX));
        }
        dir.push(u32::try_from(all.len()).unwrap_or(u32::MAX));
        Sealed { all, dir, shift }
    }

    /// The pairs stored under `key`.
    pub(super) fn get(&self, key: u32) -> &[(u32, u32)] {
        let b = (key >> self.shift) as usize;
        let (from, to) = match (self.dir.get(b), self.dir.get(b + 1)) {
            (Some(&f), Some(&t)) => (f as usize, t as usize),
            _ => return &[],
        };
        let bucket = self.all.get(from..to).unwrap_or(&[]);
        let start = bucket.partition_point(|&(k, _)| k < key);
        let len = bucket[start..]
            .iter()
            .take_while(|(k, _)| *k == key)
            .count();
        &bucket[start..start + len]
    }
}

/// The entries of one UTC day.
pub(super) struct Shard {
    pub(super) metas: Vec<Meta>,
    pub(super) sigs: Vec<Signature>,
    pub(super) table: Table,
}

/// The chain keys of a fingerprint: one per band, then the exact hash's.
pub(super) fn keys(exact: u64, sig: &Signature) -> [u32; CHAINS] {
    let mut keys = [0u32; CHAINS];
    for (b, key) in keys.iter_mut().take(BANDS).enumerate() {
        let mut packed = 0u64;
        for v in &sig.0[b * ROWS..(b + 1) * ROWS] {
            packed = packed << 8 | u64::from(*v);
        }
        *key = (mix(packed ^ mix(b as u64 + 1)) >> 32) as u32;
    }
    keys[EXACT] = (mix(exact ^ mix(CHAINS as u64 + 1)) >> 32) as u32;
    keys
}

impl Shard {
    /// A shard sized at once for the [`SEAL_AT`] entries it takes before it is sealed:
    /// its hash table is not rebuilt on the way (each rebuild rehashes every key, and
    /// holds the old table and the new one at once).
    pub(super) fn open() -> Shard {
        Shard {
            metas: Vec::with_capacity(SEAL_AT),
            sigs: Vec::with_capacity(SEAL_AT),
            table: Table::Open {
                heads: HashMap::with_capacity_and_hasher(SEAL_AT * CHAINS, Default::default()),
                next: Vec::with_capacity(SEAL_AT * CHAINS),
            },
        }
    }

    pub(super) fn seal(&mut self) {
        if matches!(self.table, Table::Sealed(_)) {
            return;
        }
        let mut all = Vec::with_capacity(self.metas.len() * CHAINS);
        for (slot, (m, sig)) in (0u32..).zip(self.metas.iter().zip(&self.sigs)) {
            all.extend(keys(m.exact, sig).into_iter().map(|k| (k, slot)));
        }
        self.table = Table::Sealed(Sealed::new(all));
    }

    /// Call `f` with each slot stored under `key` in `chain`, until it returns false.
    pub(super) fn each(&self, chain: usize, key: u32, mut f: impl FnMut(u32) -> bool) {
        match &self.table {
            Table::Open { heads, next } => {
                let mut slot = heads.get(&key).copied().unwrap_or(NONE);
                while slot != NONE && f(slot) {
                    slot = next[slot as usize * CHAINS + chain];
                }
            }
            Table::Sealed(sealed) => {
                for &(_, slot) in sealed.get(key) {
                    if !f(slot) {
                        break;
                    }
                }
            }
        }
    }

    pub(super) fn fingerprint(&self, slot: usize) -> Fingerprint {
        let m = &self.metas[slot];
        Fingerprint {
            exact: m.exact,
            shingles: m.shingles,
            signature: self.sigs[slot].clone(),
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let table = match &self.table {
            Table::Open { heads, next } => {
                heads.capacity() * (size_of::<(u32, u32)>() + 1) + next.capacity() * 4
            }
            Table::Sealed(s) => s.all.capacity() * size_of::<(u32, u32)>() + s.dir.capacity() * 4,
        };
        self.metas.capacity() * size_of::<Meta>()
            + self.sigs.capacity() * size_of::<Signature>()
            + table
            + size_of::<Shard>()
    }

    /// Store an entry at `slot` (the next one) under its chain keys; false when the
    /// shard is sealed and takes no more.
    pub(super) fn push(
        &mut self,
        slot: u32,
        keys: &[u32; CHAINS],
        meta: Meta,
        sig: Signature,
    ) -> bool {
        let Table::Open { heads, next } = &mut self.table else {
            return false;
        };
        for &key in keys {
            next.push(heads.insert(key, slot).unwrap_or(NONE));
        }
        self.metas.push(meta);
        self.sigs.push(sig);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_directory_finds_exactly_the_pairs_of_a_key() {
        for n in [0usize, 1, 3, 17, 1_000, 20_000] {
            // Mixed keys, some repeated, and the extremes of the key space.
            let mut pairs: Vec<(u32, u32)> = (0..n as u64)
                .map(|i| ((mix(i % 700) >> 32) as u32, i as u32))
                .collect();
            pairs.extend([(0, 1), (u32::MAX, 2), (u32::MAX, 3)]);
            let sealed = Sealed::new(pairs.clone());
            let mut probes: Vec<u32> = pairs.iter().map(|p| p.0).step_by(7).collect();
            probes.extend([0, 1, u32::MAX, u32::MAX - 1, 1 << 31]);
            for key in probes {
                let mut want: Vec<(u32, u32)> =
                    pairs.iter().copied().filter(|p| p.0 == key).collect();
                want.sort_unstable();
                assert_eq!(sealed.get(key), &want[..], "n = {n}, key = {key}");
            }
        }
    }
}
