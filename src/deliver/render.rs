//! Deliver stage, rendering: an alert's text and HTML bodies from the article and its
//! hits. Pure. Invariants: every piece of feed text reaches the HTML only through the
//! auto-escaping template engine (a feed cannot inject markup or script); subjects and
//! header values are single lines without control characters (no header injection).

use chrono::{DateTime, Utc};
use minijinja::{Environment, context};
use serde::Serialize;

use crate::rules::{Field, Hit};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("email template: {0}")]
    Template(#[from] minijinja::Error),
}

/// A run of text, highlighted or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    pub text: String,
    pub mark: bool,
}

/// What an immediate alert says.
#[derive(Debug, Clone)]
pub struct Alert<'a> {
    pub watch: &'a str,
    pub title: &'a str,
    pub link: Option<&'a str>,
    pub outlet: &'a str,
    pub published: Option<DateTime<Utc>>,
    pub summary: &'a str,
    pub content: &'a str,
    pub hits: &'a [Hit],
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

fn environment() -> Result<Environment<'static>, RenderError> {
    let mut env = Environment::new();
    // Names ending in .html are auto-escaped; .txt are not (plain text is not markup).
    env.add_template("alert.html", include_str!("../../templates/alert.html"))?;
    env.add_template("alert.txt", include_str!("../../templates/alert.txt"))?;
    Ok(env)
}

pub fn render_alert(a: &Alert<'_>) -> Result<Rendered, RenderError> {
    let title = header_safe(a.title);
    let title_hits: Vec<(usize, usize)> = spans(a.hits, Field::Title);
    let (body_field, body) =
        if a.hits.iter().any(|h| h.field == Field::Content) || a.summary.is_empty() {
            (Field::Content, a.content)
        } else {
            (Field::Summary, a.summary)
        };
    let excerpt = excerpt(body, &spans(a.hits, body_field), 300);
    let mut words: Vec<String> = a.hits.iter().map(|h| header_safe(&h.text)).collect();
    words.sort_by_key(|w| w.to_lowercase());
    words.dedup_by_key(|w| w.to_lowercase());
    let published = a
        .published
        .map(|p| p.format("%Y-%m-%d %H:%M UTC").to_string());
    let link = a
        .link
        .filter(|l| l.starts_with("http://") || l.starts_with("https://"));
    let ctx = context! {
        watch => header_safe(a.watch),
        title => if title.is_empty() { "(untitled)".to_string() } else { title.clone() },
        title_segments => excerpt_whole(a.title, &title_hits),
        link => link,
        outlet => header_safe(a.outlet),
        published => published,
        excerpt => excerpt,
        words => words,
    };
    let env = environment()?;
    Ok(Rendered {
        subject: header_safe(&format!(
            "[vigie] {}: {}",
            a.watch,
            if title.is_empty() {
                "(untitled)"
            } else {
                &title
            }
        )),
        text: env.get_template("alert.txt")?.render(&ctx)?,
        html: env.get_template("alert.html")?.render(&ctx)?,
    })
}

fn spans(hits: &[Hit], field: Field) -> Vec<(usize, usize)> {
    let mut v: Vec<_> = hits
        .iter()
        .filter(|h| h.field == field)
        .map(|h| (h.start, h.end))
        .collect();
    v.sort_unstable();
    v
}

/// The whole text as segments (for titles).
fn excerpt_whole(text: &str, hits: &[(usize, usize)]) -> Vec<Segment> {
    segments(text, 0, text.len(), hits)
}

/// About `width` characters of `text` around the first hit, as segments with the hits
/// marked; "…" where text was cut. Offsets off char boundaries are ignored, not trusted.
pub fn excerpt(text: &str, hits: &[(usize, usize)], width: usize) -> Vec<Segment> {
    let first = hits.first().map_or(0, |h| h.0).min(text.len());
    // Start about a third of the window before the first hit, at a word start.
    let mut start = floor_char(text, first.saturating_sub(width / 3));
    if start > 0 {
        if let Some(sp) = text[start..first].find(char::is_whitespace) {
            start += sp + 1;
        }
    }
    let mut end = start;
    for (n, (i, c)) in text[start..].char_indices().enumerate() {
        end = start + i + c.len_utf8();
        if n + 1 >= width {
            break;
        }
    }
    if end < text.len() {
        if let Some(sp) = text[start..end]
            .rfind(char::is_whitespace)
            .filter(|sp| start + sp > first)
        {
            end = start + sp;
        }
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
        let r = render_alert(&Alert {
            watch: "palmyre",
            title,
            link: Some("https://ex.org/a?x=1&y=<2>"),
            outlet: "le-fil",
            published: None,
            summary: "",
            content: "<b>gras</b>",
            hits: &hits,
        })
        .unwrap();
        assert!(!r.subject.contains('\n') && !r.subject.contains('\r'));
        assert!(!r.html.contains("<script"), "{}", r.html);
        assert!(r.html.contains("&lt;script&gt;"));
        assert!(!r.html.contains("<b>gras"));
        assert!(
            r.html.contains(">Palmyre</mark>") && r.html.contains("<mark "),
            "{}",
            r.html
        );
        assert!(r.text.contains("Palmyre"));
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
}
