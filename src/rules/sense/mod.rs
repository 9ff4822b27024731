//! Rules stage 3a′, places in context: which place a place name found in an article means, read
//! from the article — the other places it names and where they lie (`decide`), the feed's
//! country as a tie-break, and the words around the name (`local`: a person, an institution, a
//! club, a government speaking). «Georgia» in an article that names Atlanta is the US state;
//! «Ariel» before «Leal» is a first name.
//!
//! Invariants: pure (the text, the hits and tables built at compile time; nothing learned at run
//! time); a name whose evidence is absent or even is kept as before; every decision carries the
//! evidence that made it, for `vigie rules test`; nothing here panics on any text or offsets.

pub(crate) mod assumed;
mod decide;
pub(crate) mod local;
mod words;

pub(crate) use decide::{Evidence, Verdict, decide};

use crate::rules::gazetteer::Locus;

/// The place name is a common first name («Ariel», «Georgia»).
pub(crate) const FIRST_NAME: u8 = 1;
/// The name stands for a member of a `within()` area (not a place the watch named itself):
/// governments speaking and landmarks are no events there.
pub(crate) const AREA: u8 = 2;
/// The places meant are towns: a club may bear the name.
pub(crate) const TOWN: u8 = 4;
/// The places meant are landmarks («the Kremlin»).
pub(crate) const LANDMARK: u8 = 8;

/// Countries whose capitals lie this close are neighbours: a place named in one counts for the
/// other (Azerbaijan, Armenia for Georgia the country).
pub(crate) const NEIGHBOUR_KM: f64 = 500.0;

/// What a watch means by one place name, and what else the name may mean: the loci of the
/// places meant and of the other places that bear it (each once, sorted), and the flags above.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Sense {
    /// The name as the gazetteer stores it, folded (for explanations).
    pub name: Box<str>,
    pub meant: Box<[Locus]>,
    pub others: Box<[Locus]>,
    /// (country of a candidate that is a country, a country whose capital lies within
    /// [`NEIGHBOUR_KM`] of its own): the places of the second count for the first.
    pub near: Box<[([u8; 2], [u8; 2])]>,
    pub flags: u8,
}

impl Sense {
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// The country of a feed, for the tie-break: the country code of its URL's top-level domain
/// («.fr», «.ge», «.co.uk»), else a tag of two letters («fr», «us»). `None` for «.com» and no
/// such tag.
pub fn feed_country(url: &str, tags: &[String]) -> Option<[u8; 2]> {
    let host = url.split("://").nth(1).unwrap_or(url);
    let host = host.split(['/', ':', '?', '#']).next().unwrap_or_default();
    let tld = host
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    let from_tld = match tld.as_str() {
        "UK" => Some(*b"GB"),
        t if t.len() == 2 && t.bytes().all(|b| b.is_ascii_alphabetic()) && host.contains('.') => {
            // Domains sold worldwide say nothing of a country.
            (!matches!(
                t,
                "IO" | "CO" | "TV" | "ME" | "FM" | "AI" | "LY" | "GG" | "AM" | "CC"
            ))
            .then(|| [t.as_bytes()[0], t.as_bytes()[1]])
        }
        _ => None,
    };
    from_tld.or_else(|| {
        tags.iter()
            .map(|t| t.trim().to_ascii_uppercase())
            .find(|t| t.len() == 2 && t.bytes().all(|b| b.is_ascii_alphabetic()))
            .map(|t| [t.as_bytes()[0], t.as_bytes()[1]])
    })
}

#[cfg(test)]
mod tests {
    use super::feed_country;

    #[test]
    fn a_feed_country_comes_from_its_domain_then_its_tags() {
        assert_eq!(
            feed_country("https://www.lemonde.fr/rss", &[]),
            Some(*b"FR")
        );
        assert_eq!(
            feed_country("https://www.bbc.co.uk/news/rss", &[]),
            Some(*b"GB")
        );
        assert_eq!(
            feed_country("https://example.com/feed", &["fr".into()]),
            Some(*b"FR")
        );
        assert_eq!(
            feed_country("https://example.com/feed", &["world".into()]),
            None
        );
        assert_eq!(feed_country("https://news.example.io/feed", &[]), None);
    }
}
