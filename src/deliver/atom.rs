//! Deliver stage, the Atom feeds (RFC 4287) of watches and digests: their URLs, and a
//! feed's document from its stories. Pure: the stories, the address and the time zone are
//! arguments. Invariants: one entry per story, its id derived from (watch or digest,
//! story) alone (`identify::feed_entry_id`), so a reader polling again updates an entry in
//! place and never shows it twice; the document is a function of its arguments only (its
//! ETag is a hash of it); every piece of feed or configuration text reaches an entry's HTML
//! escaped as HTML text or attribute (vigie keeps no HTML from feeds), and the document
//! escaped as XML, characters XML cannot carry dropped. The HTML uses only what readers'
//! sanitizers keep (feedparser's, Miniflux's): `p`, `ul`, `li`, `a href`, `strong`, and
//! `mark` around the hits' `strong`; a URL in it is written as it is, not with entities
//! that readers resolving relative links mistake for a path.

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use super::render::{self, Story, StoryView, header_safe, local_time};
use crate::config::Config;
use crate::identify;
use crate::store::outbox::decode_hits;
use crate::store::published::{Published, Which};

/// At most this many stories in a feed (the newest).
pub const ENTRIES: usize = 100;

/// What a URL's path segment keeps as it is: RFC 3986's unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn kind(which: Which<'_>) -> (&'static str, &str) {
    match which {
        Which::Watch(n) => ("watch", n),
        Which::Digest(n) => ("digest", n),
    }
}

/// The path of a feed: `/feeds/watch/NAME.atom` or `/feeds/digest/NAME.atom`, its name
/// percent-encoded.
pub fn path(which: Which<'_>) -> String {
    let (kind, name) = kind(which);
    format!("/feeds/{kind}/{}.atom", utf8_percent_encode(name, SEGMENT))
}

/// A feed a request names: a watch's or a digest's, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    Watch(String),
    Digest(String),
}

impl Named {
    pub fn which(&self) -> Which<'_> {
        match self {
            Named::Watch(n) => Which::Watch(n),
            Named::Digest(n) => Which::Digest(n),
        }
    }
}

/// The feed a request path names, if it names one, its name decoded. Anything else —
/// another prefix, no `.atom`, an encoding that is not UTF-8 — is `None`.
pub fn parse_path(path: &str) -> Option<Named> {
    let rest = path.strip_prefix("/feeds/")?;
    let (kind, rest) = rest.split_once('/')?;
    let encoded = rest.strip_suffix(".atom")?;
    if encoded.is_empty() || encoded.contains('/') {
        return None;
    }
    let name = percent_decode_str(encoded).decode_utf8().ok()?.into_owned();
    match kind {
        "watch" => Some(Named::Watch(name)),
        "digest" => Some(Named::Digest(name)),
        _ => None,
    }
}

/// Where readers reach the daemon's server: `[feeds] base_url`, else `http://` and `[server]
/// listen` (an unspecified address, 0.0.0.0 or [::], as 127.0.0.1); `None` without either.
pub fn base_url(cfg: &Config) -> Option<String> {
    if let Some(b) = &cfg.atom.base_url {
        return Some(b.clone());
    }
    let listen = &cfg.server.as_ref()?.listen;
    Some(match listen.parse::<std::net::SocketAddr>() {
        Ok(a) if a.ip().is_unspecified() => format!("http://127.0.0.1:{}", a.port()),
        _ => format!("http://{listen}"),
    })
}

/// The URL to give a reader: `base` (see [`base_url`]), the feed's path and its token.
pub fn url(base: &str, which: Which<'_>, token: &str) -> String {
    format!(
        "{}{}?token={}",
        base.trim_end_matches('/'),
        path(which),
        utf8_percent_encode(token, SEGMENT)
    )
}

/// What a feed says of itself besides its stories.
pub struct FeedMeta<'a> {
    pub which: Which<'a>,
    /// The feed's own URL (`rel="self"`).
    pub self_url: &'a str,
    /// One line under its title: what it publishes.
    pub subtitle: String,
}

/// One watch's words, as the entry's content lists them.
struct WatchWords {
    name: String,
    words: Vec<String>,
}

