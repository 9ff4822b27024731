//! Parse stage: HTML (or text with stray markup and entities) reduced to plain text.
//! Invariants: the output holds no markup and no control characters but `\n`; entities
//! are decoded (including `&eacute;` that feed-rs leaves literal without a DTD); script,
//! style and comments vanish; block elements become line breaks. Pure and linear-time.

/// Elements whose content is never text a reader sees.
const SKIP_CONTENT: &[&str] = &[
    "script", "style", "noscript", "template", "iframe", "svg", "object", "head",
];
/// Elements that break a line.
const BLOCK: &[&str] = &[
    "p",
    "br",
    "div",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "table",
    "blockquote",
    "section",
    "article",
    "header",
    "footer",
    "hr",
    "pre",
    "figure",
    "figcaption",
    "dd",
    "dt",
    "dl",
    "title",
    "aside",
    "nav",
];

/// Reduce HTML to plain text.
pub fn to_text(html: &str) -> String {
    let mut raw = String::with_capacity(html.len());
    let bytes = html.as_bytes();
    let mut i = 0;
    let mut text_start = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' || !starts_markup(&bytes[i + 1..]) {
            i += 1;
            continue;
        }
        push_decoded(&mut raw, &html[text_start..i]);
        if html[i..].starts_with("<!--") {
            i = html[i + 4..]
                .find("-->")
                .map_or(bytes.len(), |e| i + 4 + e + 3);
        } else if html[i..].starts_with("<![CDATA[") {
            let end = html[i + 9..].find("]]>").map_or(bytes.len(), |e| i + 9 + e);
            raw.push_str(&html[i + 9..end]);
            i = (end + 3).min(bytes.len());
        } else {
            let end = tag_end(bytes, i + 1);
            let name = tag_name(&html[i + 1..end]);
            let closing = html[i + 1..].starts_with('/');
            i = (end + 1).min(bytes.len());
            if BLOCK.contains(&name.as_str()) {
                raw.push('\n');
            } else if !closing && SKIP_CONTENT.contains(&name.as_str()) {
                i = skip_element(html, i, &name);
            } else {
                // Inline elements join their neighbours; an image's alt text is text.
                if name == "img" {
                    raw.push(' ');
                }
            }
        }
        text_start = i;
    }
    if text_start < html.len() {
        push_decoded(&mut raw, &html[text_start..]);
    }
    normalise_space(&raw)
}

/// `<` opens markup only when followed by a letter, `/`, `!` or `?`: «a < b» stays text.
fn starts_markup(rest: &[u8]) -> bool {
    matches!(rest.first(), Some(c) if c.is_ascii_alphabetic() || *c == b'/' || *c == b'!' || *c == b'?')
}

/// Index of the `>` closing a tag, skipping quoted attribute values.
fn tag_end(bytes: &[u8], mut i: usize) -> usize {
    let mut quote = None;
    while i < bytes.len() {
        match (quote, bytes[i]) {
            (None, b'>') => return i,
            (None, q @ (b'"' | b'\'')) => quote = Some(q),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

fn tag_name(inner: &str) -> String {
    inner
        .trim_start_matches('/')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Skip to just past `</name>`, case-insensitively; to the end if it never closes.
fn skip_element(html: &str, from: usize, name: &str) -> usize {
    let closing = format!("</{name}");
    let hay = &html.as_bytes()[from..];
    let found = hay
        .windows(closing.len())
        .position(|w| w.eq_ignore_ascii_case(closing.as_bytes()));
    match found {
        Some(p) => {
            let after = from + p;
            (tag_end(html.as_bytes(), after) + 1).min(html.len())
        }
        None => html.len(),
    }
}

fn push_decoded(out: &mut String, text: &str) {
    if text.contains('&') {
        out.push_str(&htmlize::unescape(text));
    } else {
        out.push_str(text);
    }
}

/// Collapse runs of white space: a run holding a line break becomes one `\n`, any other
/// run one space; control characters are dropped; the ends are trimmed.
pub fn normalise_space(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut pending: Option<char> = None;
    let mut rest = raw;
    while let Some(c) = rest.chars().next() {
        // A run of printable ASCII, the bulk of most text, is copied at once.
        let run = rest.bytes().take_while(u8::is_ascii_graphic).count();
        if run > 0 {
            if let Some(p) = pending.take()
                && !out.is_empty()
            {
                out.push(p);
            }
            out.push_str(&rest[..run]);
            rest = &rest[run..];
            continue;
        }
        rest = &rest[c.len_utf8()..];
        if c == '\n' || c == '\r' || c == '\u{2028}' || c == '\u{2029}' {
            pending = Some('\n');
        } else if c.is_whitespace() {
            if pending.is_none() {
                pending = Some(' ');
            }
        } else if c.is_control() {
            continue;
        } else {
            if let Some(p) = pending.take()
                && !out.is_empty()
            {
                out.push(p);
            }
            out.push(c);
        }
    }
    out
}

/// A single line of text (titles): every line break becomes a space.
pub fn one_line(text: &str) -> String {
    to_text(text).replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_markup_and_decodes_entities() {
        assert_eq!(
            to_text("<p>Gen&egrave;ve &amp; <b>Alep</b></p>"),
            "Genève & Alep"
        );
        assert_eq!(to_text("Palmyre &eacute;tait"), "Palmyre était");
        assert_eq!(to_text("l&#8217;ONU &#x2014; ok"), "l’ONU — ok");
    }

    #[test]
    fn drops_scripts_styles_and_comments() {
        let t = to_text("a<script>alert('<p>x</p>')</script>b<style>p{}</style><!-- c -->d");
        assert_eq!(t, "abd");
        assert_eq!(to_text("x<SCRIPT type=x>evil()</SCRIPT >y"), "xy");
        assert_eq!(to_text("open <script>never closed"), "open");
    }

    #[test]
    fn blocks_break_lines_and_space_is_collapsed() {
        assert_eq!(to_text("<p>un</p><p>deux</p>"), "un\ndeux");
        assert_eq!(to_text("a   b\t\tc"), "a b c");
        assert_eq!(to_text("a<br/>b"), "a\nb");
        assert_eq!(
            one_line("titre\r\nBcc: x@evil.example"),
            "titre Bcc: x@evil.example"
        );
    }

    #[test]
    fn less_than_in_text_is_not_a_tag() {
        assert_eq!(to_text("3 < 5 et 6 > 2"), "3 < 5 et 6 > 2");
        assert_eq!(to_text("<a href='x>y'>lien</a>"), "lien");
        assert_eq!(to_text("fin <"), "fin <");
    }

    /// The rule of `normalise_space`, one character at a time.
    fn normalise_by_char(raw: &str) -> String {
        let mut out = String::new();
        let mut pending = None;
        for c in raw.chars() {
            if matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}') {
                pending = Some('\n');
            } else if c.is_whitespace() {
                pending = pending.or(Some(' '));
            } else if !c.is_control() {
                if let Some(p) = pending.take()
                    && !out.is_empty()
                {
                    out.push(p);
                }
                out.push(c);
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn copying_ascii_runs_at_once_changes_nothing(
            raw in "([a-zA-Z0-9.,;'&<>-]{0,6}|[ \t\r\n\u{a0}\u{2028}\u{1}\u{7f}]{0,3}|[éà«»’\u{85}\u{3000}]{0,2}){0,20}"
        ) {
            proptest::prop_assert_eq!(normalise_space(&raw), normalise_by_char(&raw));
        }
    }
}
