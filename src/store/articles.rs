//! Store stage, articles: each article stored once, whatever feeds carried it.
//! Invariants: an item is looked up by its identity (key, the feed's own id, canonical
//! link, title hash) before it is inserted; a known article whose text changed is updated
//! in place, keeping when it was first seen — but only by the feed whose version it holds
//! (the one it was first seen in): another feed carrying the same link with its own text
//! is remembered as carrying it, and never flips the article between two versions; every
//! feed that carried it is remembered.

use crate::store::db::{Connection, OptionalExtension, Transaction, params};
use chrono::{DateTime, Utc};

use super::{Result, from_ts, to_ts};
use crate::identify::Identity;
use crate::parse::Item;
use crate::stories::Fingerprint;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Never seen before.
    New,
    /// Known, and its title or text changed since.
    Edited,
    /// Known and unchanged (perhaps newly seen in another feed).
    Unchanged,
}

#[derive(Debug, Clone, Copy)]
pub struct Upsert {
    pub article_id: i64,
    pub seen: Seen,
}

/// A new article's story and fingerprint, decided before its row is inserted so that the
/// row (title, summary and content included) is written once, not rewritten at once.
#[derive(Debug, Default)]
pub struct StoryColumns {
    pub story_id: Option<i64>,
    pub fingerprint: Option<Fingerprint>,
    /// The event terms' stored form (`stories::event::Terms::to_bytes`).
    pub event_terms: Option<Vec<u8>>,
}

/// The feed an item comes from, as the lookups need it.
#[derive(Debug, Clone, Copy)]
pub struct Carrier {
    pub feed_id: i64,
    /// Whether the store may hold articles under this feed's own ids. When it surely
    /// holds none (a feed's first poll, confirmed once per batch), the lookup by the
    /// feed's own id is skipped: one index probe less for each of its new items.
    pub has_own_ids: bool,
}

impl Carrier {
    /// A feed that may have articles stored under its own ids.
    pub fn known(feed_id: i64) -> Carrier {
        Carrier {
            feed_id,
            has_own_ids: true,
        }
    }

    /// The feed `feed_id`; on its first poll the store is asked once whether it holds
    /// anything of it (a poll interrupted after its articles were written does).
    pub fn of(conn: &Connection, feed_id: i64, first_poll: bool) -> Result<Carrier> {
        let has_own_ids = !first_poll
            || conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM article_feeds WHERE feed_id = ?1)",
                [feed_id],
                |r| r.get(0),
            )?;
        Ok(Carrier {
            feed_id,
            has_own_ids,
        })
    }
}

/// An item as it is to be stored.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    pub item: &'a Item,
    pub id: &'a Identity,
    /// The hash of the item as its feed gave it (a changed hash is an edit), which is
    /// not the hash of `item` when its content is its article page's text.
    pub content_hash: &'a str,
    /// How the article's page went (`ok`, or why it could not be had); `None` when no
    /// page was wanted, which leaves a stored outcome as it is.
    pub page: Option<&'a str>,
}

/// Store or refresh one item inside the caller's transaction.
pub fn upsert(
    tx: &Transaction<'_>,
    feed: Carrier,
    new: Incoming<'_>,
    now: DateTime<Utc>,
) -> Result<Upsert> {
    upsert_placed(tx, feed, new, now, |_| Ok(StoryColumns::default()))
}

