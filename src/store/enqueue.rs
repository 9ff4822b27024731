//! Store stage, the outbox as queueing sees it while a transaction queues its matches'
//! deliveries (`deliver::queue` decides who gets what; this answers its questions and
//! keeps what it queues): [`Outbox`]. A transaction queues its matches twice: a dry run
//! ([`Asked`]) learns which Message-IDs and which hours' counts the decisions need, all of
//! them are read in one query or two ([`Queue::read`]), and the real pass answers from
//! that and from what it queued itself; its deliveries are written together at the end
//! ([`Queue::flush`]) — on PostgreSQL a few round trips for a whole poll, not three a match.
//!
//! Invariants: every answer is the one the database would give at that point of the
//! transaction had each delivery been written as it was queued (anything the dry run did
//! not ask about is read from the database then); deliveries are written in the order
//! they were queued, in the caller's transaction; a Message-ID is queued at most once.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::outbox::{self, Kind};
use super::{Result, to_ts};
use crate::store::db::{Param, Transaction, many};

/// What queueing a match asks of the outbox, and what it adds to it.
pub trait Outbox {
    /// Whether a delivery with this Message-ID is already queued or sent.
    fn is_queued(&mut self, message_id: &str) -> Result<bool>;
    /// How many immediate alerts of `watch` to `recipient` were queued in `[start, end)`
    /// to go out on their own.
    fn singles_between(
        &mut self,
        watch: &str,
        recipient: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<usize>;
    /// The pending flood summary `message_id`, created if need be (`outbox::summary_batch`).
    fn summary_batch(
        &mut self,
        watch: &str,
        recipient: &str,
        window: (DateTime<Utc>, DateTime<Utc>),
        message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>>;
    /// Record that `watch`'s match `match_id` alerted for the story `story` (queued for
    /// `digest`, if a digest watch's), for the Atom feeds (`store::published`); the first
    /// record of a (watch, story) stands.
    fn record_alerted(
        &mut self,
        watch: &str,
        story: &str,
        digest: Option<&str>,
        match_id: i64,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Queue one delivery; false when its Message-ID is already queued or sent.
    #[allow(clippy::too_many_arguments)]
    fn add_delivery(
        &mut self,
        match_id: i64,
        kind: Kind,
        digest: Option<&str>,
        recipient: &str,
        message_id: &str,
        batch: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<bool>;
}

/// A dry run: answers as an empty outbox would, and remembers what it was asked.
#[derive(Default)]
pub struct Asked {
    message_ids: Vec<String>,
    /// (watch, start, end) of the single-alert counts asked.
    windows: HashSet<(String, i64, i64)>,
}

impl Outbox for Asked {
    fn record_alerted(
        &mut self,
        _: &str,
        _: &str,
        _: Option<&str>,
        _: i64,
        _: DateTime<Utc>,
    ) -> Result<()> {
        Ok(())
    }

    fn is_queued(&mut self, message_id: &str) -> Result<bool> {
        self.message_ids.push(message_id.to_string());
        Ok(false)
    }

    fn singles_between(
        &mut self,
        watch: &str,
        _: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<usize> {
        self.windows
            .insert((watch.to_string(), to_ts(start), to_ts(end)));
        Ok(0)
    }

    fn summary_batch(
        &mut self,
        _: &str,
        _: &str,
        _: (DateTime<Utc>, DateTime<Utc>),
        _: &str,
        _: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        Ok(None)
    }

    fn add_delivery(
        &mut self,
        _: i64,
        _: Kind,
        _: Option<&str>,
        _: &str,
        message_id: &str,
        _: Option<i64>,
        _: DateTime<Utc>,
    ) -> Result<bool> {
        self.message_ids.push(message_id.to_string());
        Ok(true)
    }
}

/// A delivery queued, to be written.
struct Queued {
    match_id: i64,
    kind: Kind,
    digest: Option<String>,
    recipient: String,
    message_id: String,
    batch: Option<i64>,
    at: i64,
}

/// The outbox of one transaction's queueing: what the database held, read at once, and
/// the deliveries queued since.
pub struct Queue<'t, 'c, 'w> {
    tx: &'t Transaction<'c>,
    /// The watch of each match being queued (a watch's single alerts are counted).
    watches: &'w HashMap<i64, String>,
    /// The Message-IDs read, and those of them the outbox holds.
    read: HashSet<String>,
    stored: HashSet<String>,
    /// Single alerts stored per (watch, recipient, start, end), for the windows read.
    windows: HashSet<(String, i64, i64)>,
    singles: HashMap<(String, String, i64, i64), usize>,
    summaries: HashMap<String, Option<i64>>,
    queued: Vec<Queued>,
    queued_ids: HashSet<String>,
    /// When each single alert queued here was, per (watch, recipient).
    queued_singles: HashMap<(String, String), Vec<i64>>,
    /// The (watch, story) pairs that alerted, first record first: (watch, story, digest,
    /// match, when).
    alerted: Vec<(String, String, Option<String>, i64, i64)>,
    alerted_keys: HashSet<(String, String)>,
}

impl<'t, 'c, 'w> Queue<'t, 'c, 'w> {
    /// Read what the dry run `asked` about, for the matches `watches` names.
    pub fn read(
        tx: &'t Transaction<'c>,
        asked: Asked,
        watches: &'w HashMap<i64, String>,
    ) -> Result<Self> {
        let ids: Vec<&str> = asked.message_ids.iter().map(String::as_str).collect();
        let stored = if ids.is_empty() {
            HashSet::new()
        } else {
            let sql = format!(
                "SELECT message_id FROM deliveries WHERE message_id {}",
                tx.in_list(1)
            );
            tx.query_map(&sql, [&ids], |r| r.get(0))?
                .into_iter()
                .collect()
        };
        let mut singles = HashMap::new();
        let mut by_window: HashMap<(i64, i64), Vec<&str>> = HashMap::new();
        for (watch, start, end) in &asked.windows {
            by_window.entry((*start, *end)).or_default().push(watch);
        }
        for ((start, end), watches) in by_window {
            let sql = format!(
                "SELECT m.watch, d.recipient, COUNT(*) FROM deliveries d JOIN matches m ON m.id = d.match_id
                 WHERE d.kind = 'immediate' AND d.created_at >= ?1 AND d.created_at < ?2
                   AND d.batch_id IS NULL AND m.watch {}
                 GROUP BY m.watch, d.recipient",
                tx.in_list(3)
            );
            let params: [Param<'_>; 3] =
                [Param::Int(start), Param::Int(end), Param::List(&watches)];
            for (watch, recipient, n) in tx.query_map(&sql, &params[..], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, usize>(2)?,
                ))
            })? {
                singles.insert((watch, recipient, start, end), n);
            }
        }
        Ok(Queue {
            tx,
            watches,
            read: asked.message_ids.into_iter().collect(),
            stored,
            windows: asked.windows,
            singles,
            summaries: HashMap::new(),
            queued: Vec::new(),
            queued_ids: HashSet::new(),
            queued_singles: HashMap::new(),
            alerted: Vec::new(),
            alerted_keys: HashSet::new(),
        })
    }

    /// Write the deliveries queued, in the order they were, and the stories that alerted.
    pub fn flush(self) -> Result<()> {
        let mut a = Vec::with_capacity(self.alerted.len() * 5);
        for (watch, story, digest, match_id, at) in &self.alerted {
            a.extend([
                Param::Text(watch),
                Param::Text(story),
                digest.as_deref().map_or(Param::Null, Param::Text),
                Param::Int(*match_id),
                Param::Int(*at),
            ]);
        }
        many::insert(
            self.tx,
            "INSERT INTO story_alerts (watch, story_key, digest, match_id, alerted_at)",
            "ON CONFLICT (watch, story_key) DO NOTHING",
            5,
            &a,
        )?;
        let mut p = Vec::with_capacity(self.queued.len() * 8);
        for q in &self.queued {
            p.extend([
                Param::Int(q.match_id),
                Param::Text(q.kind.as_str()),
                q.digest.as_deref().map_or(Param::Null, Param::Text),
                Param::Text(&q.recipient),
                Param::Text(&q.message_id),
                Param::Int(q.at),
                Param::Int(q.at),
                q.batch.map_or(Param::Null, Param::Int),
            ]);
        }
        many::insert(
            self.tx,
            "INSERT INTO deliveries (match_id, kind, digest, recipient, message_id, next_attempt_at,
             created_at, batch_id)",
            "ON CONFLICT (message_id) DO NOTHING",
            8,
            &p,
        )?;
        Ok(())
    }
}

impl Outbox for Queue<'_, '_, '_> {
    fn record_alerted(
        &mut self,
        watch: &str,
        story: &str,
        digest: Option<&str>,
        match_id: i64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if self
            .alerted_keys
            .insert((watch.to_string(), story.to_string()))
        {
            self.alerted.push((
                watch.to_string(),
                story.to_string(),
                digest.map(str::to_string),
                match_id,
                to_ts(now),
            ));
        }
        Ok(())
    }

