//! Ingest, the write phase: store → stories → match → queue for prepared items, under the
//! store lock. Invariants (contract §4, §5): an article, its story, its matches and their
//! deliveries are written in one transaction (which may hold several feeds' batches:
//! group commit) — after a crash either all of them exist or none, so an alert is
//! delayed at worst, never lost and never doubled; deliveries are addressed by (watch,
//! story, recipient) (`deliver::queue`), so a later copy of a story (another outlet, an
//! edit) finds its Message-ID taken and queues nothing, while a watch that never alerted
//! for the story still can. Written in few statements: a feed's items are looked up at
//! once (`store::lookup`), the new articles' rows gathered and written a few hundred a
//! statement (`store::group`), the deliveries queued after them (`store::enqueue`); what
//! a lookup cannot settle is written item by item (`one`).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::one::{self, Env, Out, ToQueue};
use super::prepare::{
    Class, Identified, IngestStats, MatchContext, Prepared, classify, identify_all, prepare,
};
use crate::config::FeedConfig;
use crate::deliver::queue::queue_match;
use crate::identify::{self, Identity};
use crate::parse::Item;
use crate::store::db::Transaction;
use crate::store::enqueue::{Asked, Queue};
use crate::store::group::{Group, NewArticle, NewMatch, Resolved, Table};
use crate::store::lookup::Lookup;
use crate::store::stories::{Cache, StoryRef};
use crate::store::{Result, Store, to_ts};
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

impl Batch {
    /// The bytes of text its items hold (titles, teasers, bodies): what a group of
    /// batches waiting for their write costs.
    pub fn text_bytes(&self) -> usize {
        let item = |i: &crate::parse::Item| i.title.len() + i.summary.len() + i.content.len();
        let prepared = self.prepared.iter().map(|p| item(&p.it.item));
        prepared
            .chain(self.carried.iter().map(|c| item(&c.item)))
            .sum()
    }
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
        let env = Env {
            ctx,
            since: cache.since(now),
            now,
        };
        let mut group = Group::default();
        let mut queue = Vec::new();
        let mut all: Vec<IngestStats> = (batches.iter())
            .map(|b| IngestStats {
                items: b.total,
                ..IngestStats::default()
            })
            .collect();
        let mut lookups = Vec::with_capacity(batches.len());
        for (i, (b, stats)) in batches.iter().zip(&mut all).enumerate() {
            let mut out = out_of(b, i, stats, &mut queue);
            lookups.push(write_carried(&tx, &mut group, cache, &env, b, &mut out)?);
        }
        // Every feed's fresh items in the order they were published, so that the stories
        // a poll files do not depend on which feed answered first; items of the same second
        // (feeds that round to the minute; items without a date or dated ahead, which count
        // as now) in the order of their feeds' ids, not of the feeds' answers. Edits and
        // other feeds' copies of stored articles were written above, in the group's order.
        let mut order: Vec<(i64, i64, usize, usize)> = (batches.iter().enumerate())
            .flat_map(|(i, b)| {
                (b.prepared.iter().enumerate()).map(move |(k, p)| {
                    let at = stories::event_time(p.it.item.published, now);
                    (at, b.feed_id, i, k)
                })
            })
            .collect();
        order.sort_unstable();
        for (_, _, i, k) in order {
            let (b, lookup) = (&batches[i], &lookups[i]);
            let mut out = out_of(b, i, &mut all[i], &mut queue);
            write_fresh(
                &tx,
                &mut group,
                cache,
                &env,
                lookup,
                &b.prepared[k],
                &mut out,
            )?;
        }
        group.flush(&tx)?;
        queue_all(&tx, ctx, &queue, now, &mut all)?;
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

/// Where one batch's outcomes go.
fn out_of<'o>(
    b: &'o Batch,
    batch: usize,
    stats: &'o mut IngestStats,
    queue: &'o mut Vec<ToQueue>,
) -> Out<'o> {
    Out {
        feed: &b.feed,
        feed_id: b.feed_id,
        first_poll: b.first_poll,
        batch,
        stats,
        queue,
    }
}

/// One feed's batch, first part: its items looked up at once, ids reserved for the new
/// ones, and the items already stored but new to this feed written. Returns the lookup,
/// for its fresh items ([`write_fresh`]).
fn write_carried<'b>(
    tx: &Transaction<'_>,
    group: &mut Group<'b>,
    cache: &mut Cache,
    env: &Env<'b>,
    b: &'b Batch,
    out: &mut Out<'_>,
) -> Result<Lookup> {
    let feed_id = b.feed_id;
    let seen_at = to_ts(env.now);
    let ids: Vec<&Identity> = (b.carried.iter().map(|c| &c.id))
        .chain(b.prepared.iter().map(|p| &p.it.id))
        .collect();
    let lookup = Lookup::run(tx, feed_id, &ids)?;
    // Ids for the items that look new, in one query.
    let (mut articles, mut matches) = (0, 0);
    for p in &b.prepared {
        if group.resolve(&lookup, &p.it.id) == Resolved::Sure(None) {
            articles += 1;
            matches += p.matches.len();
        }
    }
    group.reserve(tx, [articles, articles, matches])?;
    for c in &b.carried {
        match group.resolve(&lookup, &c.id) {
            // Unchanged but for the feed carrying it.
            Resolved::Sure(Some(f)) if f.hash == c.hash || f.version_of != feed_id => {
                group.add_sighting(f.article_id, feed_id, c.id.guid.as_deref(), seen_at);
            }
            _ => {
                let article = one::carried(group.direct(tx)?, cache, env, c, out)?;
                group.touched(feed_id, &c.id, Some(article));
            }
        }
    }
    Ok(lookup)
}

