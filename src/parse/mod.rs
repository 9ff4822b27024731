//! Parse stage: raw feed bytes (RSS, Atom, JSON Feed) or an article file into items of
//! plain text. In: bytes as fetched, with the HTTP charset if any. Out: [`Feed`] and its
//! [`Item`]s. Children: `charset` (any encoding → UTF-8), `html` (markup → plain text),
//! `opml` (feed lists in and out).
//! Invariants: feed-rs gets bytes, never pre-decoded text — UTF-8 as they came, or
//! transcoded to UTF-8 by `charset` with their XML declaration relabelled to say so (it
//! trusts the declaration, so a document in another encoding must be transcoded first);
//! every text field comes out as plain text with entities decoded; ids are the feed's
//! own, never invented here (identity is the next stage's job). Pure.

pub mod charset;
pub mod html;
pub mod opml;
pub mod page;
pub mod repair;

use chrono::{DateTime, Utc};

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not a feed: {0}")]
    Feed(String),
    #[error("the document lists {0} items, none of them in a form vigie reads")]
    Unread(usize),
}

/// One item of a feed, reduced to plain text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Item {
    /// The feed-given id (RSS guid, Atom id, JSON Feed id), if any.
    pub guid: Option<String>,
    pub link: Option<String>,
    pub title: String,
    pub summary: String,
    pub content: String,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default)]
pub struct Feed {
    pub title: Option<String>,
    pub items: Vec<Item>,
}

/// Parse a feed from its raw bytes. A charset given only by the HTTP `Content-Type`
/// (`http_charset`) is applied when the document does not declare its own.
pub fn parse_feed(bytes: &[u8], http_charset: Option<&str>) -> Result<Feed, ParseError> {
    let bytes = charset::to_parseable(bytes, http_charset);
    // UTF-8 by construction; were it not, the repairs are skipped and feed-rs says why.
    let repaired = match std::str::from_utf8(&bytes) {
        Ok(text) => match repair::repair(text) {
            std::borrow::Cow::Borrowed(_) => None,
            std::borrow::Cow::Owned(fixed) => Some(fixed),
        },
        Err(_) => None,
    };
    let doc: &[u8] = repaired.as_deref().map_or(&bytes, str::as_bytes);
    let parser = feed_rs::parser::Builder::new()
        // An empty id means "none given": identity falls back to link, then hash.
        .id_generator(|_, _, _| String::new())
        .timestamp_parser(timestamp)
        .build();
    let feed = parser
        .parse(doc)
        .map_err(|e| ParseError::Feed(e.to_string()))?;
    let title = feed.title.map(|t| html::one_line(&t.content));
    let items: Vec<Item> = feed.entries.into_iter().map(item_from_entry).collect();
    // A document with items in it that yields none is not an empty feed: say so.
    if items.is_empty() {
        let listed = ["<item", "<entry"]
            .iter()
            .map(|tag| memchr::memmem::find_iter(doc, tag.as_bytes()).count())
            .sum::<usize>();
        if listed > 0 {
            return Err(ParseError::Unread(listed));
        }
    }
    Ok(Feed { title, items })
}

/// A feed's date as feed-rs's own lenient reader reads it, faster. Nearly every feed
/// writes RFC 2822 (RSS) or RFC 3339 (Atom, JSON Feed) dates, which chrono reads at once;
/// on such a date the lenient reader's repairs (regular-expression rewrites before each
/// attempt: a tenth of a first poll's parsing) change nothing, so it would give the same
/// instant. Any other date still goes through it.
fn timestamp(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    DateTime::parse_from_rfc3339(t)
        .or_else(|_| DateTime::parse_from_rfc2822(t))
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| lenient_timestamp(t))
}

/// feed-rs's lenient date reader, which it keeps to itself: reached through a one-item
/// feed, the rare date that is neither RFC 2822 nor RFC 3339 is read exactly as before.
fn lenient_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let text = text.replace('&', "&amp;").replace('<', "&lt;");
    let doc = format!(
        "<rss version=\"2.0\"><channel><item><pubDate>{text}</pubDate></item></channel></rss>"
    );
    feed_rs::parser::parse(doc.as_bytes())
        .ok()?
        .entries
        .into_iter()
        .next()?
        .published
}

fn item_from_entry(e: feed_rs::model::Entry) -> Item {
    let link = e
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or(e.links.first())
        .map(|l| l.href.trim().to_string())
        .filter(|l| !l.is_empty());
    let summary = e
        .summary
        .map(|s| html::to_text(&s.content))
        .unwrap_or_default();
    let content = e
        .content
        .and_then(|c| c.body)
        .map(|b| html::to_text(&b))
        .unwrap_or_default();
    let id = e.id.trim().to_string();
    Item {
        guid: (!id.is_empty()).then_some(id),
        link,
        title: e
            .title
            .map(|t| html::one_line(&t.content))
            .unwrap_or_default(),
        // A summary that merely repeats the content adds nothing to match or show.
        summary: if !content.is_empty() && summary == content {
            String::new()
        } else {
            summary
        },
        content,
        published: e.published.or(e.updated),
        updated: e.updated,
    }
}

