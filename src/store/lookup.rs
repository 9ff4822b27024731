//! Store stage, a feed's items looked up among the stored articles all at once: one query
//! for a whole batch (each item's key, the feed's own id for it, its canonical link, its
//! title hash; and the stories keyed as its new article would be), where
//! `articles::find` asks once per item and per way — on PostgreSQL, a round trip each.
//!
//! Invariants: for each item the answer is the one `articles::find` (and
//! `articles::carried_by`) would give when the query ran — the same ways in the same
//! order, the oldest article when several share a link or a title; what the caller's
//! transaction writes afterwards is not in it (`store::group` keeps track of that).

use std::collections::HashMap;

use super::Result;
use super::articles::Found;
use crate::identify::Identity;
use crate::store::db::{Connection, Dialect, params};

/// The lookup, rows of (way, the value looked up, article id, its content hash, the feed
/// whose version it is, whether this feed carries it, under which id). `?1` keys, `?2`
/// the feed, `?3` its ids, `?4` canonical links, `?5` title hashes (lists).
///
/// SQLite probes the indexes for each value of a list by itself.
const SQLITE: &str = "
    SELECT 0, a.key, a.id, a.content_hash, a.feed_id,
           CASE WHEN EXISTS (SELECT 1 FROM article_feeds x WHERE x.article_id = a.id AND x.feed_id = ?2) THEN 1 ELSE 0 END,
           (SELECT x.guid FROM article_feeds x WHERE x.article_id = a.id AND x.feed_id = ?2)
    FROM articles a WHERE a.key IN (SELECT value FROM json_each(?1))
    UNION ALL
    SELECT 1, af.guid, a.id, a.content_hash, a.feed_id, 1, af.guid
    FROM article_feeds af JOIN articles a ON a.id = af.article_id
    WHERE af.feed_id = ?2 AND af.guid IN (SELECT value FROM json_each(?3))
    UNION ALL
    SELECT 2, a.canonical_link, a.id, a.content_hash, a.feed_id,
           CASE WHEN EXISTS (SELECT 1 FROM article_feeds x WHERE x.article_id = a.id AND x.feed_id = ?2) THEN 1 ELSE 0 END,
           (SELECT x.guid FROM article_feeds x WHERE x.article_id = a.id AND x.feed_id = ?2)
    FROM articles a WHERE a.canonical_link IN (SELECT value FROM json_each(?4))
    UNION ALL
    SELECT 3, a.title_hash, a.id, a.content_hash, a.feed_id,
           CASE WHEN EXISTS (SELECT 1 FROM article_feeds x WHERE x.article_id = a.id AND x.feed_id = ?2) THEN 1 ELSE 0 END,
           (SELECT x.guid FROM article_feeds x WHERE x.article_id = a.id AND x.feed_id = ?2)
    FROM articles a WHERE a.canonical_link IS NULL AND a.title_hash IN (SELECT value FROM json_each(?5))
    UNION ALL
    SELECT 4, s.key, s.id, '', 0, 0, NULL FROM stories s WHERE s.key IN (SELECT value FROM json_each(?1))";

/// PostgreSQL probes each value on its own (`LATERAL … LIMIT 1`): a plan that scans the
/// table and compares every row with the list would be cached while the table is small (a
/// first poll fills it from nothing) and kept as it grows.
const POSTGRES: &str = "
    SELECT 0, k.v, a.id, a.content_hash, a.feed_id,
           CASE WHEN EXISTS (SELECT 1 FROM article_feeds x WHERE x.article_id = a.id AND x.feed_id = ?2) THEN 1 ELSE 0 END,
           (SELECT x.guid FROM article_feeds x WHERE x.article_id = a.id AND x.feed_id = ?2)
    FROM unnest(?1::text[]) AS k(v),
         LATERAL (SELECT id, content_hash, feed_id FROM articles WHERE key = k.v LIMIT 1) a
    UNION ALL
    SELECT 1, k.v, a.id, a.content_hash, a.feed_id, 1, k.v
    FROM unnest(?3::text[]) AS k(v),
         LATERAL (SELECT b.id, b.content_hash, b.feed_id FROM article_feeds af
                  JOIN articles b ON b.id = af.article_id
                  WHERE af.feed_id = ?2 AND af.guid = k.v ORDER BY b.id LIMIT 1) a
    UNION ALL
    SELECT 2, k.v, a.id, a.content_hash, a.feed_id,
           CASE WHEN EXISTS (SELECT 1 FROM article_feeds x WHERE x.article_id = a.id AND x.feed_id = ?2) THEN 1 ELSE 0 END,
           (SELECT x.guid FROM article_feeds x WHERE x.article_id = a.id AND x.feed_id = ?2)
    FROM unnest(?4::text[]) AS k(v),
         LATERAL (SELECT id, content_hash, feed_id FROM articles WHERE canonical_link = k.v
                  ORDER BY id LIMIT 1) a
    UNION ALL
    SELECT 3, k.v, a.id, a.content_hash, a.feed_id,
           CASE WHEN EXISTS (SELECT 1 FROM article_feeds x WHERE x.article_id = a.id AND x.feed_id = ?2) THEN 1 ELSE 0 END,
           (SELECT x.guid FROM article_feeds x WHERE x.article_id = a.id AND x.feed_id = ?2)
    FROM unnest(?5::text[]) AS k(v),
         LATERAL (SELECT id, content_hash, feed_id FROM articles
                  WHERE canonical_link IS NULL AND title_hash = k.v ORDER BY id LIMIT 1) a
    UNION ALL
    SELECT 4, k.v, s.id, '', 0, 0, NULL
    FROM unnest(?1::text[]) AS k(v), LATERAL (SELECT id FROM stories WHERE key = k.v LIMIT 1) s";

