//! Store stage, stories: which story each article belongs to, and the in-memory index of
//! recent fingerprints that decides it. Invariants: an article's story and fingerprint
//! are written in the article's transaction, and the index learns of them only after
//! that transaction committed (a rolled-back article never becomes a story others join);
//! the index holds the articles first seen within the window — loaded from the database
//! on first use and topped up with what other processes (`vigie poll` beside the daemon)
//! stored since — so the database, not memory, is the truth; a story's key is the key of
//! its first article, so a story of one article has the Message-IDs an article had.

use std::time::Duration;

use crate::store::db::{Connection, OptionalExtension, Transaction, params};
use chrono::{DateTime, Utc};

use super::{Result, from_ts, to_ts};
use crate::stories::event::{Member, Terms, Window};
use crate::stories::{Entry, Fingerprint, Found, Index, Placement, Signature};

/// A story as alerts name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryRef {
    pub id: i64,
    /// What Message-IDs derive from: one alert per (watch, story, recipient).
    pub key: String,
}

/// The index of the window, kept in step with the database.
#[derive(Default)]
pub struct Cache {
    index: Index,
    /// The window's articles by event (their terms).
    events: Window,
    /// The window the index was loaded for; `None` until first use.
    window: Option<Duration>,
    /// Articles with a higher id may not be in the index yet.
    loaded_upto: i64,
    /// The lowest and highest ids of the new articles this process wrote (and the index
    /// learnt) in the transaction under way.
    written: Option<(i64, i64)>,
}

/// An article's columns that the index and the window learn.
struct Row {
    article_id: i64,
    story_id: i64,
    seen: i64,
    exact: Option<i64>,
    shingles: Option<i64>,
    signature: Option<Vec<u8>>,
    published: Option<i64>,
    feed_id: i64,
    terms: Option<Vec<u8>>,
}

