//! Ingest, article pages (contract §2 `fulltext`, §6): for a feed whose items are teasers,
//! each fresh item's page is fetched and its article text matched instead of the teaser,
//! which stays as the item's summary. In: a feed's fresh items. Out: the same items, each
//! with the best text to be had and how its page went (`ok`, or why not).
//! Invariants: an item is matched once, after its page arrived or could not be had within
//! one fetch's timeout — so a late page never makes a second alert; a page costs only its
//! own article (an error, a page that is not HTML, one whose article is no longer than
//! the teaser: the item keeps the feed's text and the cause is logged and stored); a
//! canonical link is fetched once per poll however many feeds carry it, and not at all
//! once the store holds its page; never for an item older than `backfill`; requests go
//! through the same per-host and global limits as feeds, and a host that answered with
//! `Retry-After` is left alone for the rest of the poll. Whether a feed's items are
//! teasers ([`judge`]) and whether it wants pages ([`wants_pages`]) are pure.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::OnceCell;
use tokio::task::JoinSet;

use super::Runtime;
use super::limits::Limits;
use super::prepare::Identified;
use crate::config::Fulltext;
use crate::fetch::{Content, FetchError, Fetched};
use crate::parse::{Item, charset, page};

/// A feed whose items have a median of fewer words than this carries teasers.
pub const TEASER_WORDS: usize = 150;

/// An item's page as it came: the article's text, or why there is none.
type PageText = Result<String, String>;

fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

/// What a reader of the feed alone gets of an item.
fn feed_text(item: &Item) -> &str {
    if item.content.is_empty() {
        &item.summary
    } else {
        &item.content
    }
}

/// Whether a feed's items are teasers, judged from the items it carries now (its recent
/// ones), and why; `None` for a feed without items.
pub fn judge(items: &[Item]) -> Option<(bool, String)> {
    let mut counts: Vec<usize> = items.iter().map(|i| words(feed_text(i))).collect();
    if counts.is_empty() {
        return None;
    }
    counts.sort_unstable();
    let median = counts[counts.len() / 2];
    let teasers = median < TEASER_WORDS;
    let why = format!(
        "median {median} words an item over {} items ({} {TEASER_WORDS})",
        counts.len(),
        if teasers { "under" } else { "at least" }
    );
    Some((teasers, why))
}

/// Whether a feed's fresh items get their pages read.
pub fn wants_pages(mode: Fulltext, teasers: Option<bool>) -> bool {
    match mode {
        Fulltext::Always => true,
        Fulltext::Never => false,
        Fulltext::Auto => teasers == Some(true),
    }
}

/// The pages of one poll: each canonical link fetched once, and the hosts that asked to
/// be left alone.
pub struct Pages {
    limits: Arc<Limits>,
    fetched: Mutex<HashMap<String, Arc<OnceCell<PageText>>>>,
    waiting: Mutex<HashMap<String, Instant>>,
}

impl Pages {
    pub fn new(limits: Arc<Limits>) -> Pages {
        Pages {
            limits,
            fetched: Mutex::default(),
            waiting: Mutex::default(),
        }
    }

    /// The page at `link`: fetched now, or by whichever feed of this poll asked first.
    async fn page(&self, rt: &Runtime, link: &str) -> PageText {
        let cell = {
            let mut fetched = self.fetched.lock().unwrap_or_else(|p| p.into_inner());
            fetched.entry(link.to_string()).or_default().clone()
        };
        cell.get_or_init(|| self.fetch(rt, link)).await.clone()
    }

