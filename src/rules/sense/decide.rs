//! Places in context, the article's evidence: an ambiguous place name is decided by the other
//! places the article names — a place in the same division of the same country is strong
//! evidence, one elsewhere in the same country weak — and, when that says nothing, by the
//! feed's country.
//!
//! Invariants: evidence is counted per distinct name, never from the name being decided; a name
//! is set aside only when the strong evidence for another place of that name outweighs the
//! strong evidence for the places the watch means; without evidence, or with even evidence and no feed country
//! to break the tie, the name is kept (as it was before the article was read).

use crate::rules::gazetteer::{Kind, Locus};
use crate::rules::sense::Sense;

/// Another place name found in the article: its pattern, where its principal place lies, and
/// how the text writes it.
#[derive(Clone, Debug)]
pub(crate) struct Evidence<'a> {
    pub pattern: u32,
    pub locus: Locus,
    pub text: &'a str,
}

/// What the article says of one place name: kept (with the evidence, when some decided it) or
/// set aside (with the evidence).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Keep(Option<String>),
    Aside(String),
}

/// (strong, weak, index of the first strong or else weak evidence) for candidate `c`.
fn score(
    c: &Locus,
    own: u32,
    evidence: &[Evidence],
    near: &[([u8; 2], [u8; 2])],
) -> (usize, usize, Option<usize>) {
    let (mut strong, mut weak, mut first_strong, mut first_weak) = (0, 0, None, None);
    for (k, e) in evidence.iter().enumerate() {
        if e.pattern == own {
            continue;
        }
        // A place of a neighbouring country counts for a country («Azerbaijan» for Georgia).
        if e.locus.cc != c.cc {
            if c.kind() == Kind::Country && near.contains(&(c.cc, e.locus.cc)) {
                strong += 1;
                first_strong.get_or_insert(k);
            }
            continue;
        }
        let same_division = c.has_division() && e.locus.div == c.div;
        let is_strong = match c.kind() {
            Kind::Country => true,
            Kind::Region => false,
            _ => same_division,
        };
        if is_strong {
            strong += 1;
            first_strong.get_or_insert(k);
        } else {
            weak += 1;
            first_weak.get_or_insert(k);
        }
    }
    (strong, weak, first_strong.or(first_weak))
}

/// The best-supported candidate of `loci`: its (strong, weak) score, its locus, its evidence.
fn best(
    loci: &[Locus],
    own: u32,
    evidence: &[Evidence],
    near: &[([u8; 2], [u8; 2])],
) -> ((usize, usize), Option<(Locus, usize)>) {
    let mut top = ((0, 0), None);
    for c in loci {
        let (s, w, first) = score(c, own, evidence, near);
        if (s, w) > top.0 {
            top = ((s, w), first.map(|f| (*c, f)));
        }
    }
    top
}

/// Decide the place name `written` (pattern `own`) of `sense` in an article whose other place
/// names are `evidence`, from a feed of country `feed`. The evidence is put in words only when
/// `explain` (matching alone allocates nothing here).
pub(crate) fn decide(
    sense: &Sense,
    (own, written): (u32, &str),
    evidence: &[Evidence],
    feed: Option<[u8; 2]>,
    explain: bool,
) -> Verdict {
    if sense.others.is_empty() {
        return Verdict::Keep(None);
    }
    let (inside, why_in) = best(&sense.meant, own, evidence, &sense.near);
    let (outside, why_out) = best(&sense.others, own, evidence, &sense.near);
    let names = |(l, k): (Locus, usize)| {
        let e = &evidence[k];
        if !explain {
            return String::new();
        }
        format!(
            "{written} → {}: the article names {}, {}",
            l.label(),
            e.text,
            e.locus.label()
        )
    };
    // Only a place of the same division (or the country itself) overturns the meaning: a
    // mention of the country alone («U.S.», «Canada») is too common to tell two towns apart.
    if outside.0 > inside.0
        && let Some(w) = why_out
    {
        return Verdict::Aside(names(w));
    }
    if inside.0 > outside.0 || (inside.0 == outside.0 && inside.1 > outside.1 && feed.is_none()) {
        return Verdict::Keep(why_in.map(names));
    }
    // Even (often: no evidence at all): the feed's country, when only one side lies there.
    let Some(cc) = feed else {
        return Verdict::Keep(None);
    };
    let home_in = sense.meant.iter().find(|l| l.cc == cc);
    let home_out = sense.others.iter().find(|l| l.cc == cc);
    let country = |l: &Locus| {
        if !explain {
            return String::new();
        }
        let cc = String::from_utf8_lossy(&cc);
        format!("{written} → {}: the feed's country is {cc}", l.label())
    };
    match (home_in, home_out) {
        (Some(l), None) => Verdict::Keep(Some(country(l))),
        (None, Some(l)) => Verdict::Aside(country(l)),
        _ => Verdict::Keep(None),
    }
}
