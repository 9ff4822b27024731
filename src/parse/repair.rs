//! Parse stage, lenient reading (contract §7): a feed document, already UTF-8, repaired
//! the way a lenient reader (feedparser) reads it, before feed-rs's strict XML parser sees
//! it. What is repaired, each only where it occurs: a bare `&` (not the start of an entity
//! or character reference) becomes `&amp;`; control characters XML forbids are dropped;
//! `<rss>` without a `version` gets one; RSS 0.9 and Atom 0.3 documents are read as the
//! RSS 1.0 and Atom 1.0 they differ little from (their namespaces, and Atom 0.3's date
//! elements); empty Media RSS text elements, which feed-rs refuses, are dropped; `&#X41;`
//! is read as `&#x41;`; a document cut in its last closing tag is closed.
//! Invariants: a document that needs none of it is returned as it is, without a copy;
//! CDATA sections and comments are never altered; pure, and linear in the document.

use std::borrow::Cow;

use memchr::memmem;

/// Repair `doc` (see the module's documentation).
pub fn repair(doc: &str) -> Cow<'_, str> {
    let mut text = Cow::Borrowed(doc);
    if let Some(fixed) = escape_bare_ampersands(&text) {
        text = Cow::Owned(fixed);
    }
    if let Some(fixed) = drop_forbidden_controls(&text) {
        text = Cow::Owned(fixed);
    }
    if let Some(fixed) = old_formats(&text) {
        text = Cow::Owned(fixed);
    }
    if let Some(fixed) = drop_empty_media_text(&text) {
        text = Cow::Owned(fixed);
    }
    // `&#X41;`: XML wants a lower-case x.
    if memmem::find(text.as_bytes(), b"&#X").is_some() {
        text = Cow::Owned(text.replace("&#X", "&#x"));
    }
    // A document cut in its last closing tag (`</feed`): close it.
    let end = text.trim_end();
    if let Some(at) = end.rfind("</")
        && !end[at..].contains('>')
        && end[at + 2..]
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ':' | '-' | '_' | '.'))
    {
        let mut fixed = end.to_string();
        fixed.push('>');
        text = Cow::Owned(fixed);
    }
    text
}

/// Whether `rest` (what follows a `&`) is an entity or character reference.
fn is_reference(rest: &[u8]) -> bool {
    let body = rest.iter().take(34).position(|&b| b == b';');
    let Some(end) = body else {
        return false;
    };
    let r = &rest[..end];
    match r {
        [b'#', b'x' | b'X', hex @ ..] => !hex.is_empty() && hex.iter().all(u8::is_ascii_hexdigit),
        [b'#', dec @ ..] => !dec.is_empty() && dec.iter().all(u8::is_ascii_digit),
        [first, more @ ..] => {
            first.is_ascii_alphabetic()
                && more
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        }
        [] => false,
    }
}

/// Byte ranges of CDATA sections and comments, which are left alone.
fn verbatim(doc: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(lt) = memchr::memchr(b'<', &doc[at..]).map(|i| at + i) {
        let (open, close): (&[u8], &[u8]) = if doc[lt..].starts_with(b"<![CDATA[") {
            (b"<![CDATA[", b"]]>")
        } else if doc[lt..].starts_with(b"<!--") {
            (b"<!--", b"-->")
        } else {
            at = lt + 1;
            continue;
        };
        let from = lt + open.len();
        let end = memmem::find(&doc[from..], close).map_or(doc.len(), |i| from + i + close.len());
        out.push((lt, end));
        at = end;
    }
    out
}

