//! Stories stage (contract §4): which articles are one story — the same dispatch carried
//! by several outlets, re-headlined, trimmed, with a dateline or light edits. Pure: time,
//! window and feed come in as arguments; nothing here reads a clock or the database.
//!
//! Invariants: the text compared is the article's body (its content, else its summary),
//! normalised exactly as the watches fold text (case, accents, ligatures, apostrophes) and
//! cut into words; a body too short to tell stories apart is compared with its title in
//! front, and a text shorter than [`MIN_WORDS`] never joins another story. Every hash is
//! stable across versions and platforms (SipHash-1-3 with fixed keys, fixed permutation
//! constants), because fingerprints are stored in the database and compared with those of
//! later runs.
//!
//! How: an exact hash of the normalised words finds verbatim copies at the cost of one
//! pass; otherwise a MinHash signature over word shingles estimates how much two texts
//! share, and LSH banding ([`index`]) finds the few candidates worth comparing.

pub mod event;
pub mod index;
mod keyfilter;
pub mod minhash;
mod shard;

use std::hash::Hasher;

use chrono::{DateTime, Utc};
use siphasher::sip::SipHasher13;

pub use index::{Entry, Found, Index};
pub use minhash::{K, Signature};

/// Words in a shingle. Three words survive light edits (one changed word costs three
/// shingles) while two different reports of one event rarely share many three-word runs.
pub const SHINGLE: usize = 3;
/// A text with fewer words is never merged into a story: too little to tell stories apart.
pub const MIN_WORDS: usize = 15;
/// A body with fewer words is compared with its title in front of it: teasers and
/// boilerplate ("Lire la suite…") are then told apart by their headlines.
pub const SHORT_BODY: usize = 40;
/// Only the first this many bytes of a body are compared: copies of a story agree from
/// their first lines, and a hostile 50 MB article costs no more than a long one.
pub const MAX_BYTES: usize = 32 * 1024;
/// The similarity from which an article joins a story: see [`similarity`]. Tuned on the
/// labelled set in `tests/fixtures/stories/` (figures in `tests/it/stories.rs`).
pub const THRESHOLD: f64 = 0.5;

/// Fixed SipHash keys: changing them changes every stored fingerprint.
const KEYS: (u64, u64) = (0x7669_6769_6573_746f, 0x7269_6573_2d76_3031);

/// A text reduced to what the near-duplicate step needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    /// Hash of the normalised words: equal for verbatim copies.
    pub exact: u64,
    /// Distinct shingle hashes, sorted.
    pub shingles: Vec<u64>,
}

/// What is kept of an article to find its copies later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub exact: u64,
    /// How many distinct shingles the text has (to estimate containment).
    pub shingles: u32,
    pub signature: Signature,
}

/// The comparable text of an article, or `None` when it is too short to be merged with
/// anything (it then stays a story of its own).
pub fn text(title: &str, summary: &str, content: &str) -> Option<Text> {
    let body = if content.trim().is_empty() {
        summary
    } else {
        content
    };
    let body = crate::rules::fold::fold(head(body)).text;
    let mut words = split_words(&body);
    let title_text;
    if words.len() < SHORT_BODY {
        title_text = crate::rules::fold::fold(head(title)).text;
        let mut with_title = split_words(&title_text);
        with_title.append(&mut words);
        words = with_title;
    }
    if words.len() < MIN_WORDS {
        return None;
    }
    Some(Text {
        exact: exact_hash(&words),
        shingles: shingles(&words, SHINGLE),
    })
}

impl Text {
    /// The MinHash fingerprint of this text (the costly step: see `benches/stories.rs`).
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint {
            exact: self.exact,
            shingles: u32::try_from(self.shingles.len()).unwrap_or(u32::MAX),
            signature: minhash::signature(&self.shingles),
        }
    }
}

/// Where a new article goes: its fingerprint (none for a text too short to compare) and
/// the story it joins (none: a story of its own).
#[derive(Debug, Clone)]
pub struct Placement {
    pub fingerprint: Option<Fingerprint>,
    pub found: Option<Found>,
}

