//! Names in every spelling, the key of a Latin word: a word (as written, or a name's compiled
//! token) is folded to ASCII, rewritten to phonemic symbols — consonant classes and vowel units
//! — and split into vowel clusters around its consonants ([`Analysis`]); its key is the
//! consonant skeleton over coarse classes, plus whether it starts with a vowel. Rules and why:
//! docs/research/translit.md §3.2.
//!
//! Invariants: pure, and allocation-free once the buffers of an [`Analysis`] are warm; the key
//! depends only on the consonants' coarse classes and the initial vowel, so that every spelling
//! a precise check (`check`) accepts has the same key as the name's; never panics, whatever
//! the word.

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

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

/// A word as consonants and the vowel clusters around them: V0 C1 V1 … Cn Vn.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Analysis {
    pub cons: Vec<u8>,
    units: Vec<u8>,
    /// Cluster k is `units[bounds[k]..bounds[k + 1]]`: k = 0 before the first consonant, k ≥ 1
    /// after consonant k − 1. `cons.len() + 2` entries once analysed.
    bounds: Vec<u16>,
    /// A bare final e after a consonant (French: Mayadine, Salmane): mute.
    pub mute: bool,
    /// The word ends in an accented e (Kobané, Hassaké): a vowel.
    pub acute: bool,
    /// The first consonant is written doubled (Ezzor, Attal).
    pub dbl0: bool,
    /// The word had a `*` mark (a fused article's free vowel): never read as a pair.
    pub any_mark: bool,
    pub key: u64,
}

impl Analysis {
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
        self.cluster(self.cons.len())
    }

    /// Analyse `s` (folded ASCII letters and marks; a trailing `!` says the last letter was an
    /// accented e), reusing this analysis' buffers; `syms` is scratch space.
    pub fn analyze(&mut self, s: &[u8], syms: &mut Vec<u8>) {
        let acute = s.last() == Some(&b'!');
        let mut s = s;
        while let [rest @ .., b'!'] = s {
            s = rest;
        }
        symbols(s, syms);
        if syms.len() >= 2 && syms[syms.len() - 1] == b'H' && is_vowel(syms[syms.len() - 2]) {
            syms.pop();
        }
        self.cons.clear();
        self.units.clear();
        self.bounds.clear();
        self.bounds.push(0);
        self.dbl0 = false;
        self.any_mark = false;
        let mut last: Option<u8> = None;
        for &x in syms.iter() {
            self.any_mark |= x == ANY;
            if let Some(p) = last {
                if x == p && x != ANY {
                    if !is_vowel(x) && self.cons.len() == 1 {
                        self.dbl0 = true;
                    }
                    continue;
                }
                let merged = match (p, x) {
                    (b'D', DH) | (DH, b'D') => Some(DH),
                    (b'T', TH) | (TH, b'T') => Some(TH),
                    _ => None,
                };
                if let Some(m) = merged {
                    if let Some(c) = self.cons.last_mut() {
                        *c = m;
                    }
                    last = Some(m);
                    continue;
                }
                if p == b'M'
                    && x == b'B'
                    && let Some(c) = self.cons.last_mut()
                {
                    *c = b'N';
                }
            }
            if is_vowel(x) {
                self.units.push(x);
            } else {
                self.cons.push(x);
                self.bounds.push(self.units.len() as u16);
            }
            last = Some(x);
        }
        self.bounds.push(self.units.len() as u16);
        self.acute = acute;
        let n = s.len();
        self.mute = !acute
            && n >= 2
            && s[n - 1] == b'e'
            && !b"aeiouy".contains(&s[n - 2])
            && self.last() == b"e";
        let mut key: u64 = 2 | u64::from(!self.v0().is_empty());
        for &c in &self.cons {
            key = key.wrapping_mul(16).wrapping_add(class(c));
        }
        self.key = key;
    }
}

/// Letters to symbols, left to right, longest match first (docs/research/translit.md §3.2).
fn symbols(s: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut i = 0;
    let at = |k: usize| s.get(k).copied().unwrap_or(0);
    while i < s.len() {
        let c = s[i];
        let next = at(i + 1);
        if (c == b'q' || c == b'g') && next == b'u' && matches!(at(i + 2), b'e' | b'i' | b'y') {
            out.push(if c == b'q' { b'K' } else { b'G' });
            i += 2;
            continue;
        }
        if c == b'c' && next != b'h' {
            out.push(if matches!(next, b'e' | b'i' | b'y') {
                b'S'
            } else {
                b'K'
            });
            i += 1 + usize::from(next == b'k');
            continue;
        }
        if c == b'x' {
            out.extend_from_slice(b"KS");
            i += 1;
            continue;
        }
        // (symbol, letters read); symbol 0: a char that is no letter (skipped).
        let (sym, len) = if s[i..].starts_with(b"sch") {
            (SH, 3)
        } else {
            match [c, next] {
                [b's' | b'c', b'h'] => (SH, 2),
                [b'k', b'h'] => (KH, 2),
                [b'g', b'h'] => (GH, 2),
                [b'd', b'j'] => (b'J', 2),
                [b'd', b'h'] => (DH, 2),
                [b't', b'h'] => (TH, 2),
                [b'p', b'h'] => (b'F', 2),
                [b'c', b'k'] => (b'K', 2),
                [b'o', b'u' | b'o'] => (b'u', 2),
                [b'e', b'e'] => (b'i', 2),
                [b'a', b'a'] => (b'a', 2),
                _ => (single(c), 1),
            }
        };
        if sym != 0 {
            out.push(sym);
        }
        i += len;
    }
}