fn window_start(now: DateTime<Utc>, window: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(window)
        .ok()
        .and_then(|w| now.checked_sub_signed(w))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

impl Cache {
    /// Make the index current for `window` at `now`: the first call (or a new window)
    /// loads the window's fingerprints; later calls drop what left the window and add
    /// what other processes stored since the last call.
    pub fn refresh(
        &mut self,
        conn: &Connection,
        window: Duration,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if self.window != Some(window) {
            *self = Cache {
                window: Some(window),
                ..Cache::default()
            };
        }
        let since = window_start(now, window);
        self.index.evict(since);
        self.events.evict(since.timestamp());
        // Read up to the newest committed article, fingerprinted or not, so that each
        // article is looked at once (an insert still uncommitted elsewhere gets a higher
        // id than this, and is read next time).
        let upto: i64 = conn.query_row("SELECT COALESCE(MAX(id), 0) FROM articles", [], |r| {
            r.get(0)
        })?;
        let mut stmt = conn.prepare(
            "SELECT id, story_id, first_seen_at, text_hash, shingles, signature, published_at,
                    feed_id, event_terms FROM articles
             WHERE id > ?1 AND id <= ?2 AND first_seen_at >= ?3
               AND story_id IS NOT NULL AND (signature IS NOT NULL OR event_terms IS NOT NULL)
             ORDER BY id",
        )?;
        let rows = stmt.query_map(params![self.loaded_upto, upto, to_ts(since)], |r| {
            Ok(Row {
                article_id: r.get(0)?,
                story_id: r.get(1)?,
                seen: r.get(2)?,
                exact: r.get(3)?,
                shingles: r.get(4)?,
                signature: r.get(5)?,
                published: r.get(6)?,
                feed_id: r.get(7)?,
                terms: r.get(8)?,
            })
        })?;
        for row in rows {
            self.learn_row(row?);
        }
        self.loaded_upto = upto;
        Ok(())
    }

    /// An article read back from the database: its fingerprint to the index, its terms to
    /// the window. A damaged signature or terms (not what vigie writes) only cost that article.
    fn learn_row(&mut self, row: Row) {
        let seen_at = from_ts(row.seen);
        if !self.index.contains(row.article_id)
            && let (Some(exact), Some(shingles), Some(sig)) =
                (row.exact, row.shingles, row.signature)
            && let Some(signature) = Signature::from_bytes(&sig)
        {
            self.index.insert(Entry {
                article_id: row.article_id,
                story_id: row.story_id,
                seen_at,
                fingerprint: Fingerprint {
                    exact: exact as u64,
                    shingles: u32::try_from(shingles).unwrap_or(0),
                    signature,
                },
            });
        }
        if !self.events.contains(row.article_id)
            && let Some(terms) = row.terms.as_deref().and_then(Terms::from_bytes)
        {
            self.events.insert(Member {
                article_id: row.article_id,
                story_id: row.story_id,
                seen: row.seen,
                at: crate::stories::event_time(row.published.map(from_ts), seen_at),
                outlet: row.feed_id,
                terms,
            });
        }
    }

    pub fn index(&self) -> &Index {
        &self.index
    }

    pub fn events(&self) -> &Window {
        &self.events
    }

    /// Record an article's terms once its transaction committed (or is about to).
    pub fn insert_event(&mut self, m: Member) {
        self.events.insert(m);
    }

    /// Count an article not filed yet in the window's document frequencies
    /// ([`Window::ahead`]).
    pub fn count_ahead(&mut self, terms: &Terms, back: bool) {
        self.events.ahead(terms, back);
    }

    /// Where the window starts for the last `refresh`.
    pub fn since(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        window_start(now, self.window.unwrap_or(Duration::ZERO))
    }

    /// Forget everything: the next `refresh` reloads the window from the database
    /// (after a rolled-back transaction whose articles the index had already learnt).
    pub fn invalidate(&mut self) {
        *self = Cache::default();
    }

    /// Record an entry whose article's transaction committed (or is about to).
    pub fn insert(&mut self, e: Entry) {
        self.index.insert(e);
    }

    /// A new article was written in the transaction under way, and the index learnt it
    /// (if it has a fingerprint: without one, `refresh` would not read it either).
    pub fn wrote_new(&mut self, article_id: i64) {
        self.written = Some(match self.written {
            Some((lo, hi)) => (lo.min(article_id), hi.max(article_id)),
            None => (article_id, article_id),
        });
    }

    /// The transaction committed. If its new articles directly follow those already
    /// loaded (nobody else wrote in between: a new row gets the next id), the next
    /// `refresh` need not read them back — a thousand rows, signatures included, per
    /// group of a first poll.
    pub fn committed(&mut self) {
        if let Some((lo, hi)) = self.written.take()
            && lo == self.loaded_upto + 1
        {
            self.loaded_upto = hi;
        }
    }
}

/// Put a new article in the story `placement` found for it, or in a story of its own,
/// and store its fingerprint. Returns its story and the entry the index is to learn
/// once the transaction commits (none for a text too short to compare).
pub fn assign(
    tx: &Transaction<'_>,
    article_id: i64,
    article_key: &str,
    placement: Placement,
    terms: &Terms,
    now: DateTime<Utc>,
) -> Result<(StoryRef, Option<Entry>)> {
    let story = story_for(tx, article_key, placement.found, now)?;
    let entry = placement.fingerprint.map(|fp| Entry {
        article_id,
        story_id: story.id,
        seen_at: now,
        fingerprint: fp,
    });
    // One rewrite of the article's row for its story, fingerprint and terms together.
    let fp = entry.as_ref().map(|e| &e.fingerprint);
    tx.execute(
        "UPDATE articles SET story_id = ?2, text_hash = ?3, shingles = ?4, signature = ?5,
         event_terms = ?6 WHERE id = ?1",
        params![
            article_id,
            story.id,
            fp.map(|f| f.exact as i64),
            fp.map(|f| i64::from(f.shingles)),
            fp.map(|f| f.signature.to_bytes()),
            terms.to_bytes()
        ],
    )?;
    Ok((story, entry))
}

/// The story a new article joins (`found`) or starts (keyed by `article_key`); callers
/// that know it before inserting the article write it with the row (see
/// `articles::upsert_placed`).
pub fn story_for(
    tx: &Transaction<'_>,
    article_key: &str,
    found: Option<Found>,
    now: DateTime<Utc>,
) -> Result<StoryRef> {
    let joined = match found {
        // The story may have gone meanwhile (retention), then the article starts anew.
        Some(f) => tx
            .query_row("SELECT key FROM stories WHERE id = ?1", [f.story_id], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .map(|key| StoryRef {
                id: f.story_id,
                key,
            }),
        None => None,
    };
    let story = match joined {
        Some(s) => s,
        None => {
            // A key already taken is this very article's old story (pruned, seen again).
            let inserted = tx.insert(
                "INSERT INTO stories (key, first_seen_at) VALUES (?1, ?2)
                 ON CONFLICT (key) DO NOTHING",
                params![article_key, to_ts(now)],
            )?;
            let id = match inserted {
                Some(id) => id,
                None => tx.query_row(
                    "SELECT id FROM stories WHERE key = ?1",
                    [article_key],
                    |r| r.get(0),
                )?,
            };
            StoryRef {
                id,
                key: article_key.to_string(),
            }
        }
    };
    Ok(story)
}

/// An edited article keeps its story; its fingerprint and terms follow its new text, so
/// that later copies and reports of the new version find it. Returns its story and its new
/// entry.
pub fn refingerprint(
    tx: &Transaction<'_>,
    article_id: i64,
    fingerprint: Option<Fingerprint>,
    terms: &Terms,
) -> Result<(StoryRef, Option<Entry>)> {
    store_fingerprint(tx, article_id, fingerprint.as_ref(), terms)?;
    let (story_id, key, first_seen): (Option<i64>, String, i64) = tx.query_row(
        "SELECT a.story_id, COALESCE(s.key, a.key), a.first_seen_at
         FROM articles a LEFT JOIN stories s ON s.id = a.story_id WHERE a.id = ?1",
        [article_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let Some(story_id) = story_id else {
        // Stored before stories existed and never migrated: a story of its own, unindexed.
        return Ok((StoryRef { id: 0, key }, None));
    };
    let entry = fingerprint.map(|fp| Entry {
        article_id,
        story_id,
        seen_at: from_ts(first_seen),
        fingerprint: fp,
    });
    Ok((StoryRef { id: story_id, key }, entry))
}

fn store_fingerprint(
    tx: &Transaction<'_>,
    article_id: i64,
    fp: Option<&Fingerprint>,
    terms: &Terms,
) -> Result<()> {
    tx.execute(
        "UPDATE articles SET text_hash = ?2, shingles = ?3, signature = ?4, event_terms = ?5
         WHERE id = ?1",
        params![
            article_id,
            fp.map(|f| f.exact as i64),
            fp.map(|f| i64::from(f.shingles)),
            fp.map(|f| f.signature.to_bytes()),
            terms.to_bytes()
        ],
    )?;
    Ok(())
}

/// The story key of an article (its own key when it has no story).
pub fn story_key(conn: &Connection, article_id: i64) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT COALESCE(s.key, a.key) FROM articles a LEFT JOIN stories s ON s.id = a.story_id
             WHERE a.id = ?1",
            [article_id],
            |r| r.get(0),
        )
        .optional()?)
}

/// The column that orders sightings of one second by when they were written: SQLite's
/// `rowid`, PostgreSQL's `seq` (a table without a rowid there).
fn sighting_order(conn: &Connection) -> &'static str {
    match conn.dialect() {
        crate::store::db::Dialect::Sqlite => "af.rowid",
        crate::store::db::Dialect::Postgres => "af.seq",
    }
}