/// `place` for a text already reduced and fingerprinted (off the store lock): the exact
/// hash first, then MinHash with LSH.
pub fn place_prepared(
    index: &Index,
    prepared: Option<&Fingerprint>,
    since: DateTime<Utc>,
) -> Placement {
    let Some(fp) = prepared else {
        return Placement {
            fingerprint: None,
            found: None,
        };
    };
    if let Some((found, stored)) = index.find_exact(fp.exact, since) {
        return Placement {
            fingerprint: Some(stored),
            found: Some(found),
        };
    }
    let found = index.find_similar(fp, since);
    Placement {
        fingerprint: Some(fp.clone()),
        found,
    }
}

/// Where a new article goes once its copies were looked for (`placed`): when it copies
/// nothing, the story of the same event in `window`, if one scores high enough. `at` is
/// when it was published, `outlet` its feed.
pub fn place_event(
    placed: Placement,
    window: &event::Window,
    terms: &event::Terms,
    at: i64,
    outlet: i64,
) -> Placement {
    if placed.found.is_some() {
        return placed;
    }
    let judged = window.judge(terms, at, outlet);
    let found = (judged.best).filter(|_| judged.joins).map(|why| Found {
        story_id: why.story_id,
        article_id: why.article_id,
        similarity: why.score,
    });
    Placement { found, ..placed }
}

/// An article's time for the event comparison: when the feed says it was published, unless
/// that is after it was seen (a date in the future is not believed).
pub fn event_time(published: Option<DateTime<Utc>>, seen: DateTime<Utc>) -> i64 {
    published.filter(|p| *p <= seen).unwrap_or(seen).timestamp()
}

/// Place a new article among the stories of `index` first seen at or after `since`:
/// the exact hash first (a verbatim copy reuses the stored fingerprint: no MinHash),
/// then MinHash with LSH.
pub fn place(
    index: &Index,
    title: &str,
    summary: &str,
    content: &str,
    since: DateTime<Utc>,
) -> Placement {
    let Some(t) = text(title, summary, content) else {
        return Placement {
            fingerprint: None,
            found: None,
        };
    };
    if let Some((found, fp)) = index.find_exact(t.exact, since) {
        return Placement {
            fingerprint: Some(fp),
            found: Some(found),
        };
    }
    let fp = t.fingerprint();
    let found = index.find_similar(&fp, since);
    Placement {
        fingerprint: Some(fp),
        found,
    }
}

