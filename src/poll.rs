//! The pipeline's async shell for one poll of some feeds:
//! fetch → parse → identify → store → match, under a global and a per-host limit, then
//! the scheduling decision (`schedule`) written back. Invariants: one feed's failure
//! (network, HTTP, parse, database) costs that feed one failed poll, logged with its
//! name and cause, and nothing else; a feed disabled by 410 or waiting out a backoff or
//! a Retry-After is not fetched; a 304 is neither parsed nor stored; CPU work (parsing,
//! matching) runs on blocking threads; the store lock is never held across an `.await`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::task::JoinSet;

use crate::config::{Config, FeedConfig, Interval};
use crate::deliver::Mailer;
use crate::fetch::{Content, FetchError, Fetched, Fetcher, Validators};
use crate::ingest::{
    Batch, Class, IngestStats, MatchContext, classify, identify_all, prepare, store_batches,
};
use crate::rules::Matcher;
use crate::schedule;
use crate::store::StoreHandle;
use crate::store::feeds::{FeedState, PollRecord, PollResult};

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
}

/// Poll the named feeds once, now, each in its own task.
/// Count one poll in the process's metrics.
fn record_metrics(feed: &str, outcome: &Outcome, seconds: f64) {
    let m = crate::metrics::global();
    match outcome {
        Outcome::Updated(s) => m.poll(feed, "ok", seconds, s.new, s.matches),
        Outcome::NotModified => m.poll(feed, "not_modified", seconds, 0, 0),
        Outcome::Failed(_) => m.poll(feed, "failed", seconds, 0, 0),
        Outcome::Skipped(_) => m.poll(feed, "skipped", seconds, 0, 0),
    }
}

pub async fn poll_feeds(rt: &Runtime, names: &[String], now: DateTime<Utc>) -> Vec<FeedReport> {
    poll_feeds_with(rt, names, now, |_| {}).await
}

