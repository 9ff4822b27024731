//! Places in context, assumed names: a place name that the article marks as a person's assumed
//! name («Noma (not her real name)», «Amal, prénom d'emprunt») is that person in the whole
//! article.
//!
//! Invariants: reads the folded text only; the markers of a field are found once, in one SIMD
//! search per anchor word, whatever the number of place names read in it.

/// What a text writes after a person's assumed name (folded): «Noma (not her real name)».
const PSEUDONYM: &[&str] = &[
    "not her real name",
    "not his real name",
    "not their real name",
    "not her real first name",
    "not his real first name",
    "name has been changed",
    "name changed",
    "pas son vrai nom",
    "pas son vrai prenom",
    "nom d emprunt",
    "prenom d emprunt",
    "prenom modifie",
    "nom modifie",
];

/// Where a folded text writes the markers of an assumed name: found once per field, before its
/// place names are read, so that reading a name does not search the whole text again.
#[derive(Debug, Default)]
pub(crate) struct Marks(Vec<(usize, &'static str)>);

impl Marks {
    /// The markers of `text` (folded), by start offset: each found from its anchor, a rare word
    /// searched with memchr's SIMD search (the text is not walked once per marker).
    pub(crate) fn find(text: &str) -> Marks {
        static FINDERS: std::sync::LazyLock<Vec<memchr::memmem::Finder<'static>>> =
            std::sync::LazyLock::new(|| ANCHORS.iter().map(memchr::memmem::Finder::new).collect());
        let mut found = Vec::new();
        for (finder, anchor) in FINDERS.iter().zip(ANCHORS) {
            for at in finder.find_iter(text.as_bytes()) {
                for marker in PSEUDONYM {
                    let Some(start) = marker.find(anchor).and_then(|o| at.checked_sub(o)) else {
                        continue;
                    };
                    if text.get(start..).is_some_and(|t| t.starts_with(marker)) {
                        found.push((start, *marker));
                    }
                }
            }
        }
        found.sort_unstable();
        found.dedup();
        Marks(found)
    }
}

/// One word of each marker of [`PSEUDONYM`], rarer than the others, searched first.
const ANCHORS: &[&str] = &["real", "changed", "vrai", "emprunt", "modifie"];

/// The marker of an assumed name, when the article writes one right after some occurrence of
/// `name` (folded): then every occurrence of it there is that person.
pub(crate) fn pseudonym(text: &str, name: &str, marks: &Marks) -> Option<&'static str> {
    if name.is_empty() {
        return None;
    }
    marks.0.iter().find_map(|&(k, marker)| {
        let head = (text.get(..k)?).trim_end_matches(|c: char| !c.is_alphanumeric());
        head.ends_with(name).then_some(marker)
    })
}

#[cfg(test)]
mod tests {
    use super::{ANCHORS, Marks, PSEUDONYM, pseudonym};

    #[test]
    fn every_marker_has_an_anchor() {
        for m in PSEUDONYM {
            assert!(ANCHORS.iter().any(|a| m.contains(a)), "{m} has no anchor");
        }
    }

    #[test]
    fn a_marker_after_any_occurrence_marks_the_name() {
        let text = "noma said later that noma not her real name had left";
        let marks = Marks::find(text);
        assert_eq!(pseudonym(text, "noma", &marks), Some("not her real name"));
        assert_eq!(pseudonym(text, "said", &marks), None);
        let fr = "amal prenom d emprunt vit a alep";
        assert_eq!(
            pseudonym(fr, "amal", &Marks::find(fr)),
            Some("prenom d emprunt")
        );
        let plain = "the real estate market in noma";
        assert_eq!(pseudonym(plain, "noma", &Marks::find(plain)), None);
    }
}
