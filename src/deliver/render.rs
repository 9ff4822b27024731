//! Deliver stage, rendering: an alert's text and HTML bodies from the story and its
//! hits, and the pieces a digest shares with it. Pure. Invariants: every piece of feed
//! text reaches the HTML only through the auto-escaping template engine, as plain text
//! (vigie keeps no HTML from feeds: the parse stage reduces it to text, so there is
//! nothing to sanitise and a feed cannot inject markup or script); subjects and header
//! values are single lines without control characters (no header injection); times are
//! shown in the zone the caller passes.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use minijinja::{Environment, context};
use serde::Serialize;

use crate::rules::{Field, Hit};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("email template: {0}")]
    Template(#[from] minijinja::Error),
    #[error("email templates did not load: {0}")]
    Setup(String),
}

/// A run of text, highlighted or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    pub text: String,
    pub mark: bool,
}

/// A matched story as an email shows it.
#[derive(Debug, Clone)]
pub struct Story<'a> {
    pub watch: &'a str,
    pub title: &'a str,
    pub link: Option<&'a str>,
    /// Every outlet (feed name) that carried it.
    pub outlets: &'a [String],
    pub published: Option<DateTime<Utc>>,
    pub summary: &'a str,
    pub content: &'a str,
    pub hits: &'a [Hit],
}

/// What the templates get for one story; every string is still unescaped plain text.
#[derive(Debug, Clone, Serialize)]
pub struct StoryView {
    pub watch: String,
    pub title: String,
    pub title_segments: Vec<Segment>,
    pub link: Option<String>,
    pub outlets: Vec<String>,
    pub published: Option<String>,
    pub excerpt: Vec<Segment>,
    pub words: Vec<String>,
    /// Other watches of the same email that matched this story too (digests).
    pub also: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A header-safe single line: control characters (CR, LF, …) become spaces.
pub fn header_safe(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A time as readers of `zone` say it, with the zone's abbreviation so that it is never
/// ambiguous: `27 Feb 2017, 14:05 CET`.
pub fn local_time(t: DateTime<Utc>, zone: Tz) -> String {
    t.with_timezone(&zone)
        .format("%-d %b %Y, %H:%M %Z")
        .to_string()
}

static ENV: LazyLock<Result<Environment<'static>, String>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // Names ending in .html are auto-escaped; .txt are not (plain text is not markup).
    for (name, src) in [
        ("alert.html", include_str!("../../templates/alert.html")),
        ("alert.txt", include_str!("../../templates/alert.txt")),
        ("digest.html", include_str!("../../templates/digest.html")),
        ("digest.txt", include_str!("../../templates/digest.txt")),
        ("story.html", include_str!("../../templates/story.html")),
    ] {
        env.add_template(name, src).map_err(|e| e.to_string())?;
    }
    Ok(env)
});

/// Render the template `name` (HTML auto-escaped by its extension).
pub(crate) fn render(name: &str, ctx: &minijinja::Value) -> Result<String, RenderError> {
    let env = ENV.as_ref().map_err(|e| RenderError::Setup(e.clone()))?;
    Ok(env.get_template(name)?.render(ctx)?)
}

/// The view of one story: its title with the hits in it marked, an excerpt of about
/// `width` characters around the first hits of its text, the matched words.
pub fn story_view(s: &Story<'_>, zone: Tz, width: usize) -> StoryView {
    let title = header_safe(s.title);
    let (body_field, body) =
        if s.hits.iter().any(|h| h.field == Field::Content) || s.summary.is_empty() {
            (Field::Content, s.content)
        } else {
            (Field::Summary, s.summary)
        };
    let mut words: Vec<String> = s.hits.iter().map(|h| header_safe(&h.text)).collect();
    words.sort_by_key(|w| w.to_lowercase());
    words.dedup_by_key(|w| w.to_lowercase());
    StoryView {
        watch: header_safe(s.watch),
        title: if title.is_empty() {
            "(untitled)".to_string()
        } else {
            title
        },
        title_segments: segments(
            s.title,
            0,
            s.title.len(),
            &spans(s.hits, Field::Title, s.title),
        ),
        link: s
            .link
            .filter(|l| l.starts_with("http://") || l.starts_with("https://"))
            .map(str::to_string),
        outlets: s.outlets.iter().map(|o| header_safe(o)).collect(),
        published: s.published.map(|p| local_time(p, zone)),
        excerpt: excerpt(body, &spans(s.hits, body_field, body), width),
        words,
        also: Vec::new(),
    }
}