/// As [`poll_feeds`], telling `on_done` about each feed as soon as it is done (for a
/// progress display). Reports come back sorted by feed name.
pub async fn poll_feeds_with(
    rt: &Runtime,
    names: &[String],
    now: DateTime<Utc>,
    mut on_done: impl FnMut(&FeedReport),
) -> Vec<FeedReport> {
    let global = Arc::new(Semaphore::new(rt.config.poll.concurrency.max(1)));
    let mut per_host: HashMap<String, Arc<Semaphore>> = HashMap::new();
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
        let host = url::Url::parse(&feed.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        let host_limit = per_host
            .entry(host)
            .or_insert_with(|| Arc::new(Semaphore::new(rt.config.poll.per_host.max(1))))
            .clone();
        let state = match &mut states {
            Ok(all) => all
                .remove(name)
                .ok_or_else(|| "feed is not in the database".to_string()),
            Err(e) => Err(e.clone()),
        };
        let (rt, global, writer) = (rt.clone(), global.clone(), writer.clone());
        // Counted before any task runs, so that the writer never thinks the poll done
        // while feeds are still waiting for a slot.
        let expecting = writer.expected.expect();
        tasks.spawn(async move {
            // Per host first: a task waiting for a busy host holds no global slot.
            let host = host_limit.acquire_owned().await;
            let all = global.acquire_owned().await;
            let started = std::time::Instant::now();
            let outcome = match (host, all) {
                (Ok(host), Ok(all)) => {
                    let flight = Flight {
                        request: Some((host, all)),
                        expecting: Some(expecting),
                    };
                    poll_one(&rt, &writer, flight, &feed, state, now).await
                }
                // The semaphores live as long as this function and are never closed.
                _ => Outcome::Failed("the poll was cancelled".into()),
            };
            record_metrics(&feed.name, &outcome, started.elapsed().as_secs_f64());
            match &outcome {
                Outcome::Failed(cause) => tracing::warn!(feed = %feed.name, cause = %cause, "poll failed"),
                Outcome::Updated(s) => tracing::info!(feed = %feed.name, new = s.new, edited = s.edited, matches = s.matches, "polled"),
                Outcome::NotModified => tracing::debug!(feed = %feed.name, "not modified"),
                Outcome::Skipped(why) => tracing::info!(feed = %feed.name, why = %why, "skipped"),
            }
            FeedReport {
                name: feed.name.clone(),
                outcome,
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

async fn poll_one(
    rt: &Runtime,
    writer: &Writer,
    mut flight: Flight,
    feed: &FeedConfig,
    state: Result<FeedState, String>,
    now: DateTime<Utc>,
) -> Outcome {
    let state = match state {
        Ok(s) => s,
        Err(why) => return Outcome::Failed(why),
    };
    if let Some(why) = &state.disabled {
        return Outcome::Skipped(format!("disabled: {why}"));
    }
    if schedule::in_backoff(state.error_count, state.next_poll_at, now) {
        return Outcome::Skipped(format!(
            "waiting until {} after {} failed poll{} (last: {})",
            state.next_poll_at.format("%Y-%m-%d %H:%M:%S UTC"),
            state.error_count,
            if state.error_count == 1 { "" } else { "s" },
            state.last_error.as_deref().unwrap_or("unknown error")
        ));
    }
    let configured = rt.config.interval_of(feed);
    let interval = schedule::interval_secs(configured, state.interval_secs);
    let validators = Validators {
        etag: state.etag.clone(),
        last_modified: state.last_modified.clone(),
    };
    let fetched = rt
        .fetcher
        .fetch(&state.url, &validators, rt.config.poll.max_body)
        .await;
    if !matches!(
        &fetched,
        Ok(Fetched {
            content: Content::Body { .. },
            ..
        })
    ) {
        // No body: the request is over and the writer will get nothing from this feed.
        flight.request = None;
        flight.expecting = None;
    }
    let at = |secs: i64| now + chrono::Duration::seconds(secs);
    let (record, outcome) = match fetched {
        Ok(Fetched { moved_to, content }) => {
            if let Some(to) = &moved_to {
                tracing::info!(feed = %feed.name, from = %state.url, to = %to, "feed moved permanently; its stored URL is updated");
            }
            match content {
                // Nothing changed: no parse, no write but the feed's own row.
                Content::NotModified => (
                    PollRecord {
                        result: PollResult::NotModified,
                        next: at(interval),
                        interval,
                        moved_to,
                    },
                    Outcome::NotModified,
                ),
                Content::Body {
                    bytes,
                    charset,
                    validators,
                    ..
                } => {
                    match process(rt, writer, &mut flight, feed, &state, bytes, charset, now).await
                    {
                        Ok((stats, dates)) => {
                            let interval = match configured {
                                Interval::Auto => {
                                    schedule::auto_interval(&dates, now, state.interval_secs)
                                }
                                Interval::Fixed(_) => interval,
                            };
                            (
                                PollRecord {
                                    result: PollResult::Success {
                                        etag: validators.etag,
                                        last_modified: validators.last_modified,
                                    },
                                    next: at(interval),
                                    interval,
                                    moved_to,
                                },
                                Outcome::Updated(stats),
                            )
                        }
                        Err(cause) => failure(&state, interval, None, cause, now, moved_to),
                    }
                }
            }
        }
        Err(FetchError::Gone { url }) => {
            let why = format!(
                "HTTP 410 Gone from {url} on {}; the feed is no longer polled (change its URL in the configuration to poll it again)",
                now.format("%Y-%m-%d")
            );
            tracing::warn!(feed = %feed.name, "{why}");
            (
                PollRecord {
                    result: PollResult::Gone { error: why },
                    next: at(interval),
                    interval,
                    moved_to: None,
                },
                Outcome::Failed(format!("gone (HTTP 410 from {url}): feed disabled")),
            )
        }
        Err(e) => failure(&state, interval, e.retry_after(), e.to_string(), now, None),
    };
    if let Err(e) = writer.record(state.id, now, record).await {
        return Outcome::Failed(format!("recording the poll: {e}"));
    }
    outcome
}

fn failure(
    state: &FeedState,
    interval: i64,
    retry_after: Option<Duration>,
    cause: String,
    now: DateTime<Utc>,
    moved_to: Option<String>,
) -> (PollRecord, Outcome) {
    let wait = schedule::backoff_secs(state.id, state.error_count + 1, interval, retry_after);
    (
        PollRecord {
            result: PollResult::Failure {
                error: cause.clone(),
            },
            next: now + chrono::Duration::seconds(wait),
            interval,
            moved_to,
        },
        Outcome::Failed(cause),
    )
}

/// A feed's batch on its way to the writer, and where its result goes.
struct Job {
    batch: Batch,
    now: DateTime<Utc>,
    reply: oneshot::Sender<Result<IngestStats, String>>,
}

/// The way to the writer, and the permits that bound how many fetched feeds are being
/// parsed and matched at once.
#[derive(Clone)]
struct Writer {
    jobs: mpsc::Sender<Job>,
    /// Parsed items, matches and fingerprints are the bulk of a poll's memory: the CPU
    /// cannot go faster than a few feeds per core anyway, so more in flight would only
    /// wait, holding memory (fetches still overlap freely).
    working: Arc<Semaphore>,
    /// How many feeds of this poll may still send a batch.
    expected: Arc<Expected>,
    /// The way to the recorder of polls' outcomes.
    records: mpsc::UnboundedSender<Record>,
}

/// A poll's outcome for a feed's row, and where to say it is written.
type Record = (
    i64,
    DateTime<Utc>,
    PollRecord,
    oneshot::Sender<Result<(), String>>,
);

impl Writer {
    /// Write a feed's poll outcome, together with those of the feeds that finish while
    /// the previous ones are being written.
    async fn record(
        &self,
        feed_id: i64,
        now: DateTime<Utc>,
        rec: PollRecord,
    ) -> Result<(), String> {
        let (reply, answer) = oneshot::channel();
        self.records
            .send((feed_id, now, rec, reply))
            .map_err(|_| "the database writer stopped".to_string())?;
        answer
            .await
            .map_err(|_| "the database writer stopped".to_string())?
    }
}

/// Group commit for the feeds' rows: a poll where nothing changed is little but these
/// writes, and a commit per feed was most of its time. One task takes whatever records
/// are waiting and writes them in one transaction; it ends with the last sender.
fn spawn_recorder(rt: &Runtime) -> mpsc::UnboundedSender<Record> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Record>();
    let store = rt.store.clone();
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut polls = vec![first];
            while let Ok(more) = rx.try_recv() {
                polls.push(more);
            }
            let (polls, replies): (Vec<_>, Vec<_>) = polls
                .into_iter()
                .map(|(id, now, rec, reply)| ((id, now, rec), reply))
                .unzip();
            let results = store.call(move |s| Ok(s.record_polls(&polls))).await;
            answer_each(replies, results);
        }
    });
    tx
}

/// Tell each sender of a group what became of its part: its own result, or the group's
/// error when the store could not be reached at all.
fn answer_each<T>(
    replies: Vec<oneshot::Sender<Result<T, String>>>,
    results: crate::store::Result<Vec<crate::store::Result<T>>>,
) {
    match results {
        Ok(results) => {
            for (reply, r) in replies.into_iter().zip(results) {
                let _ = reply.send(r.map_err(|e| e.to_string()));
            }
        }
        Err(e) => {
            for reply in replies {
                let _ = reply.send(Err(e.to_string()));
            }
        }
    }
}

/// A count of the feeds that may still send the writer a batch, so that it stops
/// gathering a group as soon as nothing more can come (the poll's last group is written
/// at once, not after [`GROUP_WAIT`]).
#[derive(Default)]
struct Expected {
    count: AtomicUsize,
    changed: Notify,
}

/// One feed that may still send a batch; dropped once it has sent it or knows it won't.
struct Expecting(Arc<Expected>);

impl Expected {
    fn expect(self: &Arc<Self>) -> Expecting {
        self.count.fetch_add(1, Ordering::SeqCst);
        Expecting(self.clone())
    }
}

impl Drop for Expecting {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, Ordering::SeqCst);
        self.0.changed.notify_one();
    }
}