/// As [`upsert`], asking `story` (only when the item is new) for the story columns the
/// new row is inserted with.
pub fn upsert_placed(
    tx: &Transaction<'_>,
    feed: Carrier,
    new: Incoming<'_>,
    now: DateTime<Utc>,
    story: impl FnOnce(&Transaction<'_>) -> Result<StoryColumns>,
) -> Result<Upsert> {
    let Incoming {
        item,
        id,
        content_hash,
        page,
    } = new;
    let now_ts = to_ts(now);
    let feed_id = feed.feed_id;
    let existing = find(tx, feed, id)?;
    let Some(Found {
        article_id,
        hash: old_hash,
        version_of,
    }) = existing
    else {
        let story = story(tx)?;
        let fp = story.fingerprint.as_ref();
        let article_id = tx.insert(
            "INSERT INTO articles (key, feed_id, guid, link, canonical_link, title_hash, title, summary,
             content, content_hash, published_at, first_seen_at, story_id, text_hash, shingles, signature, page,
             event_terms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
            params![
                id.key,
                feed_id,
                id.guid,
                item.link,
                id.canonical_link,
                id.title_hash,
                item.title,
                item.summary,
                item.content,
                content_hash,
                item.published.map(to_ts),
                now_ts,
                story.story_id,
                fp.map(|f| f.exact as i64),
                fp.map(|f| i64::from(f.shingles)),
                fp.map(|f| f.signature.to_bytes()),
                page,
                story.event_terms
            ],
        )?
        .ok_or(crate::store::db::DbError::NoRows)?;
        seen_in(tx, article_id, feed_id, id.guid.as_deref(), now_ts)?;
        return Ok(Upsert {
            article_id,
            seen: Seen::New,
        });
    };
    seen_in(tx, article_id, feed_id, id.guid.as_deref(), now_ts)?;
    if old_hash == content_hash || version_of != feed_id {
        return Ok(Upsert {
            article_id,
            seen: Seen::Unchanged,
        });
    }
    tx.execute(
        "UPDATE articles SET title = ?2, summary = ?3, content = ?4, content_hash = ?5, link = COALESCE(?6, link),
         canonical_link = COALESCE(?7, canonical_link), updated_at = ?8, page = COALESCE(?9, page) WHERE id = ?1",
        params![
            article_id,
            item.title,
            item.summary,
            item.content,
            content_hash,
            item.link,
            id.canonical_link,
            now_ts,
            page
        ],
    )?;
    Ok(Upsert {
        article_id,
        seen: Seen::Edited,
    })
}

/// A stored article, as an item's lookup finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub article_id: i64,
    /// The hash of the version stored.
    pub hash: String,
    /// The feed whose version it is (the one it was first seen in): only that feed's
    /// edits are taken.
    pub version_of: i64,
}

fn found(r: &crate::store::db::Row) -> crate::store::db::Result<Found> {
    Ok(Found {
        article_id: r.get(0)?,
        hash: r.get(1)?,
        version_of: r.get(2)?,
    })
}

/// The stored article this item is, if any: by key, by this feed's id for it, by
/// canonical link, or (for items with neither id nor link) by title and date.
pub fn find(tx: &Connection, feed: Carrier, id: &Identity) -> Result<Option<Found>> {
    let by_key = tx
        .query_row(
            "SELECT id, content_hash, feed_id FROM articles WHERE key = ?1",
            [&id.key],
            found,
        )
        .optional()?;
    if by_key.is_some() {
        return Ok(by_key);
    }
    if let Some(guid) = id.guid.as_ref().filter(|_| feed.has_own_ids) {
        let found = tx
            .query_row(
                "SELECT a.id, a.content_hash, a.feed_id FROM article_feeds af JOIN articles a ON a.id = af.article_id
                 WHERE af.feed_id = ?1 AND af.guid = ?2",
                params![feed.feed_id, guid],
                found,
            )
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
    }
    if let Some(link) = &id.canonical_link {
        return Ok(tx
            .query_row(
                "SELECT id, content_hash, feed_id FROM articles WHERE canonical_link = ?1 ORDER BY id LIMIT 1",
                [link],
                found,
            )
            .optional()?);
    }
    if id.guid.is_none() {
        return Ok(tx
            .query_row(
                "SELECT id, content_hash, feed_id FROM articles WHERE title_hash = ?1 AND canonical_link IS NULL
                 ORDER BY id LIMIT 1",
                [&id.title_hash],
                found,
            )
            .optional()?);
    }
    Ok(None)
}

/// The article text already read from the pages at these canonical links, by link: a
/// page is fetched once, whichever feed carries its link and however often its teaser
/// is edited.
pub fn stored_pages(
    conn: &Connection,
    links: &[&str],
) -> Result<std::collections::HashMap<String, String>> {
    let mut found = std::collections::HashMap::new();
    let mut stmt = conn.prepare(
        "SELECT content FROM articles WHERE canonical_link = ?1 AND page = 'ok' ORDER BY id LIMIT 1",
    )?;
    for link in links {
        if let Some(text) = stmt
            .query_row([link], |r| r.get::<_, String>(0))
            .optional()?
        {
            found.insert((*link).to_string(), text);
        }
    }
    Ok(found)
}