    async fn fetch(&self, rt: &Runtime, link: &str) -> PageText {
        let host = Limits::host_of(link);
        let asked_to_wait = {
            let waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
            waiting
                .get(&host)
                .is_some_and(|until| *until > Instant::now())
        };
        if asked_to_wait {
            return Err("the site asked to wait (Retry-After)".into());
        }
        let Some(slots) = self.limits.acquire(&host).await else {
            return Err("the poll was cancelled".into());
        };
        let fetched = rt.fetcher.fetch_page(link, rt.config.poll.max_body).await;
        drop(slots);
        let (bytes, charset, content_type, url) = match fetched {
            Ok(Fetched {
                content:
                    Content::Body {
                        bytes,
                        charset,
                        content_type,
                        final_url,
                        ..
                    },
                ..
            }) => (bytes, charset, content_type, final_url),
            Ok(Fetched {
                content: Content::NotModified,
                ..
            }) => return Err("HTTP 304 to an unconditional request".into()),
            Err(e) => {
                if let FetchError::Status {
                    retry_after: Some(wait),
                    ..
                } = &e
                {
                    let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
                    waiting.insert(
                        host,
                        Instant::now() + (*wait).min(Duration::from_secs(86_400)),
                    );
                }
                return Err(reason(&e));
            }
        };
        if let Some(kind) = not_html(content_type.as_deref(), &bytes) {
            return Err(format!("not HTML ({kind})"));
        }
        let extracted = tokio::task::spawn_blocking(move || {
            let html = charset::html_to_utf8(&bytes, charset.as_deref());
            page::extract(&html, Some(&url))
        })
        .await;
        match extracted {
            Ok(Ok(p)) => Ok(p.text),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(format!("extraction failed: {e}")),
        }
    }
}

/// The short cause stored and counted for a failed fetch (the log line has the detail).
fn reason(e: &FetchError) -> String {
    match e {
        FetchError::Status { status, .. } => format!("HTTP {status}"),
        FetchError::Gone { .. } => "HTTP 410".into(),
        FetchError::Timeout(_) => "timed out".into(),
        FetchError::TooLarge { .. } => "larger than max_body".into(),
        FetchError::BadUrl { .. } => "not an http(s) link".into(),
        _ => "request failed".into(),
    }
}

/// What a response is when it is not a web page: by its `Content-Type`, else by its
/// first bytes.
fn not_html(content_type: Option<&str>, bytes: &[u8]) -> Option<String> {
    if let Some(ct) = content_type {
        let mime = ct
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        return (!mime.is_empty() && mime != "text/html" && mime != "application/xhtml+xml")
            .then_some(mime);
    }
    bytes
        .starts_with(b"%PDF")
        .then(|| "a PDF document".to_string())
}

/// Read the pages of `items[i]` for each `i` in `wanted`, all at once (within the limits),
/// and give each item its page's text, or the cause of its fallback. An item whose page
/// the store already holds (`known`, by canonical link) takes that text without a fetch.
pub async fn read(
    rt: &Runtime,
    pages: &Arc<Pages>,
    feed: &str,
    items: &mut [Identified],
    wanted: &[usize],
    known: &HashMap<String, String>,
) {
    let mut tasks = JoinSet::new();
    for &i in wanted {
        let Some(link) = items.get(i).and_then(|it| it.id.canonical_link.clone()) else {
            continue;
        };
        if let Some(text) = known.get(&link) {
            apply(&mut items[i], Ok(text.clone()));
            continue;
        }
        let (rt, pages) = (rt.clone(), pages.clone());
        tasks.spawn(async move {
            let page = pages.page(&rt, &link).await;
            (i, link, page)
        });
    }
    while let Some(done) = tasks.join_next().await {
        let Ok((i, link, page)) = done else {
            continue;
        };
        if let Err(cause) = &page {
            tracing::info!(feed = %feed, link = %link, cause = %cause, "article page not used: matched on the feed's text");
        }
        if let Some(it) = items.get_mut(i) {
            apply(it, page);
        }
    }
}

/// Which of a feed's fresh items want their page: those with a link, published within
/// `backfill` of `now` (or undated).
pub fn wanted(
    items: &[Identified],
    fresh: impl Fn(usize) -> bool,
    now: DateTime<Utc>,
    backfill: Duration,
) -> Vec<usize> {
    let oldest = chrono::Duration::from_std(backfill)
        .ok()
        .and_then(|b| now.checked_sub_signed(b));
    (0..items.len())
        .filter(|&i| fresh(i))
        .filter(|&i| items[i].id.canonical_link.is_some())
        .filter(|&i| match (items[i].item.published, oldest) {
            (Some(p), Some(oldest)) => p >= oldest,
            _ => true,
        })
        .collect()
}

