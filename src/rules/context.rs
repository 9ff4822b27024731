//! Rules, place context: whether a place name found in a text names a street rather than the
//! place («Washington Street», «rue de Damas»). Pure: it reads the folded text and the original
//! around a hit, nothing else, and never panics on any offsets (out-of-range reads are empty).

use crate::rules::fold::Folded;

/// Street and feature words written after a name, capitalised: «Washington Street», «Damascus
/// Road», «Washington Square», «Washington Township» name another, smaller place.
const STREET_AFTER: &[&str] = &[
    "street",
    "st",
    "avenue",
    "ave",
    "road",
    "rd",
    "drive",
    "boulevard",
    "blvd",
    "lane",
    "ln",
    "parkway",
    "pkwy",
    "highway",
    "hwy",
    "turnpike",
    "pike",
    "expressway",
    "freeway",
    "terrace",
    "crescent",
    "strasse",
    "straße",
    "square",
    "township",
    "county",
    "parish",
];
/// Street words written before a name and its «de»: «rue de Damas», «avenue de Paris».
const STREET_BEFORE: &[&str] = &[
    "rue",
    "avenue",
    "boulevard",
    "bd",
    "quai",
    "allee",
    "impasse",
    "chemin",
    "route",
    "calle",
    "via",
    "viale",
];

/// Whether the place name at folded [start, end) names a street: a capitalised street word
/// after it, or a French street word and «de» before it. A street is no mention of the place.
pub(crate) fn is_street(original: &str, folded: &Folded, start: usize, end: usize) -> bool {
    let text = &folded.text;
    let after = text.get(end..).unwrap_or_default();
    if let Some(rest) = after.strip_prefix(' ') {
        let word_len = rest
            .find(|c: char| !c.is_alphanumeric())
            .unwrap_or(rest.len());
        let word = &rest[..word_len];
        if STREET_AFTER.contains(&word) {
            let from = end + 1;
            let written = original
                .get(folded.original_range(from, from + word_len))
                .unwrap_or_default();
            if written.starts_with(char::is_uppercase) {
                return true;
            }
        }
    }
    let before = text.get(..start).unwrap_or_default().trim_end_matches(' ');
    let mut words = before.rsplit(' ');
    match (words.next(), words.next()) {
        (Some("de" | "du" | "des" | "d"), Some(street)) => STREET_BEFORE.contains(&street),
        _ => false,
    }
}
