//! Store stage, the new rows of one ingest transaction, written together: stories,
//! articles, the feeds that carried them and their matches are gathered while the
//! transaction decides them, then written a few hundred rows a statement ([`Group::flush`])
//! — on PostgreSQL a round trip per statement, not several per article. Their ids are
//! reserved as they are decided (PostgreSQL: from the tables' sequences, a batch's worth
//! in one query; SQLite: counted on from the largest id, the transaction being the only
//! writer), so that stories, the story index and matches can name them at once.
//!
//! Invariants: everything gathered is written in the caller's transaction, before it
//! commits; any other statement on the transaction goes through [`Group::direct`], which
//! writes what is gathered first, so that no statement ever misses a row decided before
//! it. Lookups made before rows were written ([`Lookup`]) are corrected by what the
//! transaction wrote since ([`Group::resolve`]): an article it added is found as
//! `articles::find` would find it, and an item touching anything else it wrote (an edit,
//! a feed's own id given to a stored article) is [`Resolved::Unsure`], to be looked up
//! again in the database.

use std::collections::{HashMap, HashSet};

use super::Result;
use super::articles::Found;
use super::lookup::Lookup;
use crate::identify::Identity;
use crate::parse::Item;
use crate::store::db::{Connection, Dialect, Param, Transaction, many};

/// What a lookup made earlier in the transaction says of an item now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// The article it is (or none: new), as `articles::find` would answer now.
    Sure(Option<Found>),
    /// The transaction wrote something the lookup cannot account for: ask the database.
    Unsure,
}

/// The tables whose ids are reserved.
#[derive(Debug, Clone, Copy)]
pub enum Table {
    Articles = 0,
    Stories = 1,
    Matches = 2,
}

const TABLES: [&str; 3] = ["articles", "stories", "matches"];

/// A new article's row, borrowed from the batch it comes from.
pub struct NewArticle<'b> {
    pub id: i64,
    pub feed_id: i64,
    pub item: &'b Item,
    pub ident: &'b Identity,
    pub content_hash: &'b str,
    pub page: Option<&'b str>,
    pub story_id: i64,
    /// The story fingerprint's columns (none for a text too short to compare).
    pub exact: Option<i64>,
    pub shingles: Option<i64>,
    pub signature: Option<Vec<u8>>,
    /// The event terms' stored form.
    pub event_terms: Vec<u8>,
    pub seen_at: i64,
}

/// A new article's match (the article is new: the match is too).
pub struct NewMatch<'b> {
    pub id: i64,
    pub watch: &'b str,
    pub article_id: i64,
    pub hits: &'b str,
    pub hit_count: usize,
    pub at: i64,
}

/// What the transaction wrote that lookups made before it cannot see.
#[derive(Default)]
struct Written {
    /// Articles it added, found as `articles::find` finds them.
    by_key: HashMap<String, Found>,
    by_guid: HashMap<(i64, String), Found>,
    by_link: HashMap<String, Found>,
    by_title: HashMap<String, Found>,
    /// Stories it added: id → key.
    stories: HashMap<i64, String>,
    /// Anything else: an item naming one of these is looked up again.
    keys: HashSet<String>,
    guids: HashSet<(i64, String)>,
    links: HashSet<String>,
    titles: HashSet<String>,
    articles: HashSet<i64>,
    /// (feed, article): the feed was recorded as carrying the article, perhaps under a
    /// new id of its own.
    sightings: HashSet<(i64, i64)>,
}

/// The rows of one transaction, gathered until [`Group::flush`].
#[derive(Default)]
pub struct Group<'b> {
    stories: Vec<(i64, String, i64)>,
    articles: Vec<NewArticle<'b>>,
    /// (article, feed, the feed's id for it, seen at), one per (article, feed).
    sightings: Vec<(i64, i64, Option<&'b str>, i64)>,
    sighting_at: HashMap<(i64, i64), usize>,
    matches: Vec<NewMatch<'b>>,
    /// Ids reserved and not yet used (PostgreSQL), per table.
    reserved: [Vec<i64>; 3],
    /// The next id of each table (SQLite), `None` until read (again).
    next: [Option<i64>; 3],
    written: Written,
}

