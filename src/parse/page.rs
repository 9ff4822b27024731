//! Parse stage, article pages: a whole web page's HTML → its title and the article's plain
//! text, for feeds that carry only teasers (and for `vigie rules test page.html`). The
//! main text is found by dom_smoothie (a port of Readability.js); before it scores the
//! page, the boilerplate that Readability keeps inside an article is cut out here: "Lire
//! aussi"/"Read more" boxes between paragraphs, bare related links, captions and credits,
//! share buttons, cookie and paywall banners, comments and most-read lists (by element,
//! by the vocabulary of class and id names, and by the words such boxes start with).
//! Invariants: pure; hostile input yields a page or [`PageError`], never a panic; the
//! cleaning reads the tree once (word counts bottom-up) and a page nested deeper than
//! [`MAX_DEPTH`] is refused, so a page built to be slow is not; a class that names boilerplate never
//! removes an element holding a third of the page's words or more than [`BOX_WORDS`]
//! (real sites wrap whole articles in `read-more` or `paywall` containers).
//!
//! Measured on the 181 pages of `../shared/corpora/article-extraction` (`cargo bench
//! --bench extraction`): F1 0.965 by the benchmark's own shingle metric, against 0.946 for
//! dom_smoothie alone and 0.957 for rs-trafilatura.

use std::collections::HashMap;

use dom_query::{Document, NodeId, NodeRef};

use super::html;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PageError {
    #[error("no article text found in the page")]
    NoArticle,
    #[error("the page is nested {0} elements deep (at most {MAX_DEPTH} are read)")]
    TooDeep(usize),
}

/// What a page says, once its boilerplate is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub title: String,
    /// The article's text, a paragraph a line.
    pub text: String,
}

/// Elements that never hold the article's own text.
const DROPPED: &[&str] = &[
    "nav",
    "footer",
    "aside",
    "form",
    "button",
    "figcaption",
    "noscript",
    "iframe",
    "svg",
    "template",
];

/// Class and id words of boilerplate boxes (matched as whole words or hyphen/underscore
/// parts: `article__share`, `cookie-banner`, `catcher--inline`).
const BOILERPLATE: &[&str] = &[
    "cookie",
    "consent",
    "gdpr",
    "paywall",
    "subscribe",
    "subscription",
    "newsletter",
    "related",
    "lire-aussi",
    "read-more",
    "readmore",
    "catcher",
    "share",
    "sharing",
    "social",
    "comment",
    "comments",
    "most-read",
    "mostread",
    "popular",
    "trending",
    "breadcrumb",
    "breadcrumbs",
    "tags",
    "tag-list",
    "outbrain",
    "taboola",
    "promo",
    "advert",
    "advertisement",
    "ad-slot",
    "sponsored",
    "recommended",
    "recirculation",
    "caption",
    "credit",
    "byline",
    "author-bio",
    "sidebar",
];

/// How a related-articles box starts, in the languages of the press vigie reads.
const MARKERS: &[&str] = &[
    "lire aussi",
    "à lire aussi",
    "a lire aussi",
    "à lire également",
    "lire également",
    "voir aussi",
    "read more",
    "read also",
    "see also",
    "related:",
    "also read",
    "more on this",
    "leer también",
    "lea también",
    "lesen sie auch",
    "mehr zum thema",
    "leggi anche",
    "leia também",
    "ler também",
    "اقرأ أيضا",
    "اقرأ أيضاً",
];

/// A boilerplate box is short: a classed element with more words is kept.
pub const BOX_WORDS: usize = 80;
/// A block that starts like a related-articles box and is at most this long is one.
const MARKER_WORDS: usize = 40;
/// A paragraph or list item that is all link and at most this long is a related link.
const LINK_WORDS: usize = 25;
/// Deeper pages are refused (real ones stay under a hundred levels).
pub const MAX_DEPTH: usize = 512;