/// Read a file given to `vigie rules test`: a feed of any format, else an HTML page,
/// else plain text. `name` (the file name) identifies the item when nothing else does.
pub fn parse_any(bytes: &[u8], name: &str) -> Vec<Item> {
    if let Ok(feed) = parse_feed(bytes, None)
        && !feed.items.is_empty()
    {
        return feed.items;
    }
    let text = String::from_utf8_lossy(bytes);
    let lower_head: String = text.chars().take(2048).collect::<String>().to_lowercase();
    let is_html = [
        "<html",
        "<body",
        "<p>",
        "<p ",
        "<div",
        "<article",
        "<!doctype html",
    ]
    .iter()
    .any(|m| lower_head.contains(m));
    // A whole web page: its article, as the daemon reads pages of teaser-only feeds.
    if lower_head.contains("<html")
        || lower_head.contains("<body")
        || lower_head.contains("<!doctype html")
    {
        let decoded = charset::html_to_utf8(bytes, None);
        if let Ok(page) = page::extract(&decoded, None) {
            return vec![Item {
                guid: Some(name.to_string()),
                title: page.title,
                content: page.text,
                ..Item::default()
            }];
        }
    }
    if is_html {
        let title = between(&text, "<title", "</title>")
            .or_else(|| between(&text, "<h1", "</h1>"))
            .map(html::one_line)
            .unwrap_or_default();
        let body = between(&text, "<body", "</body>").unwrap_or(&text);
        return vec![Item {
            guid: Some(name.to_string()),
            title,
            content: html::to_text(body),
            ..Item::default()
        }];
    }
    // Plain text: a short first line followed by a blank line is the title.
    let text = text.replace("\r\n", "\n");
    let (title, body) = match text.split_once("\n\n") {
        Some((first, rest)) if !first.contains('\n') && first.chars().count() <= 300 => {
            (first.trim().to_string(), rest)
        }
        _ => (String::new(), text.as_str()),
    };
    vec![Item {
        guid: Some(name.to_string()),
        title: html::normalise_space(&title),
        content: html::normalise_space(body),
        ..Item::default()
    }]
}