/// One fresh item of a batch: a new article gathered in `group` (written with the
/// transaction's other rows), a sighting, or an edit written at once (`one`). Resolved
/// when its turn comes, so that an article two feeds of the group carry is new once.
fn write_fresh<'b>(
    tx: &Transaction<'_>,
    group: &mut Group<'b>,
    cache: &mut Cache,
    env: &Env<'b>,
    lookup: &Lookup,
    p: &'b Prepared,
    out: &mut Out<'_>,
) -> Result<()> {
    let (feed_id, seen_at) = (out.feed_id, to_ts(env.now));
    match group.resolve(lookup, &p.it.id) {
        Resolved::Sure(None) => new_article(tx, group, cache, env, lookup, p, out)?,
        Resolved::Sure(Some(f)) if f.hash == p.it.hash || f.version_of != feed_id => {
            group.add_sighting(f.article_id, feed_id, p.it.id.guid.as_deref(), seen_at);
        }
        _ => {
            let article = one::fresh(group.direct(tx)?, cache, env, p, out)?;
            group.touched(feed_id, &p.it.id, Some(article));
        }
    }
    Ok(())
}

/// A new article: its story decided, its row, its feed's and its matches gathered in
/// `group`, the index taught it, its matches to queue.
fn new_article<'b>(
    tx: &Transaction<'_>,
    group: &mut Group<'b>,
    cache: &mut Cache,
    env: &Env<'b>,
    lookup: &Lookup,
    p: &'b Prepared,
    out: &mut Out<'_>,
) -> Result<()> {
    let (now, seen_at) = (env.now, to_ts(env.now));
    let placed = one::place((cache.index(), cache.events()), env, p, out.feed_id);
    let copy = placed.found.is_some();
    // The story found may have gone meanwhile (retention): the article then starts anew.
    let joined = match placed.found {
        Some(f) => (group.story_key(tx, f.story_id)?).map(|key| StoryRef {
            id: f.story_id,
            key,
        }),
        None => None,
    };
    let story = match joined {
        Some(s) => s,
        None => {
            // A key already taken is this very article's old story (pruned, seen again).
            let key = &p.it.id.key;
            let id = match lookup.story(key) {
                Some(id) => id,
                None => group.add_story(tx, key, seen_at)?,
            };
            StoryRef {
                id,
                key: key.clone(),
            }
        }
    };
    let article_id = group.next_id(tx, Table::Articles)?;
    let fp = placed.fingerprint.as_ref();
    group.add_article(NewArticle {
        id: article_id,
        feed_id: out.feed_id,
        item: &p.it.item,
        ident: &p.it.id,
        content_hash: &p.it.hash,
        page: p.it.page.as_deref(),
        story_id: story.id,
        exact: fp.map(|f| f.exact as i64),
        shingles: fp.map(|f| i64::from(f.shingles)),
        signature: fp.map(|f| f.signature.to_bytes()),
        event_terms: p.event.to_bytes(),
        seen_at,
    });
    let stats = &mut *out.stats;
    stats.new += 1;
    stats.copies += usize::from(copy);
    cache.wrote_new(article_id);
    // Learnt now so that a copy later in this same poll finds it; a rollback invalidates
    // the whole index (see `write_group`).
    if let Some(fingerprint) = placed.fingerprint {
        cache.insert(Entry {
            article_id,
            story_id: story.id,
            seen_at: now,
            fingerprint,
        });
    }
    one::learn_event(cache, env, p, (article_id, story.id), out.feed_id);
    let quiet =
        out.first_poll && identify::is_backfill(p.it.item.published, now, env.ctx.config.backfill);
    let mut watches = HashSet::new();
    for (w, hits, count) in &p.matches {
        let Some(watch) = env.ctx.watches.get(*w) else {
            continue;
        };
        // One match per watch and article.
        if !watches.insert(watch.name.as_str()) {
            continue;
        }
        let match_id = group.next_id(tx, Table::Matches)?;
        group.add_match(NewMatch {
            id: match_id,
            watch: &watch.name,
            article_id,
            hits,
            hit_count: *count,
            at: seen_at,
        });
        out.stats.matches += 1;
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

/// Queue the deliveries of every match of the transaction, its rows written: a dry run
/// learns what the decisions need to know of the outbox, which is read at once, then the
/// real run queues; its deliveries are written together.
fn queue_all(
    tx: &Transaction<'_>,
    ctx: &MatchContext<'_>,
    queue: &[ToQueue],
    now: DateTime<Utc>,
    all: &mut [IngestStats],
) -> Result<()> {
    if queue.is_empty() {
        return Ok(());
    }
    let watches: HashMap<i64, String> = queue
        .iter()
        .filter_map(|q| Some((q.match_id, ctx.watches.get(q.watch)?.name.clone())))
        .collect();
    let mut asked = Asked::default();
    for q in queue {
        if let Some(watch) = ctx.watches.get(q.watch) {
            queue_match(&mut asked, ctx.config, watch, q.match_id, &q.story, now)?;
        }
    }
    let mut outbox = Queue::read(tx, asked, &watches)?;
    for q in queue {
        if let Some(watch) = ctx.watches.get(q.watch) {
            let n = queue_match(&mut outbox, ctx.config, watch, q.match_id, &q.story, now)?;
            if let Some(stats) = all.get_mut(q.batch) {
                stats.deliveries += n;
            }
        }
    }
    outbox.flush()
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
            Class::Fresh => prepared.push(prepare(feed, it, ctx, now)),
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
