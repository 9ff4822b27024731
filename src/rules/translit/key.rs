//! Names in every spelling, the key of a Latin word: a word (its ASCII letters, as written in
//! the text or folded by `letters`, or a name's compiled token) is rewritten to phonemic
//! symbols — consonant classes and vowel units — and split into vowel clusters around its
//! consonants ([`Analysis`]), in one pass; its key is the consonant skeleton over coarse
//! classes, plus whether it starts with a vowel. Rules and why: docs/research/translit.md §3.2.
//!
//! Invariants: pure, no allocation (an [`Analysis`] is inline); letters count in either case;
//! the key depends only on the consonants' coarse classes and the initial vowel, so that every
//! spelling a precise check (`check`) accepts has the same key as the name's; never panics,
//! whatever the word.

/// Consonant symbols that are not a plain ASCII capital: sh, kh, gh, dh, th.
pub(crate) const SH: u8 = b'C';
pub(crate) const KH: u8 = b'X';
pub(crate) const GH: u8 = b'Q';
pub(crate) const DH: u8 = b'W';
pub(crate) const TH: u8 = b'O';
/// Marks that appear in the compiled tokens of a name only: `*` any one vowel or none (the
/// vowel of an article fused inside a name), `@` the a or e of an article fused at the start
/// of a word, `#` the same when the article is assimilated (the consonant written doubled).
pub(crate) const ANY: u8 = b'*';
pub(crate) const FUSED: u8 = b'@';
pub(crate) const FUSED_SUN: u8 = b'#';

/// Vowel units are lower-case (`a e i o u`) or one of the marks above.
pub(crate) fn is_vowel(x: u8) -> bool {
    x.is_ascii_lowercase() || matches!(x, ANY | FUSED | FUSED_SUN)
}

/// Sun letters: the article assimilates to them (ash-Sham, az-Zor).
pub(crate) fn is_sun(x: u8) -> bool {
    matches!(
        x,
        b'T' | TH | b'D' | DH | b'Z' | b'S' | SH | b'L' | b'N' | b'R'
    )
}

/// The coarse class of a consonant, 1 to 13: what the key is made of.
fn class(x: u8) -> u64 {
    match x {
        b'B' => 1,
        b'P' => 2,
        b'F' => 3,
        b'V' => 4,
        b'K' | b'G' | GH | b'J' => 5,
        KH | b'H' => 6,
        b'T' | TH | b'D' | DH | b'Z' => 7,
        b'S' => 8,
        SH => 9,
        b'L' => 10,
        b'M' => 11,
        b'N' => 12,
        _ => 13,
    }
}

/// Most consonants and vowel units a word may have to be analysed (longer ones are no names).
const MAX_CONS: usize = 15;
const MAX_UNITS: usize = 40;

/// A word as consonants and the vowel clusters around them: V0 C1 V1 … Cn Vn. Inline, without
/// heap memory: a name's variants sit side by side, and a text's word costs no allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Analysis {
    cons: [u8; MAX_CONS],
    n_cons: u8,
    units: [u8; MAX_UNITS],
    n_units: u8,
    /// Cluster k is `units[bounds[k]..bounds[k + 1]]`: k = 0 before the first consonant, k ≥ 1
    /// after consonant k − 1. `n_cons + 2` entries once analysed.
    bounds: [u8; MAX_CONS + 2],
    /// A bare final e after a consonant (French: Mayadine, Salmane): mute.
    pub mute: bool,
    /// The word ends in an accented e (Kobané, Hassaké): a vowel.
    pub acute: bool,
    /// The first consonant is written doubled (Ezzor, Attal).
    pub dbl0: bool,
    /// The word had a `*` mark (a fused article's free vowel): never read as a pair.
    pub any_mark: bool,
    /// The word fitted ([`MAX_CONS`] consonants, [`MAX_UNITS`] vowel units): it has a key.
    pub ok: bool,
    pub key: u64,
}

impl Default for Analysis {
    fn default() -> Self {
        Analysis {
            cons: [0; MAX_CONS],
            n_cons: 0,
            units: [0; MAX_UNITS],
            n_units: 0,
            bounds: [0; MAX_CONS + 2],
            mute: false,
            acute: false,
            dbl0: false,
            any_mark: false,
            ok: false,
            key: 0,
        }
    }
}

impl Analysis {
    /// The consonants, in order.
    pub fn cons(&self) -> &[u8] {
        &self.cons[..self.n_cons as usize]
    }

    fn cluster(&self, k: usize) -> &[u8] {
        match (self.bounds.get(k), self.bounds.get(k + 1)) {
            (Some(&a), Some(&b)) => self.units.get(a as usize..b as usize).unwrap_or_default(),
            _ => &[],
        }
    }

    /// The vowels before the first consonant.
    pub fn v0(&self) -> &[u8] {
        self.cluster(0)
    }

    /// The vowels after consonant `i`.
    pub fn after(&self, i: usize) -> &[u8] {
        self.cluster(i + 1)
    }

    /// The last cluster: after the last consonant, or the whole word if it has none.
    pub fn last(&self) -> &[u8] {
        self.cluster(self.n_cons as usize)
    }

