//! Deliver stage, channel text (pure): a [`Notice`] as lines of plain text or HTML, and the
//! escaping each channel's markup needs.
//!
//! Invariants: every function here is total and pure; what comes from a feed is escaped for
//! the target markup or reduced to one line; a link is kept only when it is http(s) and one
//! line, so a feed's `javascript:` never becomes a link.

use base64::Engine as _;

use super::{Notice, NoticeKind};
use crate::deliver::render::Segment;

/// The first line: «watch: title».
pub(super) fn heading(n: &Notice) -> String {
    let title = clip_chars(&one_line(&n.title), MAX_TITLE);
    match n.kind {
        NoticeKind::Alert | NoticeKind::Summary => format!("{}: {title}", one_line(&n.watch)),
        _ => title,
    }
}

/// The lines under the excerpt: matched words, outlets, the stories of a digest, the link.
pub(super) fn details(n: &Notice) -> Vec<String> {
    let mut lines = Vec::new();
    if !n.terms.is_empty() {
        let terms: Vec<String> = n.terms.iter().map(|t| one_line(t)).collect();
        lines.push(format!("Matched: {}", terms.join(", ")));
    }
    if !n.outlets.is_empty() {
        let names: Vec<String> = n.outlets.iter().map(|o| one_line(&o.name)).collect();
        lines.push(format!("Outlets: {}", names.join(", ")));
    }
    for i in n.items.iter().take(MAX_ITEMS) {
        let title = clip_chars(&one_line(&i.title), MAX_TITLE);
        let mut line = format!("• {title} ({})", one_line(&i.watch));
        if let Some(link) = i.link.as_deref().and_then(safe_link) {
            line.push_str(&format!(" {link}"));
        }
        lines.push(line);
    }
    if n.items.len() > MAX_ITEMS {
        lines.push(format!("… and {} more", n.items.len() - MAX_ITEMS));
    }

    lines
}

/// The notice as plain text (ntfy, Matrix's `body`).
pub(super) fn plain_message(n: &Notice) -> String {
    let mut out = heading(n);
    let excerpt = one_line(
        &n.excerpt
            .iter()
            .map(|s| s.text.as_str())
            .collect::<String>(),
    );
    if !excerpt.is_empty() {
        out.push('\n');
        out.push_str(&excerpt);
    }
    for line in details(n) {
        out.push('\n');
        out.push_str(&line);
    }
    if let Some(link) = n.link.as_deref().and_then(safe_link) {
        out.push('\n');
        out.push_str(link);
    }
    out
}

/// The notice as HTML: the title linked, the hits in `<bold>`, all feed text escaped.
pub(super) fn html_message(n: &Notice, bold: &str, newline: &str) -> String {
    let title = html_escape(&heading(n));
    let mut out = match n.link.as_deref().and_then(safe_link) {
        Some(link) => format!(
            "<{bold}><a href=\"{}\">{title}</a></{bold}>",
            html_escape(link)
        ),
        None => format!("<{bold}>{title}</{bold}>"),
    };
    let excerpt: String = (n.excerpt.iter())
        .map(|s| match (s.mark, html_escape(&inline(&s.text))) {
            (true, t) => format!("<{bold}>{t}</{bold}>"),
            (false, t) => t,
        })
        .collect();
    if !excerpt.trim().is_empty() {
        out.push_str(newline);
        out.push_str(excerpt.trim());
    }
    for line in details(n) {
        out.push_str(newline);
        out.push_str(&html_escape(&line));
    }
    out
}

/// The excerpt as one string and the byte ranges of its marked segments.
pub(super) fn excerpt_with_offsets(segments: &[Segment]) -> (String, Vec<(usize, usize)>) {
    let mut text = String::new();
    let mut hits = Vec::new();
    for s in segments {
        let start = text.len();
        text.push_str(&s.text);
        if s.mark {
            hits.push((start, text.len()));
        }
    }
    (text, hits)
}

/// Control characters (line breaks included) become spaces; runs of spaces collapse.
pub(super) fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A piece of a line: control characters and line breaks become spaces, the spaces at its
/// ends stay (they separate it from the next piece).
pub(super) fn inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = if c.is_control() || c.is_whitespace() {
            ' '
        } else {
            c
        };
        if !(c == ' ' && out.ends_with(' ')) {
            out.push(c);
        }
    }
    out
}

/// A link only when it is http(s) and one line: a feed's `javascript:` stays out.
pub(super) fn safe_link(link: &str) -> Option<&str> {
    let ok = (link.starts_with("https://") || link.starts_with("http://"))
        && !link
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '<' | '>' | '|' | '"'));
    ok.then_some(link)
}

/// At most `max` characters, «…» where cut.
pub(super) fn clip_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((k, _)) => format!("{}…", &s[..k]),
        None => s.to_owned(),
    }
}

/// Characters of a title a channel shows, and stories a digest lists: a whole notice stays
/// under Telegram's 4,096 characters and ntfy's 4 KB.
pub(super) const MAX_TITLE: usize = 300;
pub(super) const MAX_ITEMS: usize = 10;

/// `&`, `<`, `>` and `"` as entities: text and quoted attributes of Telegram's and Matrix's HTML.
pub(super) fn html_escape(s: &str) -> String {
    htmlize::escape_attribute(s).into_owned()
}

/// Slack's mrkdwn escapes only `&`, `<` and `>`; a zero-width space before `*`, `_`, `~` and
/// `` ` `` keeps a feed from starting bold, italics, strikes or code, and one after `@` keeps
/// it from mentioning a room (`@here`, `@channel`) where the service reads plain mentions
/// (Mattermost, Discord).
pub(super) fn slack_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for (k, word) in s.split(' ').enumerate() {
        if k > 0 {
            out.push(' ');
        }
        // A link stays a working link: only Slack's three entities.
        if safe_link(word).is_some() {
            out.push_str(&slack_entities(word));
            continue;
        }
        for c in word.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '*' | '_' | '~' | '`' => {
                    out.push('\u{200B}');
                    out.push(c);
                }
                // «@here», and Markdown's masked links «[text](url)» (Mattermost, Discord).
                '@' | ']' => {
                    out.push(c);
                    out.push('\u{200B}');
                }
                c => out.push(c),
            }
        }
    }
    out
}

/// `&`, `<` and `>` as Slack's entities, nothing else (inside a `<url|…>` link).
pub(super) fn slack_entities(s: &str) -> String {
    htmlize::escape_text(s).into_owned()
}

/// A header value: one line, and RFC 2047 (UTF-8, base64) when it is not ASCII, which is how
/// ntfy takes a title in any language.
pub(super) fn rfc2047(s: &str) -> String {
    let line = one_line(s);
    if line.is_ascii() {
        line
    } else {
        format!(
            "=?UTF-8?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(line.as_bytes())
        )
    }
}

/// A header value that must stay ASCII (ids, links): anything else is dropped.
pub(super) fn header_value(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control())
        .collect()
}

/// ntfy's tags: vigie and the kind, then the watch's name when it is a plain word.
pub(super) fn tags(n: &Notice) -> String {
    let mut tags = vec!["vigie".to_owned(), n.kind.name().to_owned()];
    let watch: String = (n.watch.chars())
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    if !watch.is_empty() {
        tags.push(watch);
    }
    tags.join(",")
}