/// An immediate alert: subject `[vigie] <watch>: <title>`, text and HTML bodies.
pub fn render_alert(s: &Story<'_>, zone: Tz) -> Result<Rendered, RenderError> {
    let story = story_view(s, zone, 300);
    let subject = header_safe(&format!("[vigie] {}: {}", story.watch, story.title));
    let preheader = story.excerpt_text();
    let ctx = context! { story => story, preheader => preheader };
    Ok(Rendered {
        subject,
        text: render("alert.txt", &ctx)?,
        html: render("alert.html", &ctx)?,
    })
}

impl StoryView {
    /// The excerpt as one plain line (for preheaders).
    pub fn excerpt_text(&self) -> String {
        header_safe(
            &self
                .excerpt
                .iter()
                .map(|s| s.text.as_str())
                .collect::<String>(),
        )
    }
}

/// The hits of `field` that still sit where they were found in `text`: an article
/// edited since it matched may have moved them, and a stale offset must neither mark the
/// wrong words nor cut a character in two.
fn spans(hits: &[Hit], field: Field, text: &str) -> Vec<(usize, usize)> {
    let mut v: Vec<_> = hits
        .iter()
        .filter(|h| h.field == field && text.get(h.start..h.end) == Some(h.text.as_str()))
        .map(|h| (h.start, h.end))
        .collect();
    v.sort_unstable();
    v
}

/// About `width` characters of `text` around the first hit, as segments with the hits
/// marked; "…" where text was cut. Offsets off char boundaries are ignored, not trusted.
pub fn excerpt(text: &str, hits: &[(usize, usize)], width: usize) -> Vec<Segment> {
    let first = floor_char(text, hits.first().map_or(0, |h| h.0).min(text.len()));
    // Start about a third of the window before the first hit, at a word start.
    let mut start = floor_char(text, first.saturating_sub(width / 3));
    if start > 0
        && let Some((sp, c)) = text[start..first]
            .char_indices()
            .find(|(_, c)| c.is_whitespace())
    {
        start += sp + c.len_utf8();
    }
    let mut end = start;
    for (n, (i, c)) in text[start..].char_indices().enumerate() {
        end = start + i + c.len_utf8();
        if n + 1 >= width {
            break;
        }
    }
    if end < text.len()
        && let Some(sp) = text[start..end]
            .rfind(char::is_whitespace)
            .filter(|sp| start + sp > first)
    {
        end = start + sp;
    }
    let mut out = Vec::new();
    if start > 0 {
        out.push(Segment {
            text: "…".into(),
            mark: false,
        });
    }
    out.extend(segments(text, start, end, hits));
    if end < text.len() {
        out.push(Segment {
            text: "…".into(),
            mark: false,
        });
    }
    out
}

