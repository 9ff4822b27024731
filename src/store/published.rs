//! Store stage, what the Atom feeds publish: one row per (watch, story) that alerted,
//! written in the article's transaction when the deliver stage queues the story's match
//! (`deliver::queue`), and the reads that list a watch's or a digest's last stories with
//! everything an entry shows. Invariants: a (watch, story) is recorded once — the first
//! match that alerted — so a later outlet of the story adds no row, only a sighting that
//! moves the entry's `updated`; a row goes with its match (retention); the two reads of a
//! feed are one statement each, whatever the number of entries, on both backends.

use std::collections::HashMap;

use crate::store::db::{Connection, Row, Transaction, params};
use chrono::{DateTime, Utc};

use super::articles::ArticleRow;
use super::{Result, from_ts, to_ts};

/// Which feed: a watch's, or a digest's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which<'a> {
    Watch(&'a str),
    Digest(&'a str),
}

/// One outlet that carried a story: its feed, its own link and time, when vigie saw it there.
#[derive(Debug, Clone, PartialEq)]
pub struct Sighting {
    pub feed: String,
    pub link: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub seen_at: DateTime<Utc>,
}

/// A story as a feed lists it.
#[derive(Debug, Clone)]
pub struct Published {
    /// The story's key: the entry's id derives from it.
    pub story_key: String,
    /// When it first alerted (for a digest's feed, when its first watch queued it).
    pub alerted_at: DateTime<Utc>,
    /// The watches that alerted for it, first first, each with its match's hits (JSON): one
    /// in a watch's feed, one or more in a digest's.
    pub watches: Vec<(String, String)>,
    /// The article of the first of those matches: title, link, text of the excerpt.
    pub article: ArticleRow,
    /// Every outlet that carried the story, first seen first (each with its first sighting).
    pub outlets: Vec<Sighting>,
    /// When the entry last changed: the alert, the last outlet joining, or an edit of one of
    /// the story's articles, whichever came last.
    pub updated: DateTime<Utc>,
}

/// Record that `watch` alerted for `story_key` with its match `match_id` (queued for
/// `digest`, if by digest). False when the story had already alerted for the watch.
pub fn record(
    tx: &Transaction<'_>,
    watch: &str,
    story_key: &str,
    digest: Option<&str>,
    match_id: i64,
    now: DateTime<Utc>,
) -> Result<bool> {
    let n = tx.execute(
        "INSERT INTO story_alerts (watch, story_key, digest, match_id, alerted_at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (watch, story_key) DO NOTHING",
        params![watch, story_key, digest, match_id, to_ts(now)],
    )?;
    Ok(n == 1)
}

/// The rows of a feed's last `limit` stories: a watch's are its last rows; a digest's, every
/// row of its last `limit` stories (a story two of its watches alerted for is one entry).
fn selection(which: Which<'_>) -> (&'static str, &str) {
    match which {
        Which::Watch(name) => (
            "SELECT id FROM story_alerts WHERE watch = ?1 ORDER BY id DESC LIMIT ?2",
            name,
        ),
        Which::Digest(name) => (
            "SELECT id FROM story_alerts WHERE digest = ?1 AND story_key IN (
                 SELECT story_key FROM story_alerts WHERE digest = ?1
                 GROUP BY story_key ORDER BY MIN(id) DESC LIMIT ?2)",
            name,
        ),
    }
}

/// The column that orders sightings of one second by when they were written.
fn sighting_order(conn: &Connection) -> &'static str {
    match conn.dialect() {
        crate::store::db::Dialect::Sqlite => "af.rowid",
        crate::store::db::Dialect::Postgres => "af.seq",
    }
}

/// A row of the first read: (row id, story key, watch, alerted at, hits, story id, article).
type AlertRow = (i64, String, String, i64, String, Option<i64>, ArticleRow);

fn alert_row(r: &Row) -> crate::store::db::Result<AlertRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        ArticleRow {
            id: r.get(6)?,
            key: r.get(7)?,
            feed: r.get(8)?,
            link: r.get(9)?,
            title: r.get(10)?,
            summary: r.get(11)?,
            content: r.get(12)?,
            published_at: r.get::<_, Option<i64>>(13)?.map(from_ts),
            first_seen_at: from_ts(r.get(14)?),
        },
    ))
}

