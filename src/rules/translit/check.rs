//! Names in every spelling, the precise check: whether a word of the text (its [`Analysis`])
//! is a spelling of one compiled token of a name. The same consonants, position by position,
//! or an allowed pair; the vowel clusters alike by unit classes, with a small budget for a
//! reduced diphthong, a vowel written on one side only or moved across a consonant; the final
//! cluster strict (a lost or added final syllable never matches). Rules and why:
//! docs/research/translit.md §3.3.
//!
//! Invariants: pure, no allocation; symmetric in what it allows for consonants and vowel units;
//! never panics on analyses of any shape.

use crate::rules::translit::key::{ANY, Analysis, DH, FUSED, FUSED_SUN, GH, KH, TH};

/// q/k/c with g; g with gh and j; kh with h; th with t, d, dh, z; dh with d, z. Not z with d.
fn cons_ok(a: u8, b: u8) -> bool {
    let pair = |x: u8, y: u8| (a == x && b == y) || (a == y && b == x);
    a == b
        || pair(b'K', b'G')
        || pair(b'G', GH)
        || pair(b'G', b'J')
        || pair(KH, b'H')
        || pair(b'T', TH)
        || pair(TH, b'D')
        || pair(TH, DH)
        || pair(TH, b'Z')
        || pair(b'D', DH)
        || pair(DH, b'Z')
}

/// a ~ e, e ~ i, o ~ u; a, i and o/u stay apart.
fn unit_ok(x: u8, y: u8) -> bool {
    x == y
        || x == ANY
        || y == ANY
        || matches!(
            (x, y),
            (b'a', b'e') | (b'e', b'a') | (b'e', b'i') | (b'i', b'e') | (b'o', b'u') | (b'u', b'o')
        )
}

fn units_ok(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(&x, &y)| unit_ok(x, y))
}

/// Whether `r` is a reduced spelling of the two-unit cluster `c` (cost 1): ay/ai/ei written e
/// (not in a short name: Beji is not Baiji); aw/ow written ou or o; wa written ou.
fn reduces_to(c: &[u8], r: &[u8], short: bool) -> bool {
    let [x, y] = *c else {
        return false;
    };
    (matches!(x, b'a' | b'e') && y == b'i' && !short && r == b"e")
        || (matches!(x, b'a' | b'o' | b'e') && y == b'u' && (r == b"u" || r == b"o"))
        || (x == b'u' && matches!(y, b'a' | b'e') && r == b"u")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Initial,
    Medial,
}

/// The cost of reading text cluster `t` for the name's cluster `w`, or `None`. `strict`: the
/// initial vowel of a short name, where a / e / i must be written alike (Aden is not Eden).
fn cluster_cost(w: &[u8], t: &[u8], place: Place, strict: bool, short: bool) -> Option<u32> {
    if strict
        && w.len() == t.len()
        && w.iter()
            .zip(t)
            .any(|(&x, &y)| x != y && (x == b'e' || y == b'e') && x != ANY && y != ANY)
    {
        return None;
    }
    if units_ok(w, t) {
        return Some(0);
    }
    if w == [ANY] {
        return match t.len() {
            0 | 1 => Some(0),
            2 => Some(1),
            _ => None,
        };
    }
    if reduces_to(w, t, short) || reduces_to(t, w, short) {
        return Some(1);
    }
    if place == Place::Medial && w.len() + t.len() == 1 && !short {
        return Some(1);
    }
    None
}

/// The final clusters: the same, or a mute French e for nothing or a final a/e.
fn final_ok(w: &Analysis, t: &Analysis) -> bool {
    if w.mute || t.mute {
        if w.mute && t.mute {
            return true;
        }
        let other = if w.mute { t.last() } else { w.last() };
        if w.cons().len() <= 2 {
            return other.is_empty() || other == b"e";
        }
        return other.is_empty() || other == b"e" || other == b"a";
    }
    if w.last() == [ANY] {
        return t.last().len() <= 1;
    }
    if (w.acute || t.acute) && w.cons().len() <= 2 {
        return w.last() == t.last();
    }
    units_ok(w.last(), t.last())
}