    fn is_queued(&mut self, message_id: &str) -> Result<bool> {
        if self.queued_ids.contains(message_id) {
            return Ok(true);
        }
        if self.read.contains(message_id) {
            return Ok(self.stored.contains(message_id));
        }
        outbox::is_queued(self.tx, message_id)
    }

    fn singles_between(
        &mut self,
        watch: &str,
        recipient: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<usize> {
        let (s, e) = (to_ts(start), to_ts(end));
        let stored = if self.windows.contains(&(watch.to_string(), s, e)) {
            let key = (watch.to_string(), recipient.to_string(), s, e);
            self.singles.get(&key).copied().unwrap_or(0)
        } else {
            outbox::singles_between(self.tx, watch, recipient, start, end)?
        };
        let queued = self
            .queued_singles
            .get(&(watch.to_string(), recipient.to_string()))
            .map_or(0, |at| at.iter().filter(|t| (s..e).contains(t)).count());
        Ok(stored + queued)
    }

    fn summary_batch(
        &mut self,
        watch: &str,
        recipient: &str,
        window: (DateTime<Utc>, DateTime<Utc>),
        message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        if let Some(b) = self.summaries.get(message_id) {
            return Ok(*b);
        }
        let b = outbox::summary_batch(self.tx, watch, recipient, window, message_id, now)?;
        self.summaries.insert(message_id.to_string(), b);
        Ok(b)
    }

    fn add_delivery(
        &mut self,
        match_id: i64,
        kind: Kind,
        digest: Option<&str>,
        recipient: &str,
        message_id: &str,
        batch: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        if self.is_queued(message_id)? {
            return Ok(false);
        }
        self.queued_ids.insert(message_id.to_string());
        if kind == Kind::Immediate
            && batch.is_none()
            && let Some(watch) = self.watches.get(&match_id)
        {
            self.queued_singles
                .entry((watch.clone(), recipient.to_string()))
                .or_default()
                .push(to_ts(now));
        }
        self.queued.push(Queued {
            match_id,
            kind,
            digest: digest.map(str::to_string),
            recipient: recipient.to_string(),
            message_id: message_id.to_string(),
            batch,
            at: to_ts(now),
        });
        Ok(true)
    }
}