/// What one feed being polled holds, each part let go as soon as it is done with.
struct Flight {
    /// The per-host and global slots of its request (contract §6: requests in flight).
    request: Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)>,
    /// Its place in the writer's count of feeds that may still send a batch.
    expecting: Option<Expecting>,
}

/// Feeds parsed and matched at once, per core.
const WORKING_PER_CORE: usize = 4;
/// Batches waiting for the writer. They are few because the writer is faster than the
/// parsing and matching that feed it; the bound is on memory should the disk stall.
const QUEUED: usize = 16;
/// A group is written once it holds this many items...
const GROUP_ITEMS: usize = 1_000;
/// ...or this long after its first batch arrived, whichever comes first.
const GROUP_WAIT: Duration = Duration::from_millis(100);

/// Group commit: one task writes the batches of the feeds that finish within
/// [`GROUP_WAIT`] of each other in one transaction (see `ingest::store_batches`). A burst
/// of new articles then rewrites each index page once per group rather than once per
/// feed: their keys are random, so a group of a few feeds dirties nearly every leaf of
/// those indexes, and the write-ahead log grows by that much per commit. It ends with
/// the last sender.
fn spawn_writer(rt: &Runtime) -> Writer {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let (tx, mut rx) = mpsc::channel::<Job>(QUEUED);
    let expected = Arc::new(Expected::default());
    let writer = Writer {
        jobs: tx,
        working: Arc::new(Semaphore::new(cores * WORKING_PER_CORE)),
        expected: expected.clone(),
        records: spawn_recorder(rt),
    };
    let rt = rt.clone();
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let deadline = tokio::time::Instant::now() + GROUP_WAIT;
            let size = |j: &Job| j.batch.prepared.len() + j.batch.carried.len();
            let mut items = size(&first);
            let mut jobs = vec![first];
            while items < GROUP_ITEMS {
                let job = match rx.try_recv() {
                    Ok(j) => Some(j),
                    Err(_) if expected.count.load(Ordering::SeqCst) == 0 => break,
                    Err(_) => tokio::select! {
                        j = rx.recv() => match j {
                            Some(j) => Some(j),
                            None => break,
                        },
                        // A feed finished without a batch: count again.
                        () = expected.changed.notified() => None,
                        () = tokio::time::sleep_until(deadline) => break,
                    },
                };
                if let Some(j) = job {
                    items += size(&j);
                    jobs.push(j);
                }
            }
            let now = jobs.iter().map(|j| j.now).max().unwrap_or_else(Utc::now);
            let (batches, replies): (Vec<Batch>, Vec<_>) =
                jobs.into_iter().map(|j| (j.batch, j.reply)).unzip();
            let (config, matcher) = (rt.config.clone(), rt.matcher.clone());
            let results = rt
                .store
                .call(move |s| {
                    let ctx = MatchContext::new(&matcher, &config);
                    Ok(store_batches(s, &batches, &ctx, now))
                })
                .await;
            answer_each(replies, results);
        }
    });
    writer
}