/// The cost of the clusters between consonants, left to right; a short vowel that moved
/// across a consonant (Kafr / Kfar, Nabl / Nabel) costs 1, not 2.
fn medial_cost(w: &Analysis, t: &Analysis, short: bool) -> u32 {
    let n = w.cons().len().saturating_sub(1);
    let mut cost = 0;
    let mut k = 0;
    while k < n {
        let c = cluster_cost(w.after(k), t.after(k), Place::Medial, false, short);
        if k + 1 < n && c != Some(0) {
            let (a, b, x, y) = (w.after(k), w.after(k + 1), t.after(k), t.after(k + 1));
            let shape = (a.len(), b.len(), x.len(), y.len());
            if matches!(shape, (1, 0, 0, 1) | (0, 1, 1, 0))
                && units_ok(
                    if a.is_empty() { b } else { a },
                    if x.is_empty() { y } else { x },
                )
            {
                cost += 1;
                k += 2;
                continue;
            }
        }
        match c {
            Some(c) => cost += c,
            None => return u32::MAX,
        }
        k += 1;
    }
    cost
}

/// Whether the text word `t` is a spelling of the name's token `w`.
pub(crate) fn token_ok(w: &Analysis, t: &Analysis) -> bool {
    let n = w.cons().len();
    if !(w.ok && t.ok) {
        return false;
    }
    if n != t.cons().len() || w.v0().is_empty() != t.v0().is_empty() {
        return false;
    }
    let fused = matches!(w.v0().first(), Some(&FUSED | &FUSED_SUN));
    if fused {
        // An article fused at the start: a or e, then (assimilated) a doubled consonant.
        if !(t.v0() == b"a" || t.v0() == b"e") || (w.v0()[0] == FUSED_SUN && !t.dbl0) {
            return false;
        }
        if w.v0()[0] == FUSED && n > 0 && !t.after(0).is_empty() {
            return false; // al/el then the word's consonant at once: Albukamal, not Electron
        }
    }
    if !w.cons().iter().zip(t.cons()).all(|(&a, &b)| cons_ok(a, b)) {
        return false;
    }
    if n == 0 {
        return units_ok(w.v0(), t.v0());
    }
    let short = n <= 2;
    let budget = (n / 2) as u32;
    let mut cost = 0u32;
    if !fused && !w.v0().is_empty() {
        match cluster_cost(w.v0(), t.v0(), Place::Initial, short, short) {
            Some(c) => cost += c,
            None => return false,
        }
    }
    cost = cost.saturating_add(medial_cost(w, t, short));
    cost <= budget && final_ok(w, t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ana(s: &str) -> Analysis {
        let mut a = Analysis::default();
        a.analyze(s.as_bytes());
        a
    }

    #[test]
    fn spellings_of_one_name_pass_and_other_names_do_not() {
        let ok = |w: &str, t: &str| token_ok(&ana(w), &ana(t));
        for (w, t) in [
            ("kadhafi", "gaddafi"),
            ("kadhafi", "qaddafi"),
            ("kadhafi", "gadhafi"),
            ("kallabiyeh", "kallabiya"),
            ("kallabiyeh", "kalabiyah"),
            ("joulani", "julani"),
            ("mayadine", "mayadin"),
            ("kobane!", "kobani"),
            ("daech", "daesh"),
            ("zebdani", "zabadani"),
        ] {
            assert!(ok(w, t), "{w} / {t}");
        }
        for (w, t) in [
            ("hama", "hamas"),
            ("syrte", "syrie"),
            ("khamenei", "khomeini"),
            ("baghdadi", "baghdad"),
            ("joulani", "golan"),
            ("tartous", "tarsus"),
            ("kobane!", "cuban"),
            ("soleimani", "souleymane"),
            ("aden", "eden"),
        ] {
            assert!(!ok(w, t), "{w} / {t}");
        }
    }
}