fn escape_bare_ampersands(doc: &str) -> Option<String> {
    let b = doc.as_bytes();
    let bare = |i: usize| !is_reference(&b[i + 1..]);
    if !memchr::memchr_iter(b'&', b).any(bare) {
        return None;
    }
    // Both come in document order: one pass over each.
    let mut skip = verbatim(b).into_iter().peekable();
    let mut out = String::with_capacity(doc.len() + 64);
    let mut last = 0;
    for i in memchr::memchr_iter(b'&', b) {
        while skip.next_if(|&(_, end)| end <= i).is_some() {}
        let verbatim = skip.peek().is_some_and(|&(start, _)| start <= i);
        if bare(i) && !verbatim {
            out.push_str(&doc[last..i]);
            out.push_str("&amp;");
            last = i + 1;
        }
    }
    (last > 0).then(|| {
        out.push_str(&doc[last..]);
        out
    })
}

/// C0 controls other than tab, line feed and carriage return are not XML characters.
fn drop_forbidden_controls(doc: &str) -> Option<String> {
    let forbidden = |c: char| {
        (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}' || c == '\u{FFFF}'
    };
    let has = doc
        .bytes()
        .any(|b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))
        || doc.contains(['\u{FFFE}', '\u{FFFF}']);
    has.then(|| doc.chars().filter(|&c| !forbidden(c)).collect())
}

const RSS_09: &str = "http://my.netscape.com/rdf/simple/0.9/";
const RSS_10: &str = "http://purl.org/rss/1.0/";
const ATOM_03: &str = "http://purl.org/atom/ns#";
const ATOM_10: &str = "http://www.w3.org/2005/Atom";

/// RSS 0.9, Atom 0.3 and `<rss>` without a version, made readable.
fn old_formats(doc: &str) -> Option<String> {
    let head = &doc[..doc.floor_char_boundary(4096.min(doc.len()))];
    let mut out: Option<String> = None;
    if head.contains(RSS_09) {
        out = Some(doc.replace(RSS_09, RSS_10));
    }
    if head.contains(ATOM_03) {
        let d = out.as_deref().unwrap_or(doc);
        let mut fixed = d.replace(ATOM_03, ATOM_10);
        // Atom 0.3's dates: issued/created (published) and modified (updated).
        for (old, new) in [
            ("issued", "published"),
            ("created", "published"),
            ("modified", "updated"),
        ] {
            for (from, to) in [("<", "<"), ("</", "</")] {
                fixed = fixed.replace(&format!("{from}{old}>"), &format!("{to}{new}>"));
            }
        }
        // Its text constructs are typed by MIME type, Atom 1.0's by name.
        for (mime, name) in [
            ("text/plain", "text"),
            ("text/html", "html"),
            ("application/xhtml+xml", "xhtml"),
        ] {
            for q in ['"', '\''] {
                fixed = fixed.replace(&format!("type={q}{mime}{q}"), &format!("type={q}{name}{q}"));
            }
        }
        out = Some(
            fixed
                .replace("<tagline", "<subtitle")
                .replace("</tagline>", "</subtitle>"),
        );
    }
    let d = out.as_deref().unwrap_or(doc);
    if let Some(at) = d[..d.floor_char_boundary(4096.min(d.len()))].find("<rss") {
        let end = d[at..].find('>').map_or(d.len(), |e| at + e);
        let tag = &d[at..end];
        let whole_name = tag.len() == 4 || tag[4..].starts_with(|c: char| c.is_whitespace());
        if whole_name && !tag.contains("version") {
            let mut fixed = d.to_string();
            fixed.insert_str(at + 4, " version=\"2.0\"");
            out = Some(fixed);
        }
    }
    out
}

