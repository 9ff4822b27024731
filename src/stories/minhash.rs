//! Stories stage, MinHash: a fixed-size signature of a set of shingle hashes whose
//! agreement with another signature estimates the two sets' Jaccard similarity. Pure.
//!
//! Invariants: the permutations are fixed constants (signatures are stored and compared
//! across runs); each of the [`K`] slots keeps 16 bits identifying the shingle that was
//! minimal under that slot's permutation (b-bit MinHash: two different minima agree by
//! chance once in 65,536, a bias of 0.0015 % on the estimate, for a quarter of the memory
//! of full 64-bit minima).

/// Slots per signature: the estimate's standard error is at most 1/(2·√K) ≈ 0.044.
pub const K: usize = 128;

/// A MinHash signature.
#[derive(Clone, PartialEq, Eq)]
pub struct Signature(pub [u8; K]);

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signature({:04x}{:04x}…)", self.0[0], self.0[1])
    }
}

impl Signature {
    /// The stored form: the K slots.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_vec()
    }

    /// The signature stored as `bytes`, or `None` when they are not one.
    pub fn from_bytes(bytes: &[u8]) -> Option<Signature> {
        Some(Signature(bytes.try_into().ok()?))
    }
}

/// SplitMix64's finaliser: a bijective, well-mixing function of 64 bits.
pub const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Slot i ranks shingles by `A[i]·x + B[i] mod 2⁶⁴`: with `A[i]` odd this is a bijection,
/// so the minimum identifies its shingle and a few mixed bits of it can stand for it.
const fn constants(salt: u64) -> [u64; K] {
    let mut out = [0u64; K];
    let mut i = 0;
    while i < K {
        out[i] = mix(salt ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        i += 1;
    }
    out
}
const A: [u64; K] = {
    let mut a = constants(0x6d69_6e68_6173_6831);
    let mut i = 0;
    while i < K {
        a[i] |= 1;
        i += 1;
    }
    a
};
const B: [u64; K] = constants(0x6d69_6e68_6173_6832);

/// The signature of a set of shingle hashes (each hash once; order does not matter).
pub fn signature(shingles: &[u64]) -> Signature {
    let mut mins = [u64::MAX; K];
    // A few slots at a time over every shingle: their minima and constants stay in
    // registers, instead of every slot's minimum being loaded and stored once per
    // shingle (this is most of a poll's fingerprinting time).
    const LANES: usize = 4;
    for ((m, a), b) in mins
        .as_chunks_mut::<LANES>()
        .0
        .iter_mut()
        .zip(A.as_chunks::<LANES>().0)
        .zip(B.as_chunks::<LANES>().0)
    {
        let mut lane = [u64::MAX; LANES];
        for &x in shingles {
            for j in 0..LANES {
                lane[j] = lane[j].min(a[j].wrapping_mul(x).wrapping_add(b[j]));
            }
        }
        *m = lane;
    }
    // Mixing keeps the bits that identify the minimum, not the small values of its rank.
    Signature(mins.map(|m| (mix(m) >> 56) as u8))
}

/// The estimated Jaccard similarity: the share of slots that agree, less the share that
/// agree by chance (1 in 256 of the others).
pub fn jaccard(a: &Signature, b: &Signature) -> f64 {
    let same = a.0.iter().zip(&b.0).filter(|(x, y)| x == y).count();
    let chance = 1.0 / 256.0;
    ((same as f64 / K as f64 - chance) / (1.0 - chance)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(range: std::ops::Range<u64>) -> Vec<u64> {
        range.map(mix).collect()
    }

    #[test]
    fn agreement_estimates_jaccard() {
        // |A ∩ B| = 600, |A ∪ B| = 1000: J = 0.6.
        let a = signature(&set(0..800));
        let b = signature(&set(200..1000));
        let j = jaccard(&a, &b);
        assert!((j - 0.6).abs() < 0.15, "{j}");
        assert_eq!(jaccard(&a, &a), 1.0);
        let c = signature(&set(5000..6000));
        assert!(jaccard(&a, &c) < 0.1);
    }

    #[test]
    fn signatures_round_trip_and_are_stable() {
        let s = signature(&set(0..50));
        assert_eq!(Signature::from_bytes(&s.to_bytes()), Some(s.clone()));
        assert_eq!(Signature::from_bytes(&[1, 2, 3]), None);
        // Stored signatures must keep their meaning from one version to the next.
        assert_eq!(signature(&[42]).0[..4], [127u8, 127, 31, 105]);
        assert_eq!(
            s,
            signature(&set(0..50).into_iter().rev().collect::<Vec<_>>())
        );
    }
}