/// Every outlet (feed name) that carried any article of this article's story, in the
/// order they first carried it.
pub fn outlets(conn: &Connection, article_id: i64) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT f.name FROM articles a
         JOIN article_feeds af ON af.article_id = a.id JOIN feeds f ON f.id = af.feed_id
         WHERE a.id = ?1 OR a.story_id = (SELECT story_id FROM articles WHERE id = ?1)
         GROUP BY f.id ORDER BY MIN(af.seen_at), MIN({})",
        sighting_order(conn)
    ))?;
    Ok(stmt
        .query_map([article_id], |r| r.get(0))?
        .collect::<crate::store::db::Result<_>>()?)
}

/// One outlet that carried a story: its feed, its own link to the story and its time.
#[derive(Debug, Clone, PartialEq)]
pub struct OutletLink {
    pub feed: String,
    pub link: Option<String>,
    pub published: Option<DateTime<Utc>>,
}

/// Every outlet that carried this article's story, with its link and time, first seen first
/// (what a webhook tells about an alert).
pub fn outlet_links(conn: &Connection, article_id: i64) -> Result<Vec<OutletLink>> {
    // Every sighting, first seen first; each feed's first one is kept (its own link and time).
    let mut stmt = conn.prepare(&format!(
        "SELECT f.id, f.name, a.link, a.published_at FROM articles a
         JOIN article_feeds af ON af.article_id = a.id JOIN feeds f ON f.id = af.feed_id
         WHERE a.id = ?1 OR a.story_id = (SELECT story_id FROM articles WHERE id = ?1)
         ORDER BY af.seen_at, {}",
        sighting_order(conn)
    ))?;
    let rows = stmt.query_map([article_id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            OutletLink {
                feed: r.get(1)?,
                link: r.get(2)?,
                published: r.get::<_, Option<i64>>(3)?.map(from_ts),
            },
        ))
    })?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for row in rows {
        let (feed, outlet) = row?;
        if seen.insert(feed) {
            out.push(outlet);
        }
    }
    Ok(out)
}

