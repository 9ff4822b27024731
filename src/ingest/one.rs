//! Ingest, the write phase for one item at a time, statement by statement: what `write`
//! does for the items its batched path cannot settle from a lookup (an edit, an article
//! another feed's item touched in the same transaction, an item classified before a race
//! changed it). Invariants: as `write` (contract §4, §5) — the article, its story and its
//! matches are written in the caller's transaction; the matches' deliveries are queued by
//! the caller, in the same transaction, once every row is written (`write::queue_all`).

use chrono::{DateTime, Utc};

use super::prepare::{Identified, IngestStats, MatchContext, Prepared, prepare};
use crate::config::FeedConfig;
use crate::identify;
use crate::store::Result;
use crate::store::articles::{
    Carrier, Incoming, Seen, StoryColumns, Upsert, upsert, upsert_placed,
};
use crate::store::db::Transaction;
use crate::store::outbox::record_match;
use crate::store::stories::{Cache, StoryRef, assign, refingerprint, story_for};
use crate::stories::event::{Member, Window};
use crate::stories::{self, Entry, Index, Placement};

/// What every item of a transaction is written with.
pub(super) struct Env<'a> {
    pub(super) ctx: &'a MatchContext<'a>,
    /// Where the story window starts.
    pub(super) since: DateTime<Utc>,
    pub(super) now: DateTime<Utc>,
}

/// A match whose deliveries are queued once the transaction's rows are written: the batch
/// it belongs to (for its stats), its watch, its id and its story's key.
pub(super) struct ToQueue {
    pub(super) batch: usize,
    pub(super) watch: usize,
    pub(super) match_id: i64,
    pub(super) story: String,
}

/// The feed an item comes from, and where its outcome goes: its batch's stats and the
/// matches to queue.
pub(super) struct Out<'o> {
    pub(super) feed: &'o FeedConfig,
    pub(super) feed_id: i64,
    pub(super) first_poll: bool,
    pub(super) batch: usize,
    pub(super) stats: &'o mut IngestStats,
    pub(super) queue: &'o mut Vec<ToQueue>,
}

/// An item first seen in another feed (classified `Carried`), stored or refreshed; the
/// article it is.
pub(super) fn carried(
    tx: &Transaction<'_>,
    cache: &mut Cache,
    env: &Env<'_>,
    c: &Identified,
    out: &mut Out<'_>,
) -> Result<i64> {
    // Unchanged but for the feed carrying it; an edit since classification (another
    // feed's copy, a race) is handled like any fresh item.
    let incoming = Incoming {
        item: &c.item,
        id: &c.id,
        content_hash: &c.hash,
        page: None,
    };
    let up = upsert(tx, Carrier::known(out.feed_id), incoming, env.now)?;
    if up.seen != Seen::Unchanged {
        let it = Identified {
            item: c.item.clone(),
            id: c.id.clone(),
            hash: c.hash.clone(),
            page: None,
        };
        let p = prepare(out.feed, it, env.ctx, env.now);
        record(tx, cache, env, &p, up, None, out)?;
    }
    Ok(up.article_id)
}

/// Where a new article's story is: the story it copies (fingerprints), else the story of
/// the same event among the other outlets' recent reports.
pub(super) fn place(
    (index, events): (&Index, &Window),
    env: &Env<'_>,
    p: &Prepared,
    feed_id: i64,
) -> Placement {
    let placed = stories::place_prepared(index, p.story.as_ref(), env.since);
    let at = stories::event_time(p.it.item.published, env.now);
    stories::place_event(placed, events, &p.event, at, feed_id)
}

/// The event window learns a stored article now, so that another outlet's report later in
/// this same poll finds it; a rollback invalidates the whole cache (see `write::write_group`).
pub(super) fn learn_event(
    cache: &mut Cache,
    env: &Env<'_>,
    p: &Prepared,
    (article_id, story_id): (i64, i64),
    feed_id: i64,
) {
    cache.insert_event(Member {
        article_id,
        story_id,
        seen: env.now.timestamp(),
        at: stories::event_time(p.it.item.published, env.now),
        outlet: feed_id,
        terms: p.event.clone(),
    });
}