/// The last `limit` stories of a feed, newest alert first, each with its outlets.
pub fn entries(conn: &Connection, which: Which<'_>, limit: usize) -> Result<Vec<Published>> {
    let (rows, name) = selection(which);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    // One snapshot for both reads, so that a story alerting meanwhile cannot come
    // without its outlets.
    let tx = conn.transaction()?;
    if tx.dialect() == crate::store::db::Dialect::Postgres {
        tx.execute_batch("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
    }
    let alerts = tx.query_map(
        &format!(
            "SELECT sa.id, sa.story_key, sa.watch, sa.alerted_at, m.hits, a.story_id,
                    a.id, a.key, f.name, a.link, a.title, a.summary, a.content, a.published_at,
                    a.first_seen_at
             FROM story_alerts sa JOIN matches m ON m.id = sa.match_id
             JOIN articles a ON a.id = m.article_id JOIN feeds f ON f.id = a.feed_id
             WHERE sa.id IN ({rows}) ORDER BY sa.id"
        ),
        params![name, limit],
        alert_row,
    )?;
    // Every sighting of those stories, first first: (story, feed id, sighting, edited at).
    let sightings = tx.query_map(
        &format!(
            "SELECT a.story_id, f.id, f.name, a.link, a.published_at, af.seen_at, a.updated_at
             FROM articles a JOIN article_feeds af ON af.article_id = a.id
             JOIN feeds f ON f.id = af.feed_id
             WHERE a.story_id IN (SELECT a2.story_id FROM story_alerts sa
                                  JOIN matches m ON m.id = sa.match_id
                                  JOIN articles a2 ON a2.id = m.article_id
                                  WHERE sa.id IN ({rows}))
             ORDER BY af.seen_at, {}",
            sighting_order(conn)
        ),
        params![name, limit],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                Sighting {
                    feed: r.get(2)?,
                    link: r.get(3)?,
                    published: r.get::<_, Option<i64>>(4)?.map(from_ts),
                    seen_at: from_ts(r.get(5)?),
                },
                r.get::<_, Option<i64>>(6)?,
            ))
        },
    )?;
    drop(tx);
    Ok(assemble(alerts, sightings))
}