/// Parse, classify, match and store one fetched body.
#[allow(clippy::too_many_arguments)]
async fn process(
    rt: &Runtime,
    writer: &Writer,
    flight: &mut Flight,
    feed: &FeedConfig,
    state: &FeedState,
    bytes: Vec<u8>,
    charset: Option<String>,
    now: DateTime<Utc>,
) -> Result<(IngestStats, Vec<DateTime<Utc>>), String> {
    let working = writer
        .working
        .acquire()
        .await
        .map_err(|_| "the database writer stopped".to_string())?;
    // The request is over: its slots go to the next fetch. They are let go only now, so
    // that bodies fetched do not pile up while the CPU is busy with earlier ones.
    flight.request = None;
    let name = feed.name.clone();
    let (items, dates) = tokio::task::spawn_blocking(move || {
        let parsed = crate::parse::parse_feed(&bytes, charset.as_deref())?;
        let dates: Vec<_> = parsed.items.iter().filter_map(|i| i.published).collect();
        Ok::<_, crate::parse::ParseError>((identify_all(&name, parsed.items), dates))
    })
    .await
    .map_err(|e| format!("parser task failed: {e}"))?
    .map_err(|e| e.to_string())?;
    let total = items.len();
    let (feed_id, first_poll) = (state.id, state.is_first_poll());
    // 1. Under the store lock, briefly: which items are new or edited? A feed never
    //    polled has nothing of its own stored: every item is fresh (a copy already stored
    //    from another feed is recognised when written).
    let (items, classes) = if first_poll {
        let n = items.len();
        (items, vec![Class::Fresh; n])
    } else {
        rt.store
            .call(move |s| {
                let classes = classify(s, feed_id, &items)?;
                Ok((items, classes))
            })
            .await
            .map_err(|e| e.to_string())?
    };
    // 2. Off the lock, in parallel with other feeds: match and fingerprint those.
    let (config, matcher, feed) = (rt.config.clone(), rt.matcher.clone(), feed.clone());
    let batch = tokio::task::spawn_blocking(move || {
        let ctx = MatchContext::new(&matcher, &config);
        let (mut prepared, mut carried) = (Vec::new(), Vec::new());
        for (it, class) in items.into_iter().zip(classes) {
            match class {
                Class::Known => {}
                Class::Carried => carried.push(it),
                Class::Fresh => prepared.push(prepare(&feed, it, &ctx)),
            }
        }
        Batch {
            feed,
            feed_id,
            first_poll,
            prepared,
            carried,
            total,
        }
    })
    .await
    .map_err(|e| format!("matching task failed: {e}"))?;
    // 3. The writer stores it, in one transaction with whatever other feeds are ready.
    let (reply, answer) = oneshot::channel();
    writer
        .jobs
        .send(Job { batch, now, reply })
        .await
        .map_err(|_| "the database writer stopped".to_string())?;
    // Handed over: the next feed may be parsed while this one waits for its group.
    drop(working);
    flight.expecting = None;
    let stats = answer
        .await
        .map_err(|_| "the database writer stopped".to_string())??;
    Ok((stats, dates))
}