/// The article of a web page. `url` (absolute) lets relative links resolve; anything
/// else is ignored.
pub fn extract(html_text: &str, url: Option<&str>) -> Result<Page, PageError> {
    let doc = Document::from(html_text);
    clean(&doc)?;
    let url = url.filter(|u| url::Url::parse(u).is_ok_and(|u| u.has_host()));
    let cfg = dom_smoothie::Config {
        text_mode: dom_smoothie::TextMode::Formatted,
        ..Default::default()
    };
    let mut readability = dom_smoothie::Readability::with_document(doc, url, Some(cfg))
        .map_err(|_| PageError::NoArticle)?;
    let article = readability.parse().map_err(|_| PageError::NoArticle)?;
    let text = html::normalise_space(&article.text_content);
    if text.is_empty() {
        return Err(PageError::NoArticle);
    }
    Ok(Page {
        title: html::normalise_space(&article.title).replace('\n', " "),
        text,
    })
}

fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

/// Words under a node, and how many of them are inside links.
#[derive(Clone, Copy, Default)]
struct Count {
    words: usize,
    linked: usize,
}

/// Every node's [`Count`], in one pass over the tree (children before parents, with an
/// explicit stack: no call stack however deep the page), and the tree's depth.
fn count_all(root: &NodeRef<'_>) -> (HashMap<NodeId, Count>, usize) {
    let mut counts: HashMap<NodeId, Count> = HashMap::new();
    let mut depth = 0;
    let mut stack = vec![(*root, false, 0usize)];
    while let Some((node, done, level)) = stack.pop() {
        depth = depth.max(level);
        if node.is_text() {
            let w = words(&node.text());
            counts.insert(
                node.id,
                Count {
                    words: w,
                    linked: 0,
                },
            );
            continue;
        }
        if !done {
            stack.push((node, true, level));
            stack.extend(node.children_it(false).map(|c| (c, false, level + 1)));
            continue;
        }
        let mut c = node
            .children_it(false)
            .filter_map(|k| counts.get(&k.id).copied())
            .fold(Count::default(), |a, k| Count {
                words: a.words + k.words,
                linked: a.linked + k.linked,
            });
        if node.has_name("a") {
            c.linked = c.words;
        }
        counts.insert(node.id, c);
    }
    (counts, depth)
}

/// Cut the boilerplate out of `doc` (see the module's documentation). A page nested
/// deeper than [`MAX_DEPTH`] is refused: Readability's scoring costs the square of it.
fn clean(doc: &Document) -> Result<(), PageError> {
    for name in DROPPED {
        doc.select(name).remove();
    }
    let (counts, depth) = count_all(&doc.root());
    if depth > MAX_DEPTH {
        return Err(PageError::TooDeep(depth));
    }
    let count = |n: &NodeRef<'_>| counts.get(&n.id).copied().unwrap_or_default();
    let body_words = doc.body().map_or(0, |b| count(&b).words);
    let mut doomed: Vec<NodeRef<'_>> = Vec::new();
    for n in doc.select("body *").nodes() {
        let c = count(n);
        if names_boilerplate(n)
            && c.words <= BOX_WORDS
            && c.words.saturating_mul(3) < body_words.max(1)
        {
            doomed.push(*n);
            continue;
        }
        let paragraph = n.has_name("p") || n.has_name("li");
        if (paragraph || is_box(n)) && c.words <= MARKER_WORDS {
            let lead = leading_text(n, 24).to_lowercase();
            if MARKERS.iter().any(|m| lead.trim_start().starts_with(m)) {
                doomed.push(*n);
                continue;
            }
        }
        // A short paragraph whose every word is a link: a related article.
        if paragraph && c.words > 0 && c.words <= LINK_WORDS && c.linked >= c.words {
            doomed.push(*n);
        }
    }
    // Detached all at once: a node inside one already removed goes with it.
    for n in doomed {
        n.remove_from_parent();
    }
    Ok(())
}

fn is_box(n: &NodeRef<'_>) -> bool {
    ["div", "section", "span", "strong", "b", "h2", "h3", "h4"]
        .iter()
        .any(|name| n.has_name(name))
}