/// The entries from the two reads: rows grouped by story (first row first), stories newest
/// alert first, outlets one per feed.
fn assemble(
    alerts: Vec<AlertRow>,
    sightings: Vec<(i64, i64, Sighting, Option<i64>)>,
) -> Vec<Published> {
    // Per story: its outlets (one per feed, first sighting) and its last change.
    let mut outlets: HashMap<i64, (Vec<(i64, Sighting)>, i64)> = HashMap::new();
    for (story, feed_id, s, edited) in sightings {
        let (list, last) = outlets.entry(story).or_default();
        *last = (*last).max(to_ts(s.seen_at)).max(edited.unwrap_or(0));
        if !list.iter().any(|(f, _)| *f == feed_id) {
            list.push((feed_id, s));
        }
    }
    let mut out: Vec<(i64, Published)> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for (id, key, watch, alerted, hits, story, article) in alerts {
        if let Some(&k) = at.get(&key) {
            out[k].1.watches.push((watch, hits));
            continue;
        }
        let (list, last) = story
            .and_then(|s| outlets.get(&s))
            .cloned()
            .unwrap_or_default();
        let mut sightings: Vec<Sighting> = list.into_iter().map(|(_, s)| s).collect();
        if sightings.is_empty() {
            // An article stored before stories existed: its own feed is its outlet.
            sightings.push(Sighting {
                feed: article.feed.clone(),
                link: article.link.clone(),
                published: article.published_at,
                seen_at: article.first_seen_at,
            });
        }
        at.insert(key.clone(), out.len());
        out.push((
            id,
            Published {
                story_key: key,
                alerted_at: from_ts(alerted),
                watches: vec![(watch, hits)],
                article,
                outlets: sightings,
                updated: from_ts(alerted.max(last)),
            },
        ));
    }
    out.sort_by_key(|(id, _)| std::cmp::Reverse(*id));
    out.into_iter().map(|(_, p)| p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn setup(s: &Store) {
        let c = &s.conn;
        for (id, name) in [(1, "le-fil"), (2, "la-depeche")] {
            c.execute(
                "INSERT INTO feeds (id, name, config_url, url) VALUES (?1, ?2, 'u', 'u')",
                params![id, name],
            )
            .unwrap();
        }
        c.execute(
            "INSERT INTO stories (id, key, first_seen_at) VALUES (1, 's1', 100), (2, 's2', 100)",
            [],
        )
        .unwrap();
        // Story 1: article 1 in le-fil, its copy 2 in la-depeche later; story 2: article 3.
        for (id, feed, story, seen) in [(1, 1, 1, 100), (2, 2, 1, 500), (3, 1, 2, 200)] {
            c.execute(
                "INSERT INTO articles (id, key, feed_id, title_hash, title, summary, content, content_hash,
                                       first_seen_at, story_id, link)
                 VALUES (?1, ?1, ?2, '', 'titre', '', 'Palmyre', '', ?3, ?4, 'https://ex.org/' || ?1)",
                params![id, feed, seen, story],
            )
            .unwrap();
            c.execute(
                "INSERT INTO article_feeds (article_id, feed_id, seen_at) VALUES (?1, ?2, ?3)",
                params![id, feed, seen],
            )
            .unwrap();
        }
        for (id, watch, article) in [(1, "w", 1), (2, "w", 2), (3, "w", 3), (4, "v", 3)] {
            c.execute(
                "INSERT INTO matches (id, watch, article_id, hits, matched_at) VALUES (?1, ?2, ?3, '[]', 0)",
                params![id, watch, article],
            )
            .unwrap();
        }
    }

    #[test]
    fn one_entry_per_story_updated_by_a_later_outlet_and_a_digest_groups_its_watches() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open_in(dir.path()).unwrap();
        setup(&s);
        let t = |secs| from_ts(secs);
        let tx = s.conn.transaction().unwrap();
        assert!(record(&tx, "w", "s1", Some("d"), 1, t(110)).unwrap());
        // The copy's match finds the story recorded: no second entry.
        assert!(!record(&tx, "w", "s1", Some("d"), 2, t(510)).unwrap());
        assert!(record(&tx, "w", "s2", Some("d"), 3, t(210)).unwrap());
        assert!(record(&tx, "v", "s2", Some("d"), 4, t(220)).unwrap());
        tx.commit().unwrap();

        let w = entries(&s.conn, Which::Watch("w"), 100).unwrap();
        let keys: Vec<&str> = w.iter().map(|p| p.story_key.as_str()).collect();
        assert_eq!(keys, ["s2", "s1"], "newest alert first");
        let s1 = &w[1];
        let feeds: Vec<&str> = s1.outlets.iter().map(|o| o.feed.as_str()).collect();
        assert_eq!(feeds, ["le-fil", "la-depeche"]);
        assert_eq!(s1.outlets[1].link.as_deref(), Some("https://ex.org/2"));
        assert_eq!((s1.alerted_at, s1.updated), (t(110), t(500)));
        assert_eq!(s1.article.id, 1);
        assert_eq!(w[0].updated, t(210));

        let d = entries(&s.conn, Which::Digest("d"), 100).unwrap();
        assert_eq!(d.len(), 2);
        let watches: Vec<&str> = d[0].watches.iter().map(|(w, _)| w.as_str()).collect();
        assert_eq!((d[0].story_key.as_str(), watches), ("s2", vec!["w", "v"]));
        // The limit counts stories, not rows.
        let one = entries(&s.conn, Which::Digest("d"), 1).unwrap();
        assert_eq!((one.len(), one[0].watches.len()), (1, 2));
        assert_eq!(entries(&s.conn, Which::Watch("w"), 1).unwrap().len(), 1);
        assert!(
            entries(&s.conn, Which::Watch("nobody"), 100)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn stores_of_earlier_versions_publish_what_already_alerted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vigie.db");
        {
            let mut c = rusqlite::Connection::open(&path).unwrap();
            let m = rusqlite_migration::Migrations::from_slice(crate::store::MIGRATIONS);
            m.to_version(&mut c, 10).unwrap();
            c.execute_batch(
                "INSERT INTO feeds (id, name, config_url, url) VALUES (1, 'le-fil', 'u', 'u');
                 INSERT INTO stories (id, key, first_seen_at) VALUES (7, 's7', 100);
                 INSERT INTO articles (id, key, feed_id, title_hash, title, summary, content, content_hash,
                                       first_seen_at, story_id)
                 VALUES (1, 'a1', 1, '', 't', '', '', '', 100, 7), (2, 'a2', 1, '', 't', '', '', '', 100, 7);
                 INSERT INTO article_feeds (article_id, feed_id, seen_at) VALUES (1, 1, 100), (2, 1, 100);
                 INSERT INTO matches (id, watch, article_id, hits, matched_at)
                 VALUES (1, 'w', 1, '[]', 100), (2, 'w', 2, '[]', 100), (3, 'd', 1, '[]', 100), (4, 'q', 2, '[]', 100);
                 INSERT INTO deliveries (match_id, kind, digest, recipient, message_id, next_attempt_at, created_at)
                 VALUES (1, 'immediate', NULL, 'a@x', 'm1', 0, 110), (1, 'immediate', NULL, 'b@x', 'm2', 0, 111),
                        (3, 'digest', 'matin', 'c@x', 'm3', 0, 120);",
            )
            .unwrap();
        }
        // Opening the store upgrades it: one row per (watch, story) a delivery was queued for.
        let s = Store::open(&path).unwrap();
        let w = entries(&s.conn, Which::Watch("w"), 100).unwrap();
        assert_eq!(
            (w.len(), w[0].story_key.as_str(), w[0].alerted_at),
            (1, "s7", from_ts(110))
        );
        let d = entries(&s.conn, Which::Digest("matin"), 100).unwrap();
        assert_eq!(d[0].watches[0].0, "d");
        // A match that queued nothing (backfill) never alerted.
        assert!(entries(&s.conn, Which::Watch("q"), 100).unwrap().is_empty());
    }
}
