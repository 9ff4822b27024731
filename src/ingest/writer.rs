//! Ingest, the writer: the one task that writes polled feeds into the store, in groups
//! (group commit), and the one that records polls' outcomes in the feeds' rows, likewise.
//! Invariants: it ends with the last sender; a group that fails is retried feed by feed
//! (`write::store_batches`), so one feed's failure costs only that feed; the number of
//! feeds parsed and matched at once is bounded, and with it a poll's memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use super::Runtime;
use super::limits::Slots;
use super::prepare::{IngestStats, MatchContext};
use super::write::{Batch, store_batches};
use crate::store::feeds::PollRecord;

/// A feed's batch on its way to the writer, and where its result goes.
pub(super) struct Job {
    pub(super) batch: Batch,
    pub(super) now: DateTime<Utc>,
    pub(super) reply: oneshot::Sender<Result<IngestStats, String>>,
    /// Its share of the [`MATCH_BUDGET`], given back once its group is written.
    pub(super) budget: OwnedSemaphorePermit,
}

/// The way to the writer, and the permits that bound how many fetched feeds are being
/// parsed and matched at once.
#[derive(Clone)]
pub(super) struct Writer {
    pub(super) jobs: mpsc::Sender<Job>,
    /// Parsed items, matches and fingerprints are the bulk of a poll's memory: the CPU
    /// cannot go faster than a few feeds per core anyway, so more in flight would only
    /// wait, holding memory (fetches still overlap freely).
    pub(super) working: Arc<Semaphore>,
    /// Matches between matching and the end of their write ([`MATCH_BUDGET`]).
    pub(super) budget: Arc<Semaphore>,
    /// How many feeds of this poll may still send a batch.
    pub(super) expected: Arc<Expected>,
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
    pub(super) async fn record(
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
pub(super) struct Expected {
    count: AtomicUsize,
    changed: Notify,
}

/// One feed that may still send a batch; dropped once it has sent it or knows it won't.
pub(super) struct Expecting(Arc<Expected>);

impl Expected {
    pub(super) fn expect(self: &Arc<Self>) -> Expecting {
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
pub(super) struct Flight {
    /// The per-host and global slots of its request (contract §6: requests in flight).
    pub(super) request: Option<Slots>,
    /// Its place in the writer's count of feeds that may still send a batch.
    pub(super) expecting: Option<Expecting>,
}

/// Matches (of the watches on the articles) held at once between matching and the end of
/// their write, in batches waiting for the writer and in the group it writes. Broad
/// watches make hundreds of matches an article, and memory must not grow with them: a
/// feed's batch waits for its share before it is queued (a share is at most the whole).
pub(super) const MATCH_BUDGET: usize = 60_000;

/// Feeds parsed and matched at once, per core.
const WORKING_PER_CORE: usize = 4;
/// Batches waiting for the writer. They are few because the writer is faster than the
/// parsing and matching that feed it; the bound is on memory should the disk stall.
const QUEUED: usize = 16;
/// A group is written once it holds this many items or this many bytes of text...
///
/// Its items are filed into stories in publication order (`write::store_batches`), so
/// the fewer groups a burst is cut into, the less its stories depend on which feed
/// answered first. A first poll of 3,317 real items of 12 outlets
/// (`bench/stories/eval.py`) cut at 1,000 items found 55 to 57 of its 66 same-event
/// pairs, depending on the run; in one group, 58 or 59 (precision 0.966 → 0.983).
const GROUP_ITEMS: usize = 5_000;
const GROUP_BYTES: usize = 32 << 20;
/// ...or this long after its first batch arrived, whichever comes first.
const GROUP_WAIT: Duration = Duration::from_millis(100);

/// Group commit: one task writes the batches of the feeds that finish within
/// [`GROUP_WAIT`] of each other in one transaction (see `write::store_batches`). A burst
/// of new articles then rewrites each index page once per group rather than once per
/// feed: their keys are random, so a group of a few feeds dirties nearly every leaf of
/// those indexes, and the write-ahead log grows by that much per commit. It ends with
/// the last sender.
pub(super) fn spawn_writer(rt: &Runtime) -> Writer {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let (tx, mut rx) = mpsc::channel::<Job>(QUEUED);
    let expected = Arc::new(Expected::default());
    let writer = Writer {
        jobs: tx,
        working: Arc::new(Semaphore::new(cores * WORKING_PER_CORE)),
        budget: Arc::new(Semaphore::new(MATCH_BUDGET)),
        expected: expected.clone(),
        records: spawn_recorder(rt),
    };
    let rt = rt.clone();
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let deadline = tokio::time::Instant::now() + GROUP_WAIT;
            let size = |j: &Job| j.batch.prepared.len() + j.batch.carried.len();
            let (mut items, mut bytes) = (size(&first), first.batch.text_bytes());
            let mut jobs = vec![first];
            while items < GROUP_ITEMS && bytes < GROUP_BYTES {
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
                    bytes += j.batch.text_bytes();
                    jobs.push(j);
                }
            }
            let now = jobs.iter().map(|j| j.now).max().unwrap_or_else(Utc::now);
            let mut budget = Vec::with_capacity(jobs.len());
            let (batches, replies): (Vec<Batch>, Vec<_>) = jobs
                .into_iter()
                .map(|j| {
                    budget.push(j.budget);
                    (j.batch, j.reply)
                })
                .unzip();
            let (config, matcher) = (rt.config.clone(), rt.matcher.clone());
            let results = rt
                .store
                .call(move |s| {
                    let ctx = MatchContext::new(&matcher, &config);
                    Ok(store_batches(s, &batches, &ctx, now))
                })
                .await;
            answer_each(replies, results);
            drop(budget);
        }
    });
    writer
}
