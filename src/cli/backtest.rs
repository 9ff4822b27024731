//! `vigie backtest`: run the current watches against stored articles and list what
//! would have alerted. Reads the store, matches with the same matcher and the same feed
//! scoping as live polling, and writes nothing.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use crate::config::Config;
use crate::rules::{Document, Matcher};
use crate::store::{Result, from_ts, to_ts};

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
    let mut stmt = conn.prepare(
        "SELECT a.id, a.title, a.summary, a.content, a.link, COALESCE(a.published_at, a.first_seen_at),
                (SELECT group_concat(f.name, char(10)) FROM article_feeds af JOIN feeds f ON f.id = af.feed_id
                 WHERE af.article_id = a.id)
         FROM articles a WHERE a.first_seen_at >= ?1 ORDER BY 6 DESC, a.id DESC",
    )?;
    let mut rows = stmt.query([to_ts(since)])?;
    while let Some(r) = rows.next()? {
        let (title, summary, content): (String, String, String) = (r.get(1)?, r.get(2)?, r.get(3)?);
        let feeds: Vec<String> = r
            .get::<_, Option<String>>(6)?
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
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
                article_id: r.get(0)?,
                title: title.clone(),
                feeds: feeds.clone(),
                link: r.get(4)?,
                date: from_ts(r.get(5)?),
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
