//! Ingest, the write phase: store → stories → match → queue for prepared items, under the
//! store lock. Invariants (contract §4, §5): an article, its story, its matches and their
//! deliveries are written in one transaction (which may hold several feeds' batches:
//! group commit) — after a crash either all of them exist or none, so an alert is
//! delayed at worst, never lost and never doubled; deliveries are addressed by (watch,
//! story, recipient) (`deliver::queue`), so a later copy of a story (another outlet, an
//! edit) finds its Message-ID taken and queues nothing, while a watch that never alerted
//! for the story still can.

use chrono::{DateTime, Utc};

use super::prepare::{
    Class, Identified, IngestStats, MatchContext, Prepared, classify, identify_all, prepare,
};
use crate::config::FeedConfig;
use crate::deliver::queue::queue_match;
use crate::identify;
use crate::parse::Item;
use crate::store::articles::{
    Carrier, Incoming, Seen, StoryColumns, Upsert, upsert, upsert_placed,
};
use crate::store::outbox::record_match;
use crate::store::stories::{StoryRef, assign, refingerprint, story_for};
use crate::store::{Result, Store};
use crate::stories::{self, Entry};

/// What one poll of one feed has to store: its fresh items (`prepared`) and the ones
/// already stored but newly seen in this feed (`carried`); `total` is the number of items
/// the feed held. On a feed's first poll, items published more than `backfill` ago are
/// stored and matched but queue no delivery.
pub struct Batch {
    pub feed: FeedConfig,
    pub feed_id: i64,
    pub first_poll: bool,
    pub prepared: Vec<Prepared>,
    pub carried: Vec<Identified>,
    pub total: usize,
}

/// Store one feed's batch in ONE transaction.
pub fn store_prepared(
    store: &mut Store,
    batch: &Batch,
    ctx: &MatchContext<'_>,
    now: DateTime<Utc>,
) -> Result<IngestStats> {
    store_batches(store, std::slice::from_ref(batch), ctx, now)
        .pop()
        .unwrap_or_else(|| Ok(IngestStats::default()))
}

/// Store several feeds' batches in ONE transaction (group commit: a burst of polls
/// writes each index page once rather than once per feed). If the group fails, each
/// batch is tried again alone, so one feed's failure costs only that feed. Results are
/// in the order of `batches`.
pub fn store_batches(
    store: &mut Store,
    batches: &[Batch],
    ctx: &MatchContext<'_>,
    now: DateTime<Utc>,
) -> Vec<Result<IngestStats>> {
    match write_group(store, batches, ctx, now) {
        Ok(stats) => stats.into_iter().map(Ok).collect(),
        Err(_) if batches.len() > 1 => batches
            .iter()
            .map(|b| write_group(store, std::slice::from_ref(b), ctx, now).map(|mut v| v.remove(0)))
            .collect(),
        Err(e) => vec![Err(e)],
    }
}