/// Whether the feed is already known to carry the article under this id of its own
/// (a renewed guid must be remembered, so it is not "known").
pub fn carried_by(
    conn: &Connection,
    article_id: i64,
    feed_id: i64,
    guid: Option<&str>,
) -> Result<bool> {
    let stored: Option<Option<String>> = conn
        .prepare("SELECT guid FROM article_feeds WHERE article_id = ?1 AND feed_id = ?2")?
        .query_row(params![article_id, feed_id], |r| r.get(0))
        .optional()?;
    Ok(match (stored, guid) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(old), Some(new)) => old.as_deref() == Some(new),
    })
}

fn seen_in(
    tx: &Transaction<'_>,
    article_id: i64,
    feed_id: i64,
    guid: Option<&str>,
    now: i64,
) -> Result<()> {
    tx.execute(
        "INSERT INTO article_feeds (article_id, feed_id, guid, seen_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (article_id, feed_id) DO UPDATE SET guid = COALESCE(excluded.guid, article_feeds.guid)",
        params![article_id, feed_id, guid, now],
    )?;
    Ok(())
}

/// A stored article as delivery and commands need it.
#[derive(Debug, Clone)]
pub struct ArticleRow {
    pub id: i64,
    pub key: String,
    pub feed: String,
    pub link: Option<String>,
    pub title: String,
    pub summary: String,
    pub content: String,
    pub published_at: Option<DateTime<Utc>>,
    pub first_seen_at: DateTime<Utc>,
}

/// A stored article with every feed that carried it (for `vigie backtest`).
#[derive(Debug, Clone)]
pub struct Carried {
    pub article_id: i64,
    pub title: String,
    pub summary: String,
    pub content: String,
    pub link: Option<String>,
    /// Published, else first seen.
    pub date: DateTime<Utc>,
    /// Names of the feeds that carried it.
    pub feeds: Vec<String>,
}

/// The articles first seen at or after `since`, newest first, each with its feeds.
pub fn since(conn: &Connection, since: DateTime<Utc>) -> Result<Vec<Carried>> {
    let concat = match conn.dialect() {
        crate::store::db::Dialect::Sqlite => "group_concat(f.name, char(10))",
        crate::store::db::Dialect::Postgres => "string_agg(f.name, chr(10))",
    };
    let sql = format!(
        "SELECT a.id, a.title, a.summary, a.content, a.link, COALESCE(a.published_at, a.first_seen_at),
                (SELECT {concat} FROM article_feeds af JOIN feeds f ON f.id = af.feed_id
                 WHERE af.article_id = a.id)
         FROM articles a WHERE a.first_seen_at >= ?1 ORDER BY 6 DESC, a.id DESC"
    );
    Ok(conn.query_map(&sql, [to_ts(since)], |r| {
        Ok(Carried {
            article_id: r.get(0)?,
            title: r.get(1)?,
            summary: r.get(2)?,
            content: r.get(3)?,
            link: r.get(4)?,
            date: from_ts(r.get(5)?),
            feeds: r
                .get::<_, Option<String>>(6)?
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect(),
        })
    })?)
}

pub fn article(conn: &crate::store::db::Connection, id: i64) -> Result<Option<ArticleRow>> {
    Ok(conn
        .query_row(
            "SELECT a.id, a.key, f.name, a.link, a.title, a.summary, a.content, a.published_at, a.first_seen_at
             FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE a.id = ?1",
            [id],
            |r| {
                Ok(ArticleRow {
                    id: r.get(0)?,
                    key: r.get(1)?,
                    feed: r.get(2)?,
                    link: r.get(3)?,
                    title: r.get(4)?,
                    summary: r.get(5)?,
                    content: r.get(6)?,
                    published_at: r.get::<_, Option<i64>>(7)?.map(super::from_ts),
                    first_seen_at: super::from_ts(r.get(8)?),
                })
            },
        )
        .optional()?)
}