/// `<media:description></media:description>` and the like: empty Media RSS text, which
/// feed-rs refuses ("missing text").
fn drop_empty_media_text(doc: &str) -> Option<String> {
    memmem::find(doc.as_bytes(), b"<media:")?;
    let mut out: Option<String> = None;
    for name in [
        "description",
        "title",
        "text",
        "keywords",
        "credit",
        "copyright",
    ] {
        let d = out.as_deref().unwrap_or(doc);
        let open = format!("<media:{name}");
        let close = format!("</media:{name}>");
        if !d.contains(&open) {
            continue;
        }
        let mut fixed = String::with_capacity(d.len());
        let mut rest = d;
        let mut changed = false;
        while let Some(at) = rest.find(&open) {
            let after = &rest[at + open.len()..];
            let Some(gt) = after.find('>') else {
                break;
            };
            let attrs_end = at + open.len() + gt;
            // `<media:text>` and `<media:textual>` are different elements.
            let boundary = after.starts_with(|c: char| c == '>' || c == '/' || c.is_whitespace());
            let self_closed = rest[..attrs_end].ends_with('/');
            let empty_pair = rest[attrs_end + 1..].trim_start().starts_with(&close);
            if boundary && (self_closed || empty_pair) {
                fixed.push_str(&rest[..at]);
                let end = if self_closed {
                    attrs_end + 1
                } else {
                    let inner = &rest[attrs_end + 1..];
                    attrs_end + 1 + (inner.len() - inner.trim_start().len()) + close.len()
                };
                rest = &rest[end..];
                changed = true;
            } else {
                fixed.push_str(&rest[..attrs_end + 1]);
                rest = &rest[attrs_end + 1..];
            }
        }
        if changed {
            fixed.push_str(rest);
            out = Some(fixed);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_document_is_not_copied() {
        let doc = "<rss version=\"2.0\"><channel><title>A &amp; B &#233; &eacute;</title></channel></rss>";
        assert!(matches!(repair(doc), Cow::Borrowed(_)));
    }

    #[test]
    fn bare_ampersands_are_escaped_outside_cdata_and_comments() {
        let doc = "<link>http://ex.org/?a=1&b=2&amp;c=3</link><![CDATA[x & y]]><!-- a & b --><t>R&D; M&Ms &#x2014;</t>";
        assert_eq!(
            repair(doc),
            "<link>http://ex.org/?a=1&amp;b=2&amp;c=3</link><![CDATA[x & y]]><!-- a & b --><t>R&D; M&amp;Ms &#x2014;</t>"
        );
    }

    #[test]
    fn an_upper_case_hex_reference_and_a_cut_closing_tag_are_read() {
        assert_eq!(
            repair("<feed><title>&#X41;</title></feed"),
            "<feed><title>&#x41;</title></feed>"
        );
        assert!(matches!(repair("<feed></feed>\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn forbidden_controls_are_dropped() {
        assert_eq!(repair("<t>a\u{0b}b\u{1a}c\td\n</t>"), "<t>abc\td\n</t>");
    }

    #[test]
    fn old_formats_and_missing_versions_become_readable() {
        let rss09 = format!("<rdf:RDF xmlns=\"{RSS_09}\"><item><title>t</title></item></rdf:RDF>");
        assert!(repair(&rss09).contains(RSS_10));
        let atom03 = format!(
            "<feed version=\"0.3\" xmlns=\"{ATOM_03}\"><tagline>s</tagline><entry><issued>2004-01-01T00:00:00Z</issued><modified>2004-01-02T00:00:00Z</modified></entry></feed>"
        );
        let fixed = repair(&atom03);
        assert!(
            fixed.contains(ATOM_10)
                && fixed.contains("<published>2004-01-01T00:00:00Z</published>")
        );
        assert!(
            fixed.contains("<updated>2004-01-02T00:00:00Z</updated>")
                && fixed.contains("<subtitle>s</subtitle>")
        );
        assert_eq!(
            repair("<rss>\n<channel/></rss>"),
            "<rss version=\"2.0\">\n<channel/></rss>"
        );
        assert!(matches!(
            repair("<rss version=\"0.91\"><channel/></rss>"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(
            repair("<rssfeed><channel/></rssfeed>"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn empty_media_text_is_dropped_and_the_rest_kept() {
        let doc = "<item><media:description></media:description><media:description type=\"plain\">\n </media:description>\
                   <media:title/><media:description>kept</media:description><media:textual></media:textual></item>";
        assert_eq!(
            repair(doc),
            "<item><media:description>kept</media:description><media:textual></media:textual></item>"
        );
    }
}