/// The inner text of the first `<tag …>…</tag>`, case-insensitively.
fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let lower = text.to_ascii_lowercase();
    let start = lower.find(open)?;
    let inner = start + lower[start..].find('>')? + 1;
    let end = inner + lower[inner..].find(close)?;
    text.get(inner..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSS: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Le Fil</title>
<item><title>Palmyre &amp; Homs</title><link>https://ex.org/a?utm_source=x</link>
<guid isPermaLink="false">id-1</guid><pubDate>Tue, 07 Feb 2017 10:00:00 GMT</pubDate>
<description>&lt;p&gt;Les forces &lt;b&gt;syriennes&lt;/b&gt;&lt;/p&gt;</description></item>
<item><title>Sans id</title><link>https://ex.org/b</link></item>
</channel></rss>"#;

    #[test]
    fn dates_read_as_feed_rs_reads_them() {
        // Standard and broken dates alike: the fast path must agree with feed-rs's own
        // lenient reader (here through a default parser) on every one.
        let dates = [
            "Tue, 07 Feb 2017 10:00:00 GMT",
            "Tue, 07 Feb 2017 10:00:00 +0100",
            "  Tue, 07 Feb 2017 10:00:00 -0000 ",
            "7 Feb 2017 9:05:00 UT",
            "Tue, 07 Feb 2017 10:00:00 EST",
            "Wed, 07 Feb 2017 10:00:00 GMT",
            "Thurs, 13 Jul 2011 07:38:00 GMT",
            "Tue, 07 February 2017 10:00:00 UTC",
            "Feb 07 2017 10:00:00 +0000",
            "Tue, 07 Feb 2017 24:10:00 +0000",
            "Tue, 15 Nov 2022 20:15:04 Z",
            "2017-02-07T10:00:00Z",
            "2017-02-07T10:00:00.123+02:00",
            "2017-02-07 10:00:00+02:00",
            "2017-02-07T10:00:00+0200",
            "2017-02-07",
            "07/02/2017",
            "hier & <demain>",
            "",
        ];
        for d in dates {
            let doc = format!(
                "<rss version=\"2.0\"><channel><item><pubDate>{}</pubDate></item></channel></rss>",
                d.replace('&', "&amp;").replace('<', "&lt;")
            );
            let theirs = feed_rs::parser::parse(doc.as_bytes()).unwrap().entries[0].published;
            assert_eq!(timestamp(d), theirs, "{d:?}");
        }
        assert!(timestamp("Tue, 07 Feb 2017 10:00:00 GMT").is_some());
        assert!(timestamp("Thurs, 13 Jul 2011 07:38:00 GMT").is_some());
    }

    #[test]
    fn rss_items_become_plain_text() {
        let feed = parse_feed(RSS.as_bytes(), None).unwrap();
        assert_eq!(feed.title.as_deref(), Some("Le Fil"));
        assert_eq!(feed.items.len(), 2);
        let a = &feed.items[0];
        assert_eq!(a.title, "Palmyre & Homs");
        assert_eq!(a.summary, "Les forces syriennes");
        assert_eq!(a.guid.as_deref(), Some("id-1"));
        assert_eq!(a.link.as_deref(), Some("https://ex.org/a?utm_source=x"));
        assert!(a.published.is_some());
        // No id in the feed: none is invented.
        assert_eq!(feed.items[1].guid, None);
    }

    #[test]
    fn iso_8859_1_declared_in_the_prolog_is_decoded() {
        let mut bytes = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss version=\"2.0\"><channel><title>t</title><item><title>Gen".to_vec();
        bytes.push(0xE8); // è in ISO-8859-1
        bytes.extend_from_slice(b"ve</title></item></channel></rss>");
        let feed = parse_feed(&bytes, None).unwrap();
        assert_eq!(feed.items[0].title, "Genève");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse_feed(b"<html><body>no feed</body></html>", None).is_err());
        assert!(parse_feed(b"", None).is_err());
        assert!(parse_feed(b"<rss version=\"2.0\"><channel><item><title>x", None).is_err());
    }

    #[test]
    fn article_files_of_every_kind() {
        let items = parse_any(
            b"<html><head><title>Alep</title></head><body><p>Texte &eacute;</p></body></html>",
            "a.html",
        );
        assert_eq!(items[0].title, "Alep");
        assert_eq!(items[0].content, "Texte é");
        let items = parse_any("Titre court\n\nLe corps du texte.".as_bytes(), "a.txt");
        assert_eq!(items[0].title, "Titre court");
        assert_eq!(items[0].content, "Le corps du texte.");
        assert_eq!(items[0].guid.as_deref(), Some("a.txt"));
    }

    #[test]
    fn what_a_lenient_reader_reads_is_read() {
        let rss = |item: &str| {
            format!(
                "<rss version=\"2.0\"><channel><title>c</title><item><guid>1</guid>{item}</item></channel></rss>"
            )
        };
        // A bare ampersand in a link, an undefined HTML entity without a DTD, stray controls.
        let f = parse_feed(
            rss("<link>http://ex.org/a?x=1&y=2</link><title>Alep\u{0b}&nbsp;Homs</title>")
                .as_bytes(),
            None,
        )
        .unwrap();
        assert_eq!(f.items[0].link.as_deref(), Some("http://ex.org/a?x=1&y=2"));
        assert_eq!(f.items[0].title, "Alep Homs");
        // `<rss>` without a version; RSS 0.9 (heise.rdf); an empty media:description.
        let bare =
            "<rss><channel><title>c</title><item><title>Palmyre</title></item></channel></rss>";
        assert_eq!(parse_feed(bare.as_bytes(), None).unwrap().items.len(), 1);
        let rss09 = "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://my.netscape.com/rdf/simple/0.9/\">\
            <channel><title>heise</title><link>http://heise.de/</link><description>d</description></channel>\
            <item><title>Palmyre</title><link>http://heise.de/1</link></item><item><title>Alep</title><link>http://heise.de/2</link></item></rdf:RDF>";
        assert_eq!(parse_feed(rss09.as_bytes(), None).unwrap().items.len(), 2);
        let media = rss("<title>Palmyre</title><media:description></media:description>").replace(
            "<rss ",
            "<rss xmlns:media=\"http://search.yahoo.com/mrss/\" ",
        );
        assert_eq!(parse_feed(media.as_bytes(), None).unwrap().items.len(), 1);
        // Atom 0.3.
        let atom03 = "<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><title>t</title>\
            <entry><title type=\"text/plain\">Palmyre</title><id>urn:1</id><issued>2004-01-01T00:00:00Z</issued>\
            <content type=\"text/html\" mode=\"escaped\">&lt;p&gt;Alep&lt;/p&gt;</content></entry></feed>";
        let f = parse_feed(atom03.as_bytes(), None).unwrap();
        assert_eq!(
            (f.items[0].title.as_str(), f.items[0].content.as_str()),
            ("Palmyre", "Alep")
        );
        assert!(f.items[0].published.is_some());
        // Items that cannot be read are an error that says so, not an empty feed.
        let unreadable = "<rss version=\"2.0\"><channel><title>c</title></channel><item><title>x</title></item></rss>";
        match parse_feed(unreadable.as_bytes(), None) {
            Err(e) => assert!(e.to_string().contains("lists 1 items"), "{e}"),
            Ok(f) => assert!(!f.items.is_empty(), "silently empty"),
        }
        let empty = "<rss version=\"2.0\"><channel><title>c</title></channel></rss>";
        assert!(parse_feed(empty.as_bytes(), None).unwrap().items.is_empty());
    }
}