/// Put a page's text in its item: the article becomes the content, the feed's own text
/// the summary. A page no longer than the teaser (a consent wall, a paywall) is not used.
fn apply(it: &mut Identified, page: PageText) {
    let outcome = match page {
        Ok(text) if words(&text) > words(feed_text(&it.item)) => {
            if it.item.summary.is_empty() {
                it.item.summary = std::mem::take(&mut it.item.content);
            }
            it.item.content = text;
            "ok".to_string()
        }
        Ok(_) => "the page's text is no longer than the feed's".to_string(),
        Err(cause) => cause,
    };
    it.page = Some(outcome);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(summary: &str, content: &str) -> Item {
        Item {
            summary: summary.into(),
            content: content.into(),
            ..Item::default()
        }
    }

    #[test]
    fn teasers_are_judged_by_the_median_item() {
        let short = item(
            "Les forces syriennes poursuivaient leur offensive près de Palmyre.",
            "",
        );
        let long = item("", &"mot ".repeat(400));
        let (teasers, why) = judge(&[short.clone(), short.clone(), long.clone()]).unwrap();
        assert!(teasers, "{why}");
        assert!(why.starts_with("median 9 words"), "{why}");
        let (teasers, why) = judge(&[short, long.clone(), long]).unwrap();
        assert!(!teasers, "{why}");
        assert_eq!(judge(&[]), None);
    }

    #[test]
    fn auto_wants_pages_only_for_teasers() {
        assert!(wants_pages(Fulltext::Always, Some(false)));
        assert!(!wants_pages(Fulltext::Never, Some(true)));
        assert!(wants_pages(Fulltext::Auto, Some(true)));
        assert!(!wants_pages(Fulltext::Auto, Some(false)));
        assert!(!wants_pages(Fulltext::Auto, None));
    }

    #[test]
    fn a_page_no_longer_than_the_teaser_is_not_used() {
        let teaser = "Les forces syriennes poursuivaient leur offensive près de Palmyre.";
        let mut it = Identified::new("f", item(teaser, ""));
        apply(&mut it, Ok("Acceptez les cookies pour continuer.".into()));
        assert_eq!(it.item.summary, teaser);
        assert_eq!(it.item.content, "");
        assert_eq!(
            it.page.as_deref(),
            Some("the page's text is no longer than the feed's")
        );

        let mut it = Identified::new("f", item("", teaser));
        let article = format!("{teaser} Les troupes combattent près d'al-Bayarat.");
        apply(&mut it, Ok(article.clone()));
        assert_eq!(it.item.summary, teaser);
        assert_eq!(it.item.content, article);
        assert_eq!(it.page.as_deref(), Some("ok"));

        let mut it = Identified::new("f", item(teaser, ""));
        apply(&mut it, Err("HTTP 403".into()));
        assert_eq!(
            (it.item.content.as_str(), it.page.as_deref()),
            ("", Some("HTTP 403"))
        );
    }

    #[test]
    fn what_is_not_a_page() {
        assert_eq!(
            not_html(Some("application/pdf"), b"%PDF-1.7").as_deref(),
            Some("application/pdf")
        );
        assert_eq!(not_html(Some("text/html; charset=utf-8"), b"<html>"), None);
        assert_eq!(not_html(Some("application/xhtml+xml"), b"<html>"), None);
        assert_eq!(not_html(None, b"%PDF-1.4"), Some("a PDF document".into()));
        assert_eq!(not_html(None, b"<!doctype html>"), None);
    }

    #[test]
    fn only_recent_items_with_links_want_pages() {
        let now = DateTime::parse_from_rfc3339("2017-02-20T12:00:00Z")
            .unwrap()
            .to_utc();
        let mk = |link: Option<&str>, age_h: Option<i64>| {
            Identified::new(
                "f",
                Item {
                    link: link.map(str::to_string),
                    published: age_h.map(|h| now - chrono::Duration::hours(h)),
                    title: format!("{link:?} {age_h:?}"),
                    ..Item::default()
                },
            )
        };
        let items = [
            mk(Some("https://a.example/1"), Some(1)),
            mk(Some("https://a.example/2"), Some(100)),
            mk(None, Some(1)),
            mk(Some("https://a.example/4"), None),
            mk(Some("https://a.example/5"), Some(2)),
        ];
        let w = wanted(&items, |i| i != 4, now, Duration::from_secs(48 * 3600));
        assert_eq!(w, vec![0, 3]);
    }
}
