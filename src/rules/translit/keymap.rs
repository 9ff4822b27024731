//! Names in every spelling, the key table: the variants of every name under the key of their
//! first token, in one open-addressing array (a key's variants side by side), behind a bit
//! filter that most keys of a text fail at once. A text's word costs one filter load, and
//! for the few that pass, one probe of the array: few cache lines, whatever the number of names.
//!
//! Invariants: key 0 is never a word's key (an analysis that has one is at least 2); every
//! slot's range is within `refs`; lookups never allocate.

/// A variant of a name: its tokens are `LooseTable::tokens[start..start + len]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Variant {
    pub name: u32,
    pub start: u32,
    pub len: u32,
}

const FILTER_BITS: u32 = 16;

fn filter_bit(key: u64) -> usize {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - FILTER_BITS)) as usize
}

/// Key → its variants.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyMap {
    filter: Vec<u64>,
    /// (key, start, len) into `refs`; key 0: an empty slot. A power of two long.
    slots: Vec<(u64, u32, u32)>,
    refs: Vec<Variant>,
}

impl KeyMap {
    pub fn build(mut entries: Vec<(u64, Variant)>) -> KeyMap {
        entries.sort_unstable_by_key(|e| (e.0, e.1.name, e.1.start));
        let distinct = entries.windows(2).filter(|w| w[0].0 != w[1].0).count() + 1;
        let size = (distinct * 2).next_power_of_two().max(16);
        let mut filter = vec![0u64; (1 << FILTER_BITS) / 64];
        let mut slots = vec![(0u64, 0u32, 0u32); size];
        let mut start = 0;
        while start < entries.len() {
            let k = entries[start].0;
            let n = entries[start..].partition_point(|e| e.0 == k);
            let bit = filter_bit(k);
            filter[bit / 64] |= 1 << (bit % 64);
            let mut at = slot(k, size);
            while slots[at].0 != 0 {
                at = (at + 1) & (size - 1);
            }
            slots[at] = (k, start as u32, n as u32);
            start += n;
        }
        let refs = entries.into_iter().map(|e| e.1).collect();
        KeyMap {
            filter,
            slots,
            refs,
        }
    }

    /// The variants whose first token has key `key`.
    pub fn get(&self, key: u64) -> &[Variant] {
        let bit = filter_bit(key);
        if key == 0 || (self.filter.get(bit / 64)).is_none_or(|w| w >> (bit % 64) & 1 == 0) {
            return &[];
        }
        let size = self.slots.len();
        let mut at = slot(key, size);
        while let Some(&(k, start, n)) = self.slots.get(at) {
            if k == key {
                let (start, n) = (start as usize, n as usize);
                return self.refs.get(start..start + n).unwrap_or_default();
            }
            if k == 0 {
                break;
            }
            at = (at + 1) & (size - 1);
        }
        &[]
    }

    pub fn is_empty(&self) -> bool {
        self.refs.is_empty()
    }
}

fn slot(key: u64, size: usize) -> usize {
    (key.wrapping_mul(0xD6E8_FEB8_6659_FD93).rotate_left(32) as usize) & (size - 1)
}
