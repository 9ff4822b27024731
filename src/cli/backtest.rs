//! `vigie backtest`: run the current watches against stored articles and list what
//! would have alerted. Reads the store, matches with the same matcher and the same feed
//! scoping as live polling, and writes nothing.

use crate::store::db::Connection;
use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::rules::{Document, Matcher};
use crate::store::Result;

#[derive(Debug, Clone)]
pub struct WouldAlert {
    pub article_id: i64,
    pub title: String,
    pub feeds: Vec<String>,
    pub link: Option<String>,
    pub date: DateTime<Utc>,
    /// The matched words, as written, each once.
    pub words: Vec<String>,
}

/// Per watch (in configuration order, only `only` when given), the stored articles first
/// seen since `since` that it matches, newest first.
pub fn backtest(
    conn: &Connection,
    cfg: &Config,
    matcher: &Matcher,
    since: DateTime<Utc>,
    only: Option<&str>,
) -> Result<Vec<(String, Vec<WouldAlert>)>> {
    let mut per_watch: Vec<Vec<WouldAlert>> = vec![Vec::new(); cfg.rules.watches.len()];
    for stored in crate::store::articles::since(conn, since)? {
        let crate::store::articles::Carried {
            article_id: id,
            title,
            summary,
            content,
            link,
            date,
            feeds,
        } = stored;
        let doc = Document {
            title: &title,
            summary: &summary,
            content: &content,
        };
        for m in matcher.match_document(&doc) {
            let Some(w) = cfg.rules.watches.get(m.watch) else {
                continue;
            };
            if only.is_some_and(|o| o != w.name) {
                continue;
            }
            let applies = feeds.iter().any(|f| {
                let tags = cfg.feed(f).map(|fc| fc.tags.as_slice()).unwrap_or(&[]);
                w.applies_to(f, tags)
            });
            if !applies {
                continue;
            }
            let mut words: Vec<String> = Vec::new();
            for h in &m.hits {
                if !words
                    .iter()
                    .any(|x| x.to_lowercase() == h.text.to_lowercase())
                {
                    words.push(h.text.clone());
                }
            }
            per_watch[m.watch].push(WouldAlert {
                article_id: id,
                title: title.clone(),
                feeds: feeds.clone(),
                link: link.clone(),
                date,
                words,
            });
        }
    }
    Ok(cfg
        .rules
        .watches
        .iter()
        .zip(per_watch)
        .filter(|(w, _)| only.is_none_or(|o| o == w.name))
        .map(|(w, v)| (w.name.clone(), v))
        .collect())
}
