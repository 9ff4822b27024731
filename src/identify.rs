//! Identify stage: what makes two items the same article (contract §4). Pure.
//! Invariants: a canonical link has a lower-case scheme and host, no fragment, no default
//! port and no tracking parameters; the identity of an item is its feed-given id, else its
//! canonical link, else a hash of its title and date; hashes are stable across versions.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::parse::Item;

/// Query parameters that only say where a click came from.
fn is_tracking_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("utm_")
        || n.starts_with("at_")
        || matches!(
            n.as_str(),
            "xtor"
                | "xts"
                | "fbclid"
                | "gclid"
                | "dclid"
                | "msclkid"
                | "mc_cid"
                | "mc_eid"
                | "igshid"
                | "yclid"
                | "_hsenc"
                | "_hsmi"
                | "mkt_tok"
                | "ncid"
                | "ocid"
                | "cmpid"
                | "ito"
                | "wt.mc_id"
                | "ref_src"
        )
}

/// The canonical form of a link, or `None` when it is not an absolute http(s) URL.
pub fn canonical_link(link: &str) -> Option<String> {
    let mut url = url::Url::parse(link.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    // `url` already lower-cases scheme and host and drops default ports.
    url.set_fragment(None);
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !is_tracking_param(k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    Some(url.to_string())
}

pub fn sha256_hex(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    let digest = h.finalize();
    // Identities are hashed for every item of every poll: no formatter per byte.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 * digest.len());
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

/// Ways an item may already be known, strongest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The feed-given id; only meaningful within the feed that gave it.
    pub guid: Option<String>,
    pub canonical_link: Option<String>,
    /// Hash of title and date: the identity of an item with neither id nor link.
    pub title_hash: String,
    /// The key the article is stored under when first seen.
    pub key: String,
}

pub fn identify(feed: &str, item: &Item) -> Identity {
    let canonical = item.link.as_deref().and_then(canonical_link);
    let date = item.published.map(|d| d.to_rfc3339()).unwrap_or_default();
    let title_hash = sha256_hex(&[&item.title.to_lowercase(), &date]);
    let key = match (&item.guid, &canonical) {
        // 96 bits: no collision in any plausible store (about 10⁻¹⁵ at ten million
        // articles), and an index entry less than half the size of the full hash's — the
        // key index is written at random on every new article, so its size is what a
        // burst of new articles pays in page-cache misses and log writes. Articles stored
        // under the longer keys of earlier versions are still found, by the feed's own id
        // (`store::articles::find`).
        (Some(g), _) => format!("id:{}", &sha256_hex(&[feed, g])[..24]),
        (None, Some(l)) => format!("link:{l}"),
        (None, None) => format!("hash:{title_hash}"),
    };
    Identity {
        guid: item.guid.clone(),
        canonical_link: canonical,
        title_hash,
        key,
    }
}

/// Fingerprint of what a reader sees: a change means the article was edited.
pub fn content_hash(item: &Item) -> String {
    sha256_hex(&[&item.title, &item.summary, &item.content])
}

/// The Message-ID of an alert: derived from (watch, story, recipient) alone, so a resend
/// after a crash is recognisably the same message.
pub fn message_id(watch: &str, story: &str, recipient: &str) -> String {
    let h = sha256_hex(&[watch, story, &recipient.to_lowercase()]);
    format!("<{}@vigie>", &h[..32])
}

/// The Atom id of a story in one of vigie's feeds (`kind` "watch" or "digest", and its
/// name): derived from (kind, name, story) alone, as Message-IDs are, so that a reader that
/// polls again finds the same entry — updated in place, never shown twice.
pub fn feed_entry_id(kind: &str, name: &str, story: &str) -> String {
    urn_uuid(&["atom-entry", kind, name, story])
}

/// The Atom id of one of vigie's feeds, from its kind and name.
pub fn feed_id(kind: &str, name: &str) -> String {
    urn_uuid(&["atom-feed", kind, name])
}

/// A `urn:uuid:` made of a SHA-256 of `parts`: RFC 9562's version 8 (custom, here
/// name-based on SHA-256), so that it is a well-formed UUID and stable for ever.
fn urn_uuid(parts: &[&str]) -> String {
    let mut h: Vec<char> = sha256_hex(parts)[..32].chars().collect();
    h[12] = '8';
    let variant = h[16].to_digit(16).unwrap_or(0) & 0x3 | 0x8;
    h[16] = char::from_digit(variant, 16).unwrap_or('8');
    let h: String = h.into_iter().collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Whether an item is too old to alert on a feed's first poll.
pub fn is_backfill(
    published: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    backfill: std::time::Duration,
) -> bool {
    match (published, chrono::Duration::from_std(backfill)) {
        (Some(p), Ok(window)) => p < now - window,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_parameters_fragment_case_and_port_go() {
        assert_eq!(
            canonical_link(
                "HTTPS://Www.Example.ORG:443/Path/a?id=3&utm_source=rss&xtor=RSS-1&fbclid=z#top"
            )
            .as_deref(),
            Some("https://www.example.org/Path/a?id=3")
        );
        assert_eq!(
            canonical_link("http://ex.org:80/a?utm_medium=x&gclid=1").as_deref(),
            Some("http://ex.org/a")
        );
        assert_eq!(canonical_link("mailto:a@b.c"), None);
        assert_eq!(canonical_link("not a url"), None);
    }

    #[test]
    fn identity_prefers_id_then_link_then_hash() {
        let mut item = Item {
            guid: Some("g1".into()),
            link: Some("https://ex.org/a?utm_source=x".into()),
            title: "Palmyre".into(),
            ..Item::default()
        };
        assert!(identify("f", &item).key.starts_with("id:"));
        // The same guid in another feed is another article.
        assert_ne!(identify("f", &item).key, identify("g", &item).key);
        item.guid = None;
        assert_eq!(identify("f", &item).key, "link:https://ex.org/a");
        item.link = None;
        assert!(identify("f", &item).key.starts_with("hash:"));
    }

    #[test]
    fn message_ids_are_stable_and_distinct() {
        let a = message_id("w", "s", "A@x.org");
        assert_eq!(a, message_id("w", "s", "a@x.org"));
        assert_ne!(a, message_id("w", "s", "b@x.org"));
        assert!(a.starts_with('<') && a.ends_with("@vigie>"));
    }

    #[test]
    fn atom_ids_are_stable_uuids_distinct_per_feed_and_story() {
        let a = feed_entry_id("watch", "palmyra-front", "id:abc");
        assert_eq!(a, feed_entry_id("watch", "palmyra-front", "id:abc"));
        assert_ne!(a, feed_entry_id("watch", "palmyra-front", "id:abd"));
        assert_ne!(a, feed_entry_id("digest", "palmyra-front", "id:abc"));
        assert_ne!(feed_id("watch", "x"), feed_id("digest", "x"));
        let uuid = a.strip_prefix("urn:uuid:").unwrap();
        let groups: Vec<&str> = uuid.split('-').collect();
        assert_eq!(
            groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(groups[2].starts_with('8'), "version 8: {uuid}");
        assert!("89ab".contains(&groups[3][..1]), "RFC variant: {uuid}");
    }
}