/// The symbol of one letter (0 for none).
fn single(c: u8) -> u8 {
    match c {
        b'u' | b'w' => b'u',
        b'i' | b'y' => b'i',
        b'a' | b'e' | b'o' | ANY | FUSED | FUSED_SUN => c,
        b'q' | b'k' => b'K',
        b'g' | b'j' | b'h' | b't' | b'd' | b'z' | b's' | b'b' | b'p' | b'f' | b'v' | b'l'
        | b'm' | b'n' | b'r' => c.to_ascii_uppercase(),
        _ => 0,
    }
}

/// Letters of other languages' alphabets that no French or English transliteration of Arabic
/// uses: a word with one («Hülle») is matched only as written.
pub(crate) fn is_foreign(c: char) -> bool {
    matches!(
        c,
        'ä' | 'ö'
            | 'ü'
            | 'Ä'
            | 'Ö'
            | 'Ü'
            | 'å'
            | 'Å'
            | 'ñ'
            | 'Ñ'
            | 'ø'
            | 'Ø'
            | 'ğ'
            | 'Ğ'
            | 'ş'
            | 'Ş'
            | 'ı'
            | 'ł'
            | 'Ł'
            | 'ß'
    )
}

/// Scholarly letters to their digraphs, before accents go (š → sh, ḫ → kh, ṣ → s…); the ayn
/// and hamza written as letters (ʿ ʾ ʻ) are dropped.
fn premap(c: char) -> Option<&'static str> {
    Some(match c {
        'š' | 'Š' => "sh",
        'ṯ' | 'Ṯ' => "th",
        'ḏ' | 'Ḏ' => "dh",
        'ḫ' | 'Ḫ' | 'ẖ' => "kh",
        'ġ' | 'Ġ' => "gh",
        'ǧ' | 'Ǧ' => "j",
        'č' | 'Č' => "ch",
        'ç' | 'Ç' => "s",
        'œ' | 'Œ' => "oe",
        'æ' | 'Æ' => "ae",
        'ß' => "ss",
        'ṣ' | 'Ṣ' => "s",
        'ḍ' | 'Ḍ' | 'ḑ' | 'Ḑ' => "d",
        'ṭ' | 'Ṭ' | 'ţ' | 'Ţ' => "t",
        'ẓ' | 'Ẓ' | 'ẕ' | 'Ẕ' => "z",
        'ḥ' | 'Ḥ' | 'ḩ' | 'Ḩ' => "h",
        'ʾ' | 'ʿ' | 'ʻ' => "",
        'ı' => "i",
        'ł' | 'Ł' => "l",
        'ø' | 'Ø' => "o",
        _ => return None,
    })
}

/// Append the ASCII folding of `piece` (a run of word chars) to `out`: lower case, scholarly
/// letters to digraphs, accents dropped. Returns whether the last letter is an accented e
/// (Kobané), the state carried from the previous piece otherwise.
pub(crate) fn fold_piece(piece: &str, out: &mut String, mut acute: bool) -> bool {
    for ch in piece.chars() {
        if ch.is_ascii() {
            out.push(ch.to_ascii_lowercase());
            acute = false;
            continue;
        }
        if let Some(m) = premap(ch) {
            out.push_str(m);
            acute = false;
            continue;
        }
        if is_joiner(ch) {
            continue;
        }
        let from = out.len();
        let mut plain = true;
        decompose_compatible(ch, |d| {
            if is_combining_mark(d) {
                plain = false;
            } else {
                out.extend(d.to_lowercase());
            }
        });
        if out.len() == from {
            continue;
        }
        acute = &out[from..] == "e" && !plain;
    }
    acute
}

/// Invisible chars that folding drops inside a word (soft hyphen, zero-width joiners).
pub(crate) fn is_joiner(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}'
    )
}

/// «Abdel», «Abdul»… are «Abd» and the article of the next word; «Abed» is «Abd», «Ibn» is
/// «bin», in a name as in the text.
pub(crate) fn abd_form(fold: &str) -> &str {
    match fold {
        "abdel" | "abdul" | "abdoul" | "abdal" | "abed" | "abdol" => "abd",
        "ibn" => "bin",
        other => other,
    }
}

/// The Arabic article and its assimilated forms, as words of their own (al-, el-, ash-…).
pub(crate) fn is_article(fold: &str) -> bool {
    matches!(
        fold,
        "al" | "el"
            | "il"
            | "ul"
            | "ad"
            | "adh"
            | "an"
            | "ar"
            | "as"
            | "ash"
            | "at"
            | "ath"
            | "az"
            | "ed"
            | "en"
            | "er"
            | "es"
            | "esh"
            | "et"
            | "ez"
            | "ud"
            | "un"
            | "ur"
            | "us"
            | "ush"
            | "ut"
            | "uz"
    )
}

/// Articles that a hit takes in when they stand before the name («al Bayarat», «el-Hol»); the
/// others («an», «as», «et»…) only when joined by a hyphen («ash-Sham»).
pub(crate) fn is_shown_article(fold: &str) -> bool {
    matches!(fold, "al" | "el" | "il" | "ul")
}
