//! Store stage, batches: emails that carry several deliveries — a digest for one
//! recipient, or the summary of one watch's flood hour. Invariants: a digest is built in
//! one transaction that creates its batches, assigns them every waiting item queued up to
//! its scheduled time and records that time as the digest's last run — after a crash
//! either all of it happened or none; a batch's deliveries leave `pending` with it.

use std::collections::BTreeMap;

use crate::store::db::{Connection, OptionalExtension, params};
use chrono::{DateTime, Utc};

use super::articles::{ArticleRow, article};
use super::{Result, from_ts, to_ts};

/// The scheduled time of the digest's last run, if it ever ran.
pub fn last_run(conn: &Connection, name: &str) -> Result<Option<DateTime<Utc>>> {
    Ok(conn
        .query_row(
            "SELECT last_at FROM digest_runs WHERE name = ?1",
            [name],
            |r| r.get::<_, i64>(0),
        )
        .optional()?
        .map(from_ts))
}

/// When the oldest item waiting for this digest was queued.
pub fn oldest_waiting(conn: &Connection, name: &str) -> Result<Option<DateTime<Utc>>> {
    Ok(conn
        .query_row(
            "SELECT MIN(created_at) FROM deliveries
             WHERE status = 'pending' AND kind = 'digest' AND digest = ?1 AND batch_id IS NULL",
            [name],
            |r| r.get::<_, Option<i64>>(0),
        )?
        .map(from_ts))
}

/// Build the digest `name` scheduled at `at`, covering what was queued since `since`:
/// one batch per recipient that has waiting items queued up to `at` (a recipient with
/// none gets nothing), due at once. Records `at` as the digest's last run either way.
/// `message_id` gives each recipient's Message-ID. Returns the batches created.
pub fn build(
    conn: &mut Connection,
    name: &str,
    since: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    message_id: &dyn Fn(&str) -> String,
) -> Result<usize> {
    // One builder at a time, whichever process (the daemon, `vigie digest send`, `vigie
    // poll`): the next one reads what this one left.
    let tx = conn.write_transaction()?;
    let recipients: Vec<String> = {
        let mut stmt = tx.prepare(
            "SELECT DISTINCT recipient FROM deliveries
             WHERE status = 'pending' AND kind = 'digest' AND digest = ?1 AND batch_id IS NULL
               AND created_at <= ?2 ORDER BY recipient",
        )?;
        stmt.query_map(params![name, to_ts(at)], |r| r.get(0))?
            .collect::<crate::store::db::Result<_>>()?
    };
    let mut made = 0;
    for to in &recipients {
        let mid = message_id(to);
        let batch = tx.insert(
            "INSERT INTO batches (kind, name, recipient, period_start, period_end, message_id,
                                  next_attempt_at, retry_since, created_at)
             VALUES ('digest', ?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6) ON CONFLICT (message_id) DO NOTHING",
            params![name, to, since.map(to_ts), to_ts(at), mid, to_ts(now)],
        )?;
        let Some(batch) = batch else {
            continue;
        };
        tx.execute(
            "UPDATE deliveries SET batch_id = ?1
             WHERE status = 'pending' AND kind = 'digest' AND digest = ?2 AND recipient = ?3
               AND batch_id IS NULL AND created_at <= ?4",
            params![batch, name, to, to_ts(at)],
        )?;
        made += 1;
    }
    tx.execute(
        "INSERT INTO digest_runs (name, last_at) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET last_at =
             CASE WHEN digest_runs.last_at > excluded.last_at THEN digest_runs.last_at ELSE excluded.last_at END",
        params![name, to_ts(at)],
    )?;
    tx.commit()?;
    Ok(made)
}

/// A batch waiting to be sent.
#[derive(Debug, Clone)]
pub struct Batch {
    pub id: i64,
    /// `digest` or `flood`.
    pub kind: String,
    /// The digest's name, or the flooding watch's.
    pub name: String,
    pub recipient: String,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: DateTime<Utc>,
    pub message_id: String,
    pub attempts: u32,
    pub retry_since: DateTime<Utc>,
}

/// Batches due for a (re)try at `now`, oldest first.
/// Give up on the deliveries waiting for a digest that is not among `configured` (one
/// removed from the configuration): they are marked failed, with the reason, so that
/// `vigie outbox --failed` shows them and their articles are no longer held back from
/// retention. Returns how many were.
pub fn fail_unconfigured(
    conn: &Connection,
    configured: &[String],
    now: DateTime<Utc>,
) -> Result<usize> {
    let waiting: Vec<String> = conn
        .prepare(
            "SELECT DISTINCT digest FROM deliveries
             WHERE status = 'pending' AND kind = 'digest' AND batch_id IS NULL AND digest IS NOT NULL",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<crate::store::db::Result<_>>()?;
    let mut failed = 0;
    for name in waiting.iter().filter(|n| !configured.contains(n)) {
        failed += conn.execute(
            "UPDATE deliveries SET status = 'failed', next_attempt_at = ?3,
                 last_error = 'the digest \"' || ?1 || '\" is no longer configured (given up ' || ?2 || ')'
             WHERE status = 'pending' AND kind = 'digest' AND batch_id IS NULL AND digest = ?1",
            params![name, now.format("%Y-%m-%d %H:%M UTC").to_string(), to_ts(now)],
        )?;
    }
    Ok(failed)
}

pub fn due_batches(conn: &Connection, now: DateTime<Utc>, limit: usize) -> Result<Vec<Batch>> {
    let mut stmt = conn.prepare(
        "SELECT id, kind, name, recipient, period_start, period_end, message_id, attempts, retry_since
         FROM batches WHERE status = 'pending' AND next_attempt_at <= ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![to_ts(now), limit as i64], |r| {
        Ok(Batch {
            id: r.get(0)?,
            kind: r.get(1)?,
            name: r.get(2)?,
            recipient: r.get(3)?,
            period_start: r.get::<_, Option<i64>>(4)?.map(from_ts),
            period_end: from_ts(r.get(5)?),
            message_id: r.get(6)?,
            attempts: r.get(7)?,
            retry_since: from_ts(r.get(8)?),
        })
    })?;
    Ok(rows.collect::<crate::store::db::Result<Vec<_>>>()?)
}

/// One matched story in a batch.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The delivery it shows.
    pub delivery_id: i64,
    pub watch: String,
    pub hits_json: String,
    /// The story's identity: one entry per story is shown (copies of one dispatch in
    /// several outlets are one story: `store::stories`).
    pub story: String,
    pub article: ArticleRow,
    /// Every outlet (feed name) that carried the story, first seen first.
    pub outlets: Vec<String>,
}