/// What the store held for a feed's items.
#[derive(Debug, Default)]
pub struct Lookup {
    feed_id: i64,
    by_key: HashMap<String, Found>,
    /// By this feed's own id for the article.
    by_guid: HashMap<String, Found>,
    by_link: HashMap<String, Found>,
    /// Articles with neither canonical link nor a key of the feed's: by title and date.
    by_title: HashMap<String, Found>,
    /// Stories by key: a new article's key already taken by a story is that story (its
    /// article pruned, then seen again).
    stories: HashMap<String, i64>,
    /// For each article found: carried by this feed (under this id of the feed's own), or
    /// absent when the feed is not known to carry it.
    carried: HashMap<i64, Option<String>>,
}

impl Lookup {
    /// Look up every item of `ids`, all from the feed `feed_id`, in one query.
    pub fn run(conn: &Connection, feed_id: i64, ids: &[&Identity]) -> Result<Lookup> {
        let mut out = Lookup {
            feed_id,
            ..Lookup::default()
        };
        if ids.is_empty() {
            return Ok(out);
        }
        let keys: Vec<&str> = ids.iter().map(|i| i.key.as_str()).collect();
        let guids: Vec<&str> = ids.iter().filter_map(|i| i.guid.as_deref()).collect();
        let links: Vec<&str> = ids
            .iter()
            .filter_map(|i| i.canonical_link.as_deref())
            .collect();
        let titles: Vec<&str> = ids
            .iter()
            .filter(|i| i.guid.is_none() && i.canonical_link.is_none())
            .map(|i| i.title_hash.as_str())
            .collect();
        let sql = match conn.dialect() {
            Dialect::Sqlite => SQLITE,
            Dialect::Postgres => POSTGRES,
        };
        let rows = conn.query_map(sql, params![keys, feed_id, guids, links, titles], |r| {
            let found = Found {
                article_id: r.get(2)?,
                hash: r.get(3)?,
                version_of: r.get(4)?,
            };
            let carried = r.get::<_, bool>(5)?.then(|| r.get(6)).transpose()?;
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, found, carried))
        })?;
        for (kind, value, found, carried) in rows {
            let map = match kind {
                0 => &mut out.by_key,
                1 => &mut out.by_guid,
                2 => &mut out.by_link,
                3 => &mut out.by_title,
                _ => {
                    out.stories.insert(value, found.article_id);
                    continue;
                }
            };
            if let Some(c) = carried {
                out.carried.insert(found.article_id, c);
            }
            // The oldest of several (`ORDER BY id LIMIT 1`).
            match map.get(&value) {
                Some(f) if f.article_id <= found.article_id => {}
                _ => {
                    map.insert(value, found);
                }
            }
        }
        Ok(out)
    }

    /// The stored article this item is, as `articles::find` answers: by key, by the
    /// feed's own id, by canonical link, or (with neither id nor link) by title and date.
    pub fn find(&self, id: &Identity) -> Option<&Found> {
        if let Some(f) = self.by_key.get(&id.key) {
            return Some(f);
        }
        if let Some(f) = id.guid.as_ref().and_then(|g| self.by_guid.get(g)) {
            return Some(f);
        }
        if let Some(link) = &id.canonical_link {
            return self.by_link.get(link);
        }
        if id.guid.is_none() {
            return self.by_title.get(&id.title_hash);
        }
        None
    }

    /// The article stored under this key.
    pub fn find_by_key(&self, key: &str) -> Option<&Found> {
        self.by_key.get(key)
    }

    /// The (oldest) article the feed carries under this id of its own.
    pub fn find_by_guid(&self, guid: &str) -> Option<&Found> {
        self.by_guid.get(guid)
    }

    /// The oldest article with this canonical link.
    pub fn find_by_link(&self, link: &str) -> Option<&Found> {
        self.by_link.get(link)
    }

    /// The oldest article without a canonical link with this title and date.
    pub fn find_by_title(&self, title_hash: &str) -> Option<&Found> {
        self.by_title.get(title_hash)
    }

    /// The story keyed `key`, if one is stored.
    pub fn story(&self, key: &str) -> Option<i64> {
        self.stories.get(key).copied()
    }

    /// Whether this feed is already known to carry the article under this id of its own
    /// (as `articles::carried_by` answers).
    pub fn carried_by(&self, article_id: i64, guid: Option<&str>) -> bool {
        match (self.carried.get(&article_id), guid) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(old), Some(new)) => old.as_deref() == Some(new),
        }
    }

    /// The feed the items came from.
    pub fn feed_id(&self) -> i64 {
        self.feed_id
    }
}