/// The first [`MAX_BYTES`] of `text`, cut at a char boundary.
fn head(text: &str) -> &str {
    let mut end = text.len().min(MAX_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The words of `text`, folded as the watches fold it.
pub fn words(text: &str) -> Vec<String> {
    split_words(&crate::rules::fold::fold(text).text)
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// The words of an already folded text (borrowed: a poll cuts every body into words).
fn split_words(folded: &str) -> Vec<&str> {
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect()
}

fn sip() -> SipHasher13 {
    SipHasher13::new_with_keys(KEYS.0, KEYS.1)
}

fn exact_hash(words: &[&str]) -> u64 {
    let mut h = sip();
    for w in words {
        h.write(w.as_bytes());
        h.write_u8(0xff);
    }
    h.finish()
}

/// Distinct hashes of the `k`-word shingles of `words`, sorted (a text shorter than `k`
/// words is one shingle).
pub fn shingles(words: &[&str], k: usize) -> Vec<u64> {
    let hashes: Vec<u64> = words
        .iter()
        .map(|w| {
            let mut h = sip();
            h.write(w.as_bytes());
            h.finish()
        })
        .collect();
    let k = k.clamp(1, hashes.len().max(1));
    let mut out: Vec<u64> = hashes
        .windows(k)
        .map(|win| {
            // Order matters: rotate each word's hash by its position before mixing.
            let mut acc = 0u64;
            for (i, h) in win.iter().enumerate() {
                acc ^= h.rotate_left(17 * i as u32);
            }
            minhash::mix(acc)
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Estimated Jaccard similarity of the two texts' shingle sets, and the estimated share
/// of the smaller text found in the larger one (containment).
pub fn estimate(a: &Fingerprint, b: &Fingerprint) -> (f64, f64) {
    let j = minhash::jaccard(&a.signature, &b.signature);
    let (na, nb) = (f64::from(a.shingles), f64::from(b.shingles));
    let small = na.min(nb).max(1.0);
    let inter = j * (na + nb) / (1.0 + j);
    (j, (inter / small).min(1.0))
}

/// How alike two texts are, from 0 to 1: their estimated containment — a copy cut by a
/// third is still two thirds of the original — but never more than twice their Jaccard
/// similarity, so that a short text wholly quoted inside a long, different article does
/// not make the two one story.
pub fn similarity(a: &Fingerprint, b: &Fingerprint) -> f64 {
    if a.exact == b.exact {
        return 1.0;
    }
    let (j, c) = estimate(a, b);
    c.min(2.0 * j)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "Les forces gouvernementales syriennes poursuivaient, hier, leur offensive contre le groupe terroriste autoproclamé «Etat islamique» (Daech/EI) près de Palmyre, a rapporté la presse syrienne. «Les troupes syriennes, appuyées par des milices pro-gouvernementales, sont à environ 20 km à l'ouest de la cité antique», a indiqué une source militaire citée par l'agence de presse syrienne SANA.";

    #[test]
    fn normalisation_ignores_case_accents_and_punctuation() {
        assert_eq!(
            words("L'ARMÉE, à «Genève»!"),
            vec!["l", "armee", "a", "geneve"]
        );
        let a = text("", "", BODY).unwrap();
        let shouted = BODY.to_uppercase().replace('é', "e");
        assert_eq!(a.exact, text("", "", &shouted).unwrap().exact);
    }

    #[test]
    fn short_texts_are_never_fingerprinted_and_short_bodies_carry_their_title() {
        assert!(text("Lire la suite", "", "Cliquez ici").is_none());
        let teaser = "Abonnez-vous pour lire la suite de cet article réservé à nos abonnés, sans engagement.";
        let a = text("Palmyre : l'armée progresse", teaser, "").unwrap();
        let b = text("Bourse : le CAC 40 recule", teaser, "").unwrap();
        assert_ne!(a.exact, b.exact);
        // A long body is compared without its headline: re-headlined copies are equal.
        let c = text("Autre titre", "", BODY).unwrap();
        let d = text("Titre repris", "", BODY).unwrap();
        assert_eq!(c, d);
    }

    #[test]
    fn a_huge_body_is_compared_on_its_head_only() {
        let huge = format!("{BODY} ") + &"é mot ".repeat(2_000_000);
        let t = text("", "", &huge).unwrap();
        assert!(t.shingles.len() < MAX_BYTES / 2);
        let same_head = format!("{BODY} ") + &"é mot ".repeat(10_000);
        assert_eq!(t.exact, text("", "", &same_head).unwrap().exact);
    }

    #[test]
    fn a_trimmed_copy_is_similar_and_an_unrelated_text_is_not() {
        let full = text("", "", BODY).unwrap().fingerprint();
        let cut: String = BODY
            .split_whitespace()
            .take(45)
            .collect::<Vec<_>>()
            .join(" ");
        let trimmed = text("", "", &cut).unwrap().fingerprint();
        let other = text("", "", "La Bourse de Paris a terminé en hausse lundi, le CAC 40 gagnant 0,85 % à 4 864,05 points, dans un volume d'échanges de 3,2 milliards d'euros. Vendredi, l'indice vedette avait fini en repli.").unwrap().fingerprint();
        assert!(similarity(&full, &trimmed) >= THRESHOLD);
        assert!(similarity(&full, &other) < 0.1);
        assert_eq!(similarity(&full, &full), 1.0);
    }
}