impl<'b> Group<'b> {
    /// Have ids ready for this many new rows of each table (one query on PostgreSQL, for
    /// what those still reserved do not cover; nothing to do on SQLite, where ids are
    /// counted on). Ids reserved and never used are gaps, as a rolled-back insert leaves.
    pub fn reserve(&mut self, conn: &Connection, counts: [usize; 3]) -> Result<()> {
        let mut counts = counts;
        for (n, pool) in counts.iter_mut().zip(&self.reserved) {
            *n = n.saturating_sub(pool.len());
        }
        if conn.dialect() == Dialect::Sqlite || counts.iter().all(|&n| n == 0) {
            return Ok(());
        }
        let sql = (0..3)
            .map(|t| {
                format!(
                    "SELECT {t}, nextval(pg_get_serial_sequence('{}', 'id')) FROM generate_series(1, ?{})",
                    TABLES[t],
                    t + 1
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let counts = counts.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        let ids = conn.query_map(&sql, counts, |r| Ok((r.get::<_, usize>(0)?, r.get(1)?)))?;
        for (t, id) in ids {
            if let Some(pool) = self.reserved.get_mut(t) {
                pool.push(id);
            }
        }
        for pool in &mut self.reserved {
            // Taken from the end: the smallest first.
            pool.sort_unstable_by(|a, b| b.cmp(a));
        }
        Ok(())
    }

    /// The id of a new row of `table`.
    pub fn next_id(&mut self, conn: &Connection, table: Table) -> Result<i64> {
        let t = table as usize;
        if conn.dialect() == Dialect::Postgres {
            if self.reserved[t].is_empty() {
                let mut counts = [0; 3];
                counts[t] = 1;
                self.reserve(conn, counts)?;
            }
            return self.reserved[t]
                .pop()
                .ok_or(crate::store::db::DbError::NoRows.into());
        }
        let next = match self.next[t] {
            Some(n) => n,
            None => conn.query_row(
                &format!("SELECT COALESCE(MAX(id), 0) + 1 FROM {}", TABLES[t]),
                [],
                |r| r.get(0),
            )?,
        };
        self.next[t] = Some(next + 1);
        Ok(next)
    }

    /// What `articles::find` answers now for `id`, from `lookup` (made earlier in this
    /// transaction) and what the transaction wrote since.
    pub fn resolve(&self, lookup: &Lookup, id: &Identity) -> Resolved {
        let w = &self.written;
        let feed = lookup.feed_id();
        let guid = id.guid.as_ref().map(|g| (feed, g.clone()));
        if w.keys.contains(&id.key)
            || guid.as_ref().is_some_and(|g| w.guids.contains(g))
            || id
                .canonical_link
                .as_ref()
                .is_some_and(|l| w.links.contains(l))
            || (id.guid.is_none()
                && id.canonical_link.is_none()
                && w.titles.contains(&id.title_hash))
        {
            return Resolved::Unsure;
        }
        // `articles::find`'s ways in its order; an article of the database's is older
        // than any this transaction added.
        let found = if let Some(f) = lookup.find_by_key(&id.key).or(w.by_key.get(&id.key)) {
            Some(f)
        } else if let Some(f) = guid
            .as_ref()
            .and_then(|g| lookup.find_by_guid(&g.1).or_else(|| w.by_guid.get(g)))
        {
            Some(f)
        } else if let Some(link) = &id.canonical_link {
            lookup.find_by_link(link).or(w.by_link.get(link))
        } else if id.guid.is_none() {
            lookup
                .find_by_title(&id.title_hash)
                .or(w.by_title.get(&id.title_hash))
        } else {
            None
        };
        match found {
            Some(f)
                if w.articles.contains(&f.article_id)
                    || w.sightings.contains(&(feed, f.article_id)) =>
            {
                Resolved::Unsure
            }
            f => Resolved::Sure(f.cloned()),
        }
    }

    /// A new story (its key is that of its first article).
    pub fn add_story(&mut self, conn: &Connection, key: &str, now: i64) -> Result<i64> {
        let id = self.next_id(conn, Table::Stories)?;
        self.stories.push((id, key.to_string(), now));
        self.written.stories.insert(id, key.to_string());
        Ok(id)
    }

    /// The key of the story `id`: one this transaction added, or the database's (`None`
    /// when it is gone).
    pub fn story_key(&self, conn: &Connection, id: i64) -> Result<Option<String>> {
        if let Some(key) = self.written.stories.get(&id) {
            return Ok(Some(key.clone()));
        }
        use crate::store::db::OptionalExtension;
        Ok(conn
            .query_row("SELECT key FROM stories WHERE id = ?1", [id], |r| r.get(0))
            .optional()?)
    }

    /// A new article, carried by its feed (`a.feed_id`).
    pub fn add_article(&mut self, a: NewArticle<'b>) {
        let found = Found {
            article_id: a.id,
            hash: a.content_hash.to_string(),
            version_of: a.feed_id,
        };
        let w = &mut self.written;
        w.by_key.insert(a.ident.key.clone(), found.clone());
        if let Some(g) = &a.ident.guid {
            w.by_guid.insert((a.feed_id, g.clone()), found.clone());
        }
        match &a.ident.canonical_link {
            Some(l) => {
                w.by_link.entry(l.clone()).or_insert(found);
            }
            None => {
                w.by_title
                    .entry(a.ident.title_hash.clone())
                    .or_insert(found);
            }
        }
        let (article, feed, guid, at) = (a.id, a.feed_id, a.ident.guid.as_deref(), a.seen_at);
        self.articles.push(a);
        self.sightings.push((article, feed, guid, at));
        self.sighting_at
            .insert((article, feed), self.sightings.len() - 1);
    }

    /// A stored article seen (again) in the feed `feed`, under this id of the feed's own.
    pub fn add_sighting(&mut self, article: i64, feed: i64, guid: Option<&'b str>, at: i64) {
        self.written.sightings.insert((feed, article));
        if let Some(g) = guid {
            self.written.guids.insert((feed, g.to_string()));
        }
        match self.sighting_at.get(&(article, feed)) {
            // Once per statement: the id given last wins, as one upsert after the other.
            Some(&i) => {
                if let Some(s) = self.sightings.get_mut(i) {
                    s.2 = guid.or(s.2);
                }
            }
            None => {
                self.sightings.push((article, feed, guid, at));
                self.sighting_at
                    .insert((article, feed), self.sightings.len() - 1);
            }
        }
    }

    /// A match of a new article.
    pub fn add_match(&mut self, m: NewMatch<'b>) {
        self.matches.push(m);
    }

    /// The item `id` of the feed `feed` was written by other means (an edit, or a store
    /// the old way): lookups that name anything of it ask the database again.
    pub fn touched(&mut self, feed: i64, id: &Identity, article: Option<i64>) {
        let w = &mut self.written;
        w.keys.insert(id.key.clone());
        if let Some(g) = &id.guid {
            w.guids.insert((feed, g.clone()));
        }
        if let Some(l) = &id.canonical_link {
            w.links.insert(l.clone());
        }
        w.titles.insert(id.title_hash.clone());
        if let Some(a) = article {
            w.articles.insert(a);
            w.sightings.insert((feed, a));
        }
    }

    /// The transaction, every row gathered so far written first: for any other
    /// statement. Ids are counted again after it (it may insert rows of its own).
    pub fn direct<'t, 'c>(&mut self, tx: &'t Transaction<'c>) -> Result<&'t Transaction<'c>> {
        self.flush(tx)?;
        self.next = [None; 3];
        Ok(tx)
    }

    /// Write every row gathered, parents first.
    pub fn flush(&mut self, conn: &Connection) -> Result<()> {
        let mut p: Vec<Param<'_>> = Vec::new();
        for (id, key, at) in &self.stories {
            p.extend([Param::Int(*id), Param::Text(key), Param::Int(*at)]);
        }
        many::insert(
            conn,
            "INSERT INTO stories (id, key, first_seen_at)",
            "",
            3,
            &p,
        )?;
        p.clear();
        let text = |t: Option<&'b str>| t.map_or(Param::Null, Param::Text);
        let int = |i: Option<i64>| i.map_or(Param::Null, Param::Int);
        for a in &self.articles {
            let (item, id) = (a.item, a.ident);
            p.extend([
                Param::Int(a.id),
                Param::Text(&id.key),
                Param::Int(a.feed_id),
                text(id.guid.as_deref()),
                text(item.link.as_deref()),
                text(id.canonical_link.as_deref()),
                Param::Text(&id.title_hash),
                Param::Text(&item.title),
                Param::Text(&item.summary),
                Param::Text(&item.content),
                Param::Text(a.content_hash),
                int(item.published.map(super::to_ts)),
                Param::Int(a.seen_at),
                Param::Int(a.story_id),
                int(a.exact),
                int(a.shingles),
                a.signature.as_deref().map_or(Param::Null, Param::Blob),
                text(a.page),
                Param::Blob(&a.event_terms),
            ]);
        }
        many::insert(
            conn,
            "INSERT INTO articles (id, key, feed_id, guid, link, canonical_link, title_hash, title,
             summary, content, content_hash, published_at, first_seen_at, story_id, text_hash,
             shingles, signature, page, event_terms)",
            "",
            19,
            &p,
        )?;
        p.clear();
        for (article, feed, guid, at) in &self.sightings {
            p.extend([
                Param::Int(*article),
                Param::Int(*feed),
                text(*guid),
                Param::Int(*at),
            ]);
        }
        many::insert(
            conn,
            "INSERT INTO article_feeds (article_id, feed_id, guid, seen_at)",
            "ON CONFLICT (article_id, feed_id) DO UPDATE SET guid = COALESCE(excluded.guid, article_feeds.guid)",
            4,
            &p,
        )?;
        p.clear();
        for m in &self.matches {
            p.extend([
                Param::Int(m.id),
                Param::Text(m.watch),
                Param::Int(m.article_id),
                Param::Text(m.hits),
                Param::Int(m.at),
                Param::Int(i64::try_from(m.hit_count).unwrap_or(i64::MAX)),
            ]);
        }
        many::insert(
            conn,
            "INSERT INTO matches (id, watch, article_id, hits, matched_at, hit_count)",
            "",
            6,
            &p,
        )?;
        drop(p);
        self.stories.clear();
        self.articles.clear();
        self.sightings.clear();
        self.sighting_at.clear();
        self.matches.clear();
        Ok(())
    }
}