/// The entries of a batch.
pub fn batch_entries(conn: &Connection, batch_id: i64) -> Result<Vec<Entry>> {
    entries(conn, "WHERE d.batch_id = ?1", params![batch_id])
}

/// What a digest built at `upto` would hold, per recipient (for `--dry-run`).
pub fn waiting_entries(
    conn: &Connection,
    name: &str,
    upto: DateTime<Utc>,
) -> Result<BTreeMap<String, Vec<Entry>>> {
    let mut stmt = conn.prepare(
        "SELECT d.recipient, d.id FROM deliveries d
         WHERE d.status = 'pending' AND d.kind = 'digest' AND d.digest = ?1 AND d.batch_id IS NULL
           AND d.created_at <= ?2 ORDER BY d.id",
    )?;
    let ids: Vec<(String, i64)> = stmt
        .query_map(params![name, to_ts(upto)], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<crate::store::db::Result<_>>()?;
    let mut out: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
    for (to, id) in ids {
        out.entry(to)
            .or_default()
            .extend(entries(conn, "WHERE d.id = ?1", params![id])?);
    }
    Ok(out)
}

fn entries(
    conn: &Connection,
    filter: &str,
    args: impl crate::store::db::Params,
) -> Result<Vec<Entry>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT d.id, m.watch, m.hits, m.article_id FROM deliveries d JOIN matches m ON m.id = d.match_id
         {filter} ORDER BY d.id"
    ))?;
    let rows: Vec<(i64, String, String, i64)> = stmt
        .query_map(args, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<crate::store::db::Result<_>>()?;
    let mut out = Vec::with_capacity(rows.len());
    for (delivery_id, watch, hits_json, article_id) in rows {
        let Some(article) = article(conn, article_id)? else {
            continue;
        };
        out.push(Entry {
            delivery_id,
            watch,
            hits_json,
            story: super::stories::story_key(conn, article_id)?
                .unwrap_or_else(|| article.key.clone()),
            outlets: outlets(conn, article_id)?,
            article,
        });
    }
    Ok(out)
}

/// Every feed that carried the article's story (any copy of it), in the order they
/// first carried it.
pub fn outlets(conn: &Connection, article_id: i64) -> Result<Vec<String>> {
    super::stories::outlets(conn, article_id)
}

/// The batch was sent, showing the deliveries `shown`: they are done. A delivery that joined
/// the batch after its entries were read (an alert folded into a flood summary while it was
/// being sent) was not in the email: it leaves the batch and goes out on its own (a digest
/// item waits for the next digest), never marked sent unseen.
pub fn mark_batch_sent(
    conn: &mut Connection,
    id: i64,
    shown: &[i64],
    now: DateTime<Utc>,
) -> Result<()> {
    let tx = conn.transaction()?;
    tx.execute(
        "UPDATE batches SET status = 'sent', sent_at = ?2, attempts = attempts + 1, last_error = NULL,
                            claim_owner = NULL, claim_until = NULL
         WHERE id = ?1",
        params![id, to_ts(now)],
    )?;
    for &d in shown {
        tx.execute(
            "UPDATE deliveries SET status = 'sent', sent_at = ?3, attempts = attempts + 1, last_error = NULL
             WHERE id = ?1 AND batch_id = ?2 AND status = 'pending'",
            params![d, id, to_ts(now)],
        )?;
    }
    let unseen = tx.execute(
        "UPDATE deliveries SET batch_id = NULL, next_attempt_at = ?2
         WHERE batch_id = ?1 AND status = 'pending'",
        params![id, to_ts(now)],
    )?;
    tx.commit()?;
    if unseen > 0 {
        tracing::info!(
            batch = id,
            deliveries = unseen,
            "deliveries that joined a batch while it was sent go out on their own"
        );
    }
    Ok(())
}

/// A failed attempt at a batch: try again at `next`, or give up (`None`), with its
/// deliveries.
pub fn mark_batch_failed(
    conn: &mut Connection,
    id: i64,
    error: &str,
    next: Option<DateTime<Utc>>,
) -> Result<()> {
    let tx = conn.transaction()?;
    match next {
        Some(next) => {
            tx.execute(
                "UPDATE batches SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3,
                                    claim_owner = NULL, claim_until = NULL
                 WHERE id = ?1",
                params![id, error, to_ts(next)],
            )?;
        }
        None => {
            tx.execute(
                "UPDATE batches SET attempts = attempts + 1, last_error = ?2, status = 'failed',
                                    claim_owner = NULL, claim_until = NULL
                 WHERE id = ?1",
                params![id, error],
            )?;
            tx.execute(
                "UPDATE deliveries SET last_error = ?2, status = 'failed' WHERE batch_id = ?1 AND status = 'pending'",
                params![id, error],
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}