    /// Analyse `s` (ASCII letters, either case, and the marks; a trailing `!` says the last
    /// letter was an accented e) into this analysis, in one pass. A word too long for the
    /// analysis is left without a key (`ok` false).
    pub fn analyze(&mut self, s: &[u8]) {
        let acute = s.last() == Some(&b'!');
        let mut s = s;
        while let [rest @ .., b'!'] = s {
            s = rest;
        }
        self.key = 0;
        self.n_cons = 0;
        self.n_units = 0;
        self.bounds[0] = 0;
        self.dbl0 = false;
        self.any_mark = false;
        self.ok = false;
        // The last symbol kept (0: none), and the last two read (a final h after a vowel goes).
        let mut last = 0u8;
        let (mut raw_prev, mut raw_last) = (0u8, 0u8);
        let mut i = 0;
        while i < s.len() {
            let (x, y, len) = symbols_at(s, i);
            i += len;
            for x in [x, y] {
                if x == 0 {
                    continue;
                }
                (raw_prev, raw_last) = (raw_last, x);
                if !self.push(x, &mut last) {
                    return;
                }
            }
        }
        if raw_last == b'H' && is_vowel(raw_prev) {
            self.n_cons -= 1;
        }
        self.bounds[self.n_cons as usize + 1] = self.n_units;
        self.ok = true;
        self.acute = acute;
        let n = s.len();
        self.mute = !acute
            && n >= 2
            && s[n - 1].eq_ignore_ascii_case(&b'e')
            && !b"aeiouy".contains(&s[n - 2].to_ascii_lowercase())
            && self.last() == b"e";
        let mut key: u64 = 2 | u64::from(!self.v0().is_empty());
        for &c in self.cons() {
            key = key.wrapping_mul(16).wrapping_add(class(c));
        }
        self.key = key;
    }

    /// Keep symbol `x`: a repeated one once (the first consonant written doubled is noted), d
    /// and dh or t and th as one, m before b as n. False when the word is too long.
    fn push(&mut self, x: u8, last: &mut u8) -> bool {
        self.any_mark |= x == ANY;
        let p = *last;
        if p != 0 {
            if x == p && x != ANY {
                if !is_vowel(x) && self.n_cons == 1 {
                    self.dbl0 = true;
                }
                return true;
            }
            let merged = match (p, x) {
                (b'D', DH) | (DH, b'D') => DH,
                (b'T', TH) | (TH, b'T') => TH,
                _ => 0,
            };
            if merged != 0 {
                self.cons[self.n_cons as usize - 1] = merged;
                *last = merged;
                return true;
            }
            if p == b'M' && x == b'B' {
                self.cons[self.n_cons as usize - 1] = b'N';
            }
        }
        if is_vowel(x) {
            if self.n_units as usize == MAX_UNITS {
                return false;
            }
            self.units[self.n_units as usize] = x;
            self.n_units += 1;
        } else {
            if self.n_cons as usize == MAX_CONS {
                return false;
            }
            self.cons[self.n_cons as usize] = x;
            self.n_cons += 1;
            self.bounds[self.n_cons as usize] = self.n_units;
        }
        *last = x;
        true
    }
}

/// The symbols of the letters at `s[i..]`, left to right, longest match first
/// (docs/research/translit.md §3.2): one or two symbols (0: none) and the letters read.
/// Letters are read in either case.
fn symbols_at(s: &[u8], i: usize) -> (u8, u8, usize) {
    let at = |k: usize| s.get(k).map_or(0, u8::to_ascii_lowercase);
    let c = at(i);
    let next = at(i + 1);
    // Letters that start no longer spelling: one table look-up.
    let one = SINGLE[c as usize];
    if one != 0 && !STARTS_MORE[c as usize] {
        return (one, 0, 1);
    }
    if (c == b'q' || c == b'g') && next == b'u' && matches!(at(i + 2), b'e' | b'i' | b'y') {
        return (if c == b'q' { b'K' } else { b'G' }, 0, 2);
    }
    match (c, next) {
        (b'c', b'h') => (SH, 0, 2),
        (b'c', b'k') => (b'K', 0, 2),
        (b'c', b'e' | b'i' | b'y') => (b'S', 0, 1),
        (b'c', _) => (b'K', 0, 1),
        (b'x', _) => (b'K', b'S', 1),
        (b's', b'c') if at(i + 2) == b'h' => (SH, 0, 3),
        (b's', b'h') => (SH, 0, 2),
        (b'k', b'h') => (KH, 0, 2),
        (b'g', b'h') => (GH, 0, 2),
        (b'd', b'j') => (b'J', 0, 2),
        (b'd', b'h') => (DH, 0, 2),
        (b't', b'h') => (TH, 0, 2),
        (b'p', b'h') => (b'F', 0, 2),
        (b'o', b'u' | b'o') => (b'u', 0, 2),
        (b'e', b'e') => (b'i', 0, 2),
        (b'a', b'a') => (b'a', 0, 2),
        _ => (one, 0, 1),
    }
}

/// Letters that may start a spelling of more than one letter (ch, sh, sch, kh, gh, gu, dj,
/// dh, th, ph, qu, ou, oo, ee, aa, x).
static STARTS_MORE: [bool; 256] = {
    let mut t = [false; 256];
    let starts = b"csktdpgqoeax";
    let mut k = 0;
    while k < starts.len() {
        t[starts[k] as usize] = true;
        k += 1;
    }
    t
};

/// The symbol of each single letter (lower case), 0 for none.
static SINGLE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = single(c as u8);
        c += 1;
    }
    t
};

/// The symbol of one letter (0 for none).
const fn single(c: u8) -> u8 {
    match c {
        b'u' | b'w' => b'u',
        b'i' | b'y' => b'i',
        b'a' | b'e' | b'o' | ANY | FUSED | FUSED_SUN => c,
        b'q' | b'k' => b'K',
        b'g' | b'j' | b'h' | b't' | b'd' | b'z' | b's' | b'b' | b'p' | b'f' | b'v' | b'l'
        | b'm' | b'n' | b'r' => c - 32,
        _ => 0,
    }
}
