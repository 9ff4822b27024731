//! Ingest: one poll of some feeds through every stage — fetch → parse → identify →
//! stories → store → match → queue — under a global and a per-host limit, then the
//! scheduling decision (`schedule`) written back. In: feed names, a [`Runtime`] and the
//! time of the poll. Out: a [`FeedReport`] per feed, and the store updated.
//! Files: `poll` (one feed, from its request to its outcome), `limits` (requests in
//! flight, per host and in all), `pages` (article pages of teaser-only feeds), `prepare` (identify,
//! classify, match and fingerprint: pure), `write` (the article's transaction), `writer`
//! (the one task that writes, group commit), `schedule` (pure scheduling decisions).
//! Invariants: one feed's failure (network, HTTP, parse, database) costs that feed one
//! failed poll, logged with its name and cause, and nothing else; a feed disabled by 410
//! or waiting out a backoff or a Retry-After is not fetched; a 304 is neither parsed nor
//! stored; CPU work (parsing, matching) runs on blocking threads; the store lock is never
//! held across an `.await`.

pub mod limits;
mod one;
pub mod pages;
mod poll;
pub mod prepare;
pub mod schedule;
pub mod write;
mod writer;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::task::JoinSet;

pub use prepare::{IngestStats, MatchContext};
pub use write::{Batch, ingest, store_batches, store_prepared};

use crate::config::Config;
use crate::deliver::Mailer;
use crate::fetch::Fetcher;
use crate::rules::Matcher;
use crate::store::StoreHandle;
use crate::store::feeds::FeedState;
pub use limits::Limits;
use pages::Pages;
use writer::{Flight, spawn_writer};

/// Everything a poll needs, cheap to clone into tasks.
#[derive(Clone)]
pub struct Runtime {
    pub config: Arc<Config>,
    pub matcher: Arc<Matcher>,
    pub store: StoreHandle,
    pub fetcher: Fetcher,
    pub mailer: Mailer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Updated(IngestStats),
    NotModified,
    Failed(String),
    /// Not polled now: disabled, or waiting out a backoff or a server's Retry-After.
    Skipped(String),
}

#[derive(Debug, Clone)]
pub struct FeedReport {
    pub name: String,
    pub outcome: Outcome,
    /// From the moment the feed had its request slots to its outcome.
    pub seconds: f64,
}

/// Poll the named feeds once, now, each in its own task.
pub async fn poll_feeds(rt: &Runtime, names: &[String], now: DateTime<Utc>) -> Vec<FeedReport> {
    poll_feeds_with(rt, names, now, |_| {}).await
}

/// As [`poll_feeds`], telling `on_done` about each feed as soon as it is done (for a
/// progress display). Reports come back sorted by feed name.
pub async fn poll_feeds_with(
    rt: &Runtime,
    names: &[String],
    now: DateTime<Utc>,
    on_done: impl FnMut(&FeedReport),
) -> Vec<FeedReport> {
    let limits = Arc::new(Limits::new(
        rt.config.poll.concurrency,
        rt.config.poll.per_host,
    ));
    poll_feeds_limited(rt, &limits, names, now, on_done).await
}

/// As [`poll_feeds_with`], under request limits shared with other polls running at the
/// same time (the daemon starts feeds as they fall due, while others are still polled).
pub async fn poll_feeds_limited(
    rt: &Runtime,
    limits: &Arc<Limits>,
    names: &[String],
    now: DateTime<Utc>,
    mut on_done: impl FnMut(&FeedReport),
) -> Vec<FeedReport> {
    let pages = Arc::new(Pages::new(limits.clone()));
    let mut tasks = JoinSet::new();
    let writer = spawn_writer(rt);
    // Every feed's state in one read: a call per feed would queue behind the writer's
    // groups and pin a blocking thread each while it waits.
    let mut states: Result<HashMap<String, FeedState>, String> = rt
        .store
        .call(|s| s.feed_states())
        .await
        .map(|all| all.into_iter().map(|s| (s.name.clone(), s)).collect())
        .map_err(|e| format!("reading the feeds' state: {e}"));
    for name in names {
        let Some(feed) = rt.config.feed(name).cloned() else {
            continue;
        };
        let host = Limits::host_of(&feed.url);
        let state = match &mut states {
            Ok(all) => all
                .remove(name)
                .ok_or_else(|| "feed is not in the database".to_string()),
            Err(e) => Err(e.clone()),
        };
        let (rt, limits, pages, writer) =
            (rt.clone(), limits.clone(), pages.clone(), writer.clone());
        // Counted before any task runs, so that the writer never thinks the poll done
        // while feeds are still waiting for a slot.
        let expecting = writer.expected.expect();
        tasks.spawn(async move {
            let slots = limits.acquire(&host).await;
            let started = std::time::Instant::now();
            let outcome = match slots {
                Some(slots) => {
                    let flight = Flight {
                        request: Some(slots),
                        expecting: Some(expecting),
                    };
                    poll::poll_one(&rt, &writer, flight, &pages, &feed, state, now).await
                }
                // The semaphores live as long as this function and are never closed.
                None => Outcome::Failed("the poll was cancelled".into()),
            };
            match &outcome {
                Outcome::Failed(cause) => tracing::warn!(feed = %feed.name, cause = %cause, "poll failed"),
                Outcome::Updated(s) => tracing::info!(feed = %feed.name, new = s.new, edited = s.edited, matches = s.matches, "polled"),
                Outcome::NotModified => tracing::debug!(feed = %feed.name, "not modified"),
                Outcome::Skipped(why) => tracing::info!(feed = %feed.name, why = %why, "skipped"),
            }
            FeedReport {
                name: feed.name.clone(),
                outcome,
                seconds: started.elapsed().as_secs_f64(),
            }
        });
    }
    let mut reports = Vec::new();
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok(report) => {
                on_done(&report);
                reports.push(report);
            }
            Err(e) => tracing::error!(error = %e, "a poll task failed"),
        }
    }
    reports.sort_by(|a, b| a.name.cmp(&b.name));
    reports
}