/// One outlet, as the entry's content lists it.
struct OutletView {
    feed: String,
    link: Option<String>,
    time: String,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `s` as XML character data or attribute value: markup characters escaped, characters
/// XML 1.0 cannot carry (most control characters, U+FFFE, U+FFFF) dropped.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// `s` as HTML text or a quoted attribute value.
fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An entry's content: the email's excerpt with the hits marked, each watch and the words
/// it matched, every outlet with its link and time.
fn content_html(view: &StoryView, watches: &[WatchWords], outlets: &[OutletView]) -> String {
    let mut h = String::from("<p>");
    for seg in &view.excerpt {
        if seg.mark {
            h.push_str(&format!(
                "<mark><strong>{}</strong></mark>",
                html(&seg.text)
            ));
        } else {
            h.push_str(&html(&seg.text));
        }
    }
    h.push_str("</p>\n");
    for w in watches {
        let words: Vec<String> = (w.words.iter())
            .map(|x| format!("<strong>{}</strong>", html(x)))
            .collect();
        let words = match words.is_empty() {
            true => ".".to_string(),
            false => format!(": {}", words.join(", ")),
        };
        h.push_str(&format!(
            "<p>Watch “{}” matched{words}</p>\n",
            html(&w.name)
        ));
    }
    h.push_str("<p>Carried by:</p>\n<ul>\n");
    for o in outlets {
        let name = match &o.link {
            Some(l) => format!("<a href=\"{}\">{}</a>", html(l), html(&o.feed)),
            None => html(&o.feed),
        };
        h.push_str(&format!("<li>{name} · {}</li>\n", html(&o.time)));
    }
    h.push_str("</ul>");
    h
}

fn is_web(link: &str) -> bool {
    link.starts_with("http://") || link.starts_with("https://")
}

/// The words a match's hits matched, as an email lists them.
fn words(hits_json: &str) -> Vec<String> {
    let mut words: Vec<String> = decode_hits(hits_json)
        .iter()
        .map(|h| header_safe(&h.text))
        .collect();
    words.sort_by_key(|w| w.to_lowercase());
    words.dedup_by_key(|w| w.to_lowercase());
    words
}

/// The time the document says it last changed: its newest entry's, else the epoch (a
/// constant, so that an empty feed's ETag does not change).
pub fn updated(entries: &[Published]) -> DateTime<Utc> {
    entries
        .iter()
        .map(|e| e.updated)
        .max()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// The Atom document of a feed with `entries` (newest first), times shown in `zone`.
pub fn render_feed(meta: &FeedMeta<'_>, entries: &[Published], zone: Tz) -> String {
    let (kind, name) = kind(meta.which);
    let title = match meta.which {
        Which::Watch(n) => format!("vigie: {n}"),
        Which::Digest(n) => format!("vigie: digest {n}"),
    };
    let mut x = String::with_capacity(4096 + entries.len() * 4096);
    x.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    x.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    x.push_str(&format!("  <id>{}</id>\n", identify::feed_id(kind, name)));
    x.push_str(&format!("  <title type=\"text\">{}</title>\n", esc(&title)));
    x.push_str(&format!(
        "  <subtitle type=\"text\">{}</subtitle>\n",
        esc(&meta.subtitle)
    ));
    x.push_str(&format!(
        "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n",
        esc(meta.self_url)
    ));
    x.push_str(&format!(
        "  <updated>{}</updated>\n",
        rfc3339(updated(entries))
    ));
    x.push_str("  <author><name>vigie</name></author>\n");
    x.push_str(&format!(
        "  <generator version=\"{}\">vigie</generator>\n",
        env!("CARGO_PKG_VERSION")
    ));
    for e in entries {
        entry(&mut x, kind, name, e, zone);
    }
    x.push_str("</feed>\n");
    x
}

/// One story as an `<entry>`.
fn entry(x: &mut String, kind: &str, name: &str, e: &Published, zone: Tz) {
    let a = &e.article;
    let (first_watch, first_hits) = e
        .watches
        .first()
        .map_or(("", "[]"), |(w, h)| (w.as_str(), h.as_str()));
    let hits = decode_hits(first_hits);
    let outlet_names: Vec<String> = e.outlets.iter().map(|o| o.feed.clone()).collect();
    let view = render::story_view(
        &Story {
            watch: first_watch,
            title: &a.title,
            link: a.link.as_deref(),
            outlets: &outlet_names,
            published: a.published_at,
            summary: &a.summary,
            content: &a.content,
            hits: &hits,
        },
        zone,
        300,
    );
    let watches: Vec<WatchWords> = e
        .watches
        .iter()
        .map(|(w, h)| WatchWords {
            name: header_safe(w),
            words: words(h),
        })
        .collect();
    let outlets: Vec<OutletView> = e
        .outlets
        .iter()
        .map(|o| OutletView {
            feed: header_safe(&o.feed),
            link: o.link.clone().filter(|l| is_web(l)),
            time: local_time(o.published.unwrap_or(o.seen_at), zone),
        })
        .collect();
    let content = content_html(&view, &watches, &outlets);
    x.push_str("  <entry>\n");
    x.push_str(&format!(
        "    <id>{}</id>\n",
        identify::feed_entry_id(kind, name, &e.story_key)
    ));
    x.push_str(&format!(
        "    <title type=\"text\">{}</title>\n",
        esc(&view.title)
    ));
    if let Some(link) = &view.link {
        x.push_str(&format!(
            "    <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
            esc(link)
        ));
    }
    for o in outlets.iter().filter(|o| o.link.is_some()) {
        x.push_str(&format!(
            "    <link rel=\"related\" type=\"text/html\" href=\"{}\" title=\"{}\"/>\n",
            esc(o.link.as_deref().unwrap_or_default()),
            esc(&o.feed)
        ));
    }
    x.push_str(&format!(
        "    <published>{}</published>\n",
        rfc3339(a.published_at.unwrap_or(a.first_seen_at))
    ));
    x.push_str(&format!("    <updated>{}</updated>\n", rfc3339(e.updated)));
    // The outlets are the story's authors: the first that carried it, then the others.
    let mut names = outlets.iter().map(|o| o.feed.as_str());
    x.push_str(&format!(
        "    <author><name>{}</name></author>\n",
        esc(names.next().unwrap_or("vigie"))
    ));
    for n in names {
        x.push_str(&format!(
            "    <contributor><name>{}</name></contributor>\n",
            esc(n)
        ));
    }
    for w in &watches {
        x.push_str(&format!(
            "    <category term=\"{}\" label=\"watch {}\"/>\n",
            esc(&w.name),
            esc(&w.name)
        ));
    }
    x.push_str(&format!(
        "    <summary type=\"text\">{}</summary>\n",
        esc(&view.excerpt_text())
    ));
    x.push_str(&format!(
        "    <content type=\"html\">{}</content>\n",
        esc(&content)
    ));
    x.push_str("  </entry>\n");
}

#[cfg(test)]
#[path = "atom_tests.rs"]
mod tests;