fn segments(text: &str, start: usize, end: usize, hits: &[(usize, usize)]) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut at = start;
    for &(s, e) in hits {
        let (s, e) = (s.max(at), e.min(end));
        if s >= e || !text.is_char_boundary(s) || !text.is_char_boundary(e) {
            continue;
        }
        if s > at {
            out.push(Segment {
                text: text[at..s].to_string(),
                mark: false,
            });
        }
        out.push(Segment {
            text: text[s..e].to_string(),
            mark: true,
        });
        at = e;
    }
    if at < end {
        out.push(Segment {
            text: text[at..end].to_string(),
            mark: false,
        });
    }
    out
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(field: Field, text: &str, word: &str) -> Hit {
        let start = text.find(word).unwrap();
        Hit {
            field,
            start,
            end: start + word.len(),
            text: word.to_string(),
        }
    }

    #[test]
    fn feed_markup_is_escaped_and_headers_stay_single_line() {
        let title = "Palmyre <script>alert(1)</script>\r\nBcc: x@evil.example";
        let hits = [hit(Field::Title, title, "Palmyre")];
        let outlets = ["le-fil\r\nX-Evil: 1".to_string()];
        let r = render_alert(
            &Story {
                watch: "palmyre",
                title,
                link: Some("https://ex.org/a?x=1&y=<2>"),
                outlets: &outlets,
                published: None,
                summary: "",
                content: "<b>gras</b>",
                hits: &hits,
            },
            Tz::UTC,
        )
        .unwrap();
        assert!(!r.subject.contains('\n') && !r.subject.contains('\r'));
        assert!(r.subject.starts_with("[vigie] palmyre: Palmyre <script>"));
        assert!(!r.html.contains("<script"), "{}", r.html);
        assert!(r.html.contains("&lt;script&gt;"));
        assert!(!r.html.contains("<b>gras"));
        assert!(r.html.contains("x=1&amp;y=&lt;2&gt;"), "{}", r.html);
        assert!(
            r.html.contains(">Palmyre</mark>") && r.html.contains("<mark"),
            "{}",
            r.html
        );
        assert!(r.text.contains("Palmyre"));
        assert!(r.text.contains("le-fil X-Evil: 1"), "{}", r.text);
    }

    #[test]
    fn the_publication_time_is_shown_in_the_given_zone() {
        let t = DateTime::parse_from_rfc3339("2017-02-27T13:05:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            local_time(t, "Europe/Paris".parse().unwrap()),
            "27 Feb 2017, 14:05 CET"
        );
        let r = render_alert(
            &Story {
                watch: "w",
                title: "Palmyre",
                link: None,
                outlets: &[],
                published: Some(t),
                summary: "",
                content: "",
                hits: &[],
            },
            "Asia/Damascus".parse().unwrap(),
        )
        .unwrap();
        assert!(r.text.contains("27 Feb 2017, 15:05"), "{}", r.text);
    }

    #[test]
    fn excerpt_centres_on_the_first_hit_and_marks_it() {
        let text = format!("{} Palmyre {}", "avant ".repeat(200), "après ".repeat(200));
        let start = text.find("Palmyre").unwrap();
        let segs = excerpt(&text, &[(start, start + 7)], 300);
        assert_eq!(segs.first().unwrap().text, "…");
        assert_eq!(segs.last().unwrap().text, "…");
        assert!(segs.iter().any(|s| s.mark && s.text == "Palmyre"));
        let len: usize = segs.iter().map(|s| s.text.chars().count()).sum();
        assert!(len <= 302, "excerpt of {len} chars");
    }

    #[test]
    fn stale_or_broken_offsets_never_panic_nor_mark_the_wrong_words() {
        let text = format!("{}été à Genève, «Palmyre»\u{3000}fin", "mot ".repeat(120));
        let n = text.len();
        // Offsets inside multi-byte characters, past the end, reversed: no panic.
        for (s, e) in [
            (n - 5, n - 4),
            (1, 2),
            (n + 10, n + 20),
            (500, 480),
            (481, 483),
        ] {
            let segs = excerpt(&text, &[(s, e)], 300);
            assert!(!segs.is_empty());
        }
        // A hit recorded before an edit moved the text is not marked.
        let hits = [Hit {
            field: Field::Content,
            start: 0,
            end: 7,
            text: "Palmyre".into(),
        }];
        assert!(spans(&hits, Field::Content, &text).is_empty());
        let at = text.find("Palmyre").unwrap();
        let moved = [Hit {
            start: at,
            end: at + 7,
            ..hits[0].clone()
        }];
        assert_eq!(spans(&moved, Field::Content, &text), vec![(at, at + 7)]);
    }
}