/// Whether the element's class or id names a boilerplate box.
fn names_boilerplate(n: &NodeRef<'_>) -> bool {
    let class = n.attr("class");
    let id = n.attr("id");
    let names = class
        .iter()
        .chain(id.iter())
        .flat_map(|v| v.split_whitespace());
    for name in names {
        // `article__share` and `cookie_banner` read as `article--share`, `cookie-banner`.
        let framed = format!("-{}-", name.to_ascii_lowercase().replace('_', "-"));
        let part = |b: &str| {
            framed
                .match_indices(b)
                .any(|(i, _)| framed[..i].ends_with('-') && framed[i + b.len()..].starts_with('-'))
        };
        if BOILERPLATE.iter().any(|b| part(b)) {
            return true;
        }
    }
    false
}

/// The first `max` characters of an element's text, looking at a few dozen nodes at most
/// (an element without text early on is not a box that starts with a marker).
fn leading_text(n: &NodeRef<'_>, max: usize) -> String {
    let mut out = String::new();
    let mut stack = vec![*n];
    let mut visited = 0;
    while let Some(node) = stack.pop() {
        visited += 1;
        if visited > 64 {
            break;
        }
        if node.is_text() {
            out.push_str(&node.text());
            if out.trim_start().chars().count() >= max {
                break;
            }
            continue;
        }
        let mut children: Vec<NodeRef<'_>> = node.children_it(false).collect();
        children.reverse();
        stack.extend(children);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = include_str!("../../tests/fixtures/pages/seed-page.html");

    #[test]
    fn the_article_is_kept_and_its_boilerplate_dropped() {
        let page = extract(
            PAGE,
            Some("https://www.elwatan.example/international/palmyre"),
        )
        .unwrap();
        assert_eq!(page.title, "Syrie : l'armée progresse vers Palmyre");
        for kept in ["al-Bayarat", "Kallabiyeh", "Genève", "Pentagone", "Raqa"] {
            assert!(page.text.contains(kept), "{kept} missing");
        }
        // Related boxes between paragraphs, the sidebar, comments, cookie and paywall
        // banners, navigation, share buttons and footer.
        for gone in [
            "Tombouctou",
            "Samarcande",
            "Lire aussi",
            "Messine",
            "Trébizonde",
            "Gibraltar",
            "Zanzibar",
            "Valparaiso",
            "Partager",
            "Ouagadougou",
        ] {
            assert!(!page.text.contains(gone), "{gone} kept: {}", page.text);
        }
        // A paragraph a line.
        assert!(page.text.lines().count() >= 5);
    }

    #[test]
    fn a_long_container_named_like_boilerplate_is_kept() {
        let body =
            "<p>Les négociations de Genève reprennent jeudi sous l'égide de l'ONU. </p>".repeat(30);
        let html = format!(
            "<html><body><div class=\"paywall read-more\">{body}</div><div class=\"share\">Partager</div></body></html>"
        );
        let page = extract(&html, None).unwrap();
        assert!(page.text.contains("Genève"));
        assert!(!page.text.contains("Partager"));
    }

    #[test]
    fn hostile_pages_are_an_error_or_a_page_never_a_panic() {
        let deep = format!(
            "{}<p>Palmyre</p>{}",
            "<div class=\"share\">".repeat(20_000),
            "</div>".repeat(20_000)
        );
        assert!(matches!(extract(&deep, None), Err(PageError::TooDeep(d)) if d > MAX_DEPTH));
        let many = "<p><a href=\"/x\">Lire aussi : ailleurs</a></p>".repeat(20_000);
        for html in [
            "",
            "<html>",
            "\u{0}\u{1}<<<>>>",
            "<script>alert(1)</script>",
            deep.as_str(),
            many.as_str(),
        ] {
            let _ = extract(html, Some("not a url"));
        }
        assert_eq!(extract("", None), Err(PageError::NoArticle));
    }
}