/// A new or edited item (classified `Fresh`), stored; the article it is.
pub(super) fn fresh(
    tx: &Transaction<'_>,
    cache: &mut Cache,
    env: &Env<'_>,
    p: &Prepared,
    out: &mut Out<'_>,
) -> Result<i64> {
    // A new article's story is decided before its row is inserted: the row is then
    // written once, story and fingerprint included.
    let mut decided = None;
    let windows = (cache.index(), cache.events());
    let incoming = Incoming {
        item: &p.it.item,
        id: &p.it.id,
        content_hash: &p.it.hash,
        page: p.it.page.as_deref(),
    };
    let up = upsert_placed(tx, Carrier::known(out.feed_id), incoming, env.now, |tx| {
        let placed = place(windows, env, p, out.feed_id);
        let copy = placed.found.is_some();
        let story = story_for(tx, &p.it.id.key, placed.found, env.now)?;
        let columns = StoryColumns {
            story_id: Some(story.id),
            fingerprint: placed.fingerprint.clone(),
            event_terms: Some(p.event.to_bytes()),
        };
        decided = Some((story, placed.fingerprint, copy));
        Ok(columns)
    })?;
    if up.seen != Seen::Unchanged {
        let decided = decided.map(|(story, fingerprint, copy)| Decided {
            entry: fingerprint.map(|fp| Entry {
                article_id: up.article_id,
                story_id: story.id,
                seen_at: env.now,
                fingerprint: fp,
            }),
            story,
            copy,
        });
        record(tx, cache, env, p, up, decided, out)?;
    }
    Ok(up.article_id)
}

/// A new article's story, decided and written with its row.
struct Decided {
    story: StoryRef,
    entry: Option<Entry>,
    copy: bool,
}

/// The story and matches of one new or edited article; its matches to queue.
fn record(
    tx: &Transaction<'_>,
    cache: &mut Cache,
    env: &Env<'_>,
    p: &Prepared,
    up: Upsert,
    decided: Option<Decided>,
    out: &mut Out<'_>,
) -> Result<()> {
    let (now, stats) = (env.now, &mut *out.stats);
    let item = &p.it.item;
    let story = match (up.seen, decided) {
        (Seen::New, Some(d)) => {
            stats.new += 1;
            cache.wrote_new(up.article_id);
            stats.copies += usize::from(d.copy);
            // Learnt now so that a copy later in this same poll finds it; a rollback
            // invalidates the whole index (see `write::write_group`).
            if let Some(e) = d.entry {
                cache.insert(e);
            }
            d.story
        }
        (Seen::New, None) => {
            stats.new += 1;
            cache.wrote_new(up.article_id);
            let placed = place((cache.index(), cache.events()), env, p, out.feed_id);
            stats.copies += usize::from(placed.found.is_some());
            let (story, entry) = assign(tx, up.article_id, &p.it.id.key, placed, &p.event, now)?;
            if let Some(e) = entry {
                cache.insert(e);
            }
            story
        }
        _ => {
            stats.edited += 1;
            let (story, entry) = refingerprint(tx, up.article_id, p.story.clone(), &p.event)?;
            if let Some(e) = entry {
                cache.insert(e);
            }
            story
        }
    };
    if story.id != 0 {
        learn_event(cache, env, p, (up.article_id, story.id), out.feed_id);
    }
    let quiet =
        out.first_poll && identify::is_backfill(item.published, now, env.ctx.config.backfill);
    for (w, hits, count) in &p.matches {
        let Some(watch) = env.ctx.watches.get(*w) else {
            continue;
        };
        let Some(match_id) = record_match(tx, &watch.name, up.article_id, hits, *count, now)?
        else {
            continue;
        };
        stats.matches += 1;
        if !quiet {
            out.queue.push(ToQueue {
                batch: out.batch,
                watch: *w,
                match_id,
                story: story.key.clone(),
            });
        }
    }
    Ok(())
}