fn write_group(
    store: &mut Store,
    batches: &[Batch],
    ctx: &MatchContext<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<IngestStats>> {
    let Store {
        conn,
        stories: cache,
        checkpointer,
        ..
    } = store;
    let result = (|| {
        // Instances sharing a database write articles one at a time, each after learning
        // what the others stored: a story is filed once and alerts once, whoever polled.
        let tx = conn.write_transaction()?;
        cache.refresh(&tx, ctx.config.story_window, now)?;
        let since = cache.since(now);
        let mut all = Vec::with_capacity(batches.len());
        for b in batches {
            let mut stats = IngestStats {
                items: b.total,
                ..IngestStats::default()
            };
            write_batch(&tx, cache, b, ctx, since, now, &mut stats)?;
            all.push(stats);
        }
        tx.commit()?;
        Ok(all)
    })();
    if result.is_ok() {
        cache.committed();
        if let Some(c) = checkpointer {
            c.nudge();
        }
    } else {
        // The index may have learnt of articles the rollback took away: reload it.
        cache.invalidate();
    }
    result
}

fn write_batch(
    tx: &crate::store::db::Transaction<'_>,
    cache: &mut crate::store::stories::Cache,
    b: &Batch,
    ctx: &MatchContext<'_>,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    stats: &mut IngestStats,
) -> Result<()> {
    let feed = Carrier::of(tx, b.feed_id, b.first_poll)?;
    for c in &b.carried {
        // Unchanged but for the feed carrying it; an edit since classification (another
        // feed's copy, a race) is handled like any fresh item.
        let incoming = Incoming {
            item: &c.item,
            id: &c.id,
            content_hash: &c.hash,
            page: None,
        };
        let up = upsert(tx, feed, incoming, now)?;
        if up.seen != Seen::Unchanged {
            let it = Identified {
                item: c.item.clone(),
                id: c.id.clone(),
                hash: c.hash.clone(),
                page: None,
            };
            let p = prepare(&b.feed, it, ctx);
            record(
                tx,
                cache,
                b.first_poll,
                &p,
                up,
                None,
                ctx,
                since,
                now,
                stats,
            )?;
        }
    }
    for p in &b.prepared {
        // A new article's story is decided before its row is inserted: the row is then
        // written once, story and fingerprint included.
        let mut decided = None;
        let index = cache.index();
        let incoming = Incoming {
            item: &p.it.item,
            id: &p.it.id,
            content_hash: &p.it.hash,
            page: p.it.page.as_deref(),
        };
        let up = upsert_placed(tx, feed, incoming, now, |tx| {
            let placed = stories::place_prepared(index, p.story.as_ref(), since);
            let copy = placed.found.is_some();
            let story = story_for(tx, &p.it.id.key, placed.found, now)?;
            let columns = StoryColumns {
                story_id: Some(story.id),
                fingerprint: placed.fingerprint.clone(),
            };
            decided = Some((story, placed.fingerprint, copy));
            Ok(columns)
        })?;
        if up.seen != Seen::Unchanged {
            let decided = decided.map(|(story, fingerprint, copy)| Decided {
                entry: fingerprint.map(|fp| Entry {
                    article_id: up.article_id,
                    story_id: story.id,
                    seen_at: now,
                    fingerprint: fp,
                }),
                story,
                copy,
            });
            record(
                tx,
                cache,
                b.first_poll,
                p,
                up,
                decided,
                ctx,
                since,
                now,
                stats,
            )?;
        }
    }
    Ok(())
}

/// A new article's story, decided and written with its row.
struct Decided {
    story: StoryRef,
    entry: Option<Entry>,
    copy: bool,
}

/// The story, matches and deliveries of one new or edited article.
#[allow(clippy::too_many_arguments)]
fn record(
    tx: &crate::store::db::Transaction<'_>,
    cache: &mut crate::store::stories::Cache,
    first_poll: bool,
    p: &Prepared,
    up: Upsert,
    decided: Option<Decided>,
    ctx: &MatchContext<'_>,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    stats: &mut IngestStats,
) -> Result<()> {
    let item = &p.it.item;
    let story = match (up.seen, decided) {
        (Seen::New, Some(d)) => {
            stats.new += 1;
            cache.wrote_new(up.article_id);
            stats.copies += usize::from(d.copy);
            // Learnt now so that a copy later in this same poll finds it; a rollback
            // invalidates the whole index (see `write_group`).
            if let Some(e) = d.entry {
                cache.insert(e);
            }
            d.story
        }
        (Seen::New, None) => {
            stats.new += 1;
            cache.wrote_new(up.article_id);
            let placed = stories::place_prepared(cache.index(), p.story.as_ref(), since);
            stats.copies += usize::from(placed.found.is_some());
            let (story, entry) = assign(tx, up.article_id, &p.it.id.key, placed, now)?;
            // Learnt now so that a copy later in this same poll finds it; a rollback
            // invalidates the whole index (see `write_group`).
            if let Some(e) = entry {
                cache.insert(e);
            }
            story
        }
        _ => {
            stats.edited += 1;
            let (story, entry) = refingerprint(tx, up.article_id, p.story.clone())?;
            if let Some(e) = entry {
                cache.insert(e);
            }
            story
        }
    };
    let quiet = first_poll && identify::is_backfill(item.published, now, ctx.config.backfill);
    for (w, hits, count) in &p.matches {
        let Some(watch) = ctx.watches.get(*w) else {
            continue;
        };
        let Some(match_id) = record_match(tx, &watch.name, up.article_id, hits, *count, now)?
        else {
            continue;
        };
        stats.matches += 1;
        if !quiet {
            stats.deliveries += queue_match(tx, ctx.config, watch, match_id, &story.key, now)?;
        }
    }
    Ok(())
}

/// All phases at once, on the caller's thread (tests, `rules` tools, small callers).
pub fn ingest(
    store: &mut Store,
    feed: &FeedConfig,
    feed_id: i64,
    first_poll: bool,
    items: &[Item],
    ctx: &MatchContext<'_>,
    now: DateTime<Utc>,
) -> Result<IngestStats> {
    let all = identify_all(&feed.name, items.to_vec());
    let classes = classify(store, feed_id, &all)?;
    let (mut prepared, mut carried) = (Vec::new(), Vec::new());
    for (it, class) in all.into_iter().zip(classes) {
        match class {
            Class::Known => {}
            Class::Carried => carried.push(it),
            Class::Fresh => prepared.push(prepare(feed, it, ctx)),
        }
    }
    let batch = Batch {
        feed: feed.clone(),
        feed_id,
        first_poll,
        prepared,
        carried,
        total: items.len(),
    };
    store_prepared(store, &batch, ctx, now)
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