/// The articles of this article's story, oldest first (for commands and tests).
pub fn members(conn: &Connection, article_id: i64) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare(
        "SELECT a.id FROM articles a
         WHERE a.id = ?1 OR a.story_id = (SELECT story_id FROM articles WHERE id = ?1)
         ORDER BY a.first_seen_at, a.id",
    )?;
    Ok(stmt
        .query_map([article_id], |r| r.get(0))?
        .collect::<crate::store::db::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_articles_right_after_those_loaded_are_taken_as_read() {
        let mut c = Cache {
            loaded_upto: 5,
            ..Cache::default()
        };
        // Another process wrote article 6 between the last refresh and this transaction:
        // 7 and 8 must not hide it from the next refresh.
        c.wrote_new(8);
        c.wrote_new(7);
        c.committed();
        assert_eq!(c.loaded_upto, 5);
        c.committed();
        assert_eq!(c.loaded_upto, 5);
        // Right after: read already.
        c.wrote_new(6);
        c.wrote_new(7);
        c.committed();
        assert_eq!(c.loaded_upto, 7);
    }

    #[test]
    fn a_story_key_already_taken_is_that_story_and_a_gone_story_starts_anew() {
        let dir = tempfile::tempdir().unwrap();
        let s = crate::store::Store::open_in(dir.path()).unwrap();
        let now = chrono::Utc::now();
        let tx = s.conn.transaction().unwrap();
        let first = story_for(&tx, "id:aaa", None, now).unwrap();
        let other = story_for(&tx, "id:bbb", None, now).unwrap();
        assert_ne!(first.id, other.id);
        // The same key again (an article pruned, then seen again): its old story.
        let again = story_for(&tx, "id:aaa", None, now).unwrap();
        assert_eq!((again.id, again.key.as_str()), (first.id, "id:aaa"));
        // Joining a story that is gone: the article starts its own.
        let gone = Found {
            story_id: other.id + 100,
            article_id: 1,
            similarity: 0.9,
        };
        let fresh = story_for(&tx, "id:ccc", Some(gone), now).unwrap();
        assert!(fresh.id != first.id && fresh.id != other.id && fresh.id != gone.story_id);
        assert_eq!(fresh.key, "id:ccc");
        // Joining one that is there: its id and its key.
        let joined = Found {
            story_id: other.id,
            ..gone
        };
        let j = story_for(&tx, "id:ddd", Some(joined), now).unwrap();
        assert_eq!((j.id, j.key.as_str()), (other.id, "id:bbb"));
    }
}
