//! Store stage, matches and the outbox. Invariants: a match is unique per (watch,
//! article), so an edited article never alerts twice for one watch; a delivery is unique
//! by its Message-ID, derived from (watch, story, recipient); both are written in the
//! article's transaction, a delivery folded into a flood summary pointing at that
//! summary's batch (which deliveries fold is the deliver stage's decision:
//! `deliver::queue`); a delivery only leaves `pending` once it was sent or gave up.

use crate::store::db::{Connection, OptionalExtension, Transaction, params};
use chrono::{DateTime, Utc};

use super::articles::{ArticleRow, article};
use super::{Result, from_ts, to_ts};
use crate::rules::{Field, Hit};

/// One stored hit: `[field, start, end, text]`, field 0 title, 1 summary, 2 content.
type StoredHit = (u8, usize, usize, String);

/// A hit as rows have held it: compact, or keyed (rows written before the compact form).
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Stored {
    Compact(StoredHit),
    Keyed(Hit),
}

/// A match's hits as they are stored: each an array `[field, start, end, text]`, about a
/// third of the keyed JSON object (millions of rows, with broad watches).
pub fn encode_hits<'h>(hits: impl IntoIterator<Item = &'h Hit>) -> String {
    let compact: Vec<(u8, usize, usize, &str)> = hits
        .into_iter()
        .map(|h| (h.field as u8, h.start, h.end, h.text.as_str()))
        .collect();
    serde_json::to_string(&compact).unwrap_or_else(|_| "[]".into())
}

/// The hits of a stored match, in either form; nothing from a row that is not JSON.
pub fn decode_hits(json: &str) -> Vec<Hit> {
    let stored: Vec<Stored> = serde_json::from_str(json).unwrap_or_default();
    stored
        .into_iter()
        .filter_map(|s| match s {
            Stored::Keyed(h) => Some(h),
            Stored::Compact((f, start, end, text)) => Some(Hit {
                field: *Field::ALL.get(usize::from(f))?,
                start,
                end,
                text,
            }),
        })
        .collect()
}

/// Record that `watch` matched an article. `None` when it already had (no new alert).
pub fn record_match(
    tx: &Transaction<'_>,
    watch: &str,
    article_id: i64,
    hits_json: &str,
    hit_count: usize,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    Ok(tx.insert(
        "INSERT INTO matches (watch, article_id, hits, matched_at, hit_count) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (watch, article_id) DO NOTHING",
        params![watch, article_id, hits_json, to_ts(now), hit_count as i64],
    )?)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Immediate,
    Digest,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Immediate => "immediate",
            Kind::Digest => "digest",
        }
    }
}

/// Whether a delivery with this Message-ID is already queued or sent.
pub fn is_queued(tx: &Transaction<'_>, message_id: &str) -> Result<bool> {
    Ok(tx
        .query_row(
            "SELECT 1 FROM deliveries WHERE message_id = ?1",
            [message_id],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Queue one email; `batch` is the summary or digest it travels in, if not on its own.
/// Returns false when that Message-ID is already queued or sent.
#[allow(clippy::too_many_arguments)]
pub fn add_delivery(
    tx: &Transaction<'_>,
    match_id: i64,
    kind: Kind,
    digest: Option<&str>,
    recipient: &str,
    message_id: &str,
    batch: Option<i64>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let n = tx.execute(
        "INSERT INTO deliveries (match_id, kind, digest, recipient, message_id, next_attempt_at, created_at, batch_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7) ON CONFLICT (message_id) DO NOTHING",
        params![match_id, kind.as_str(), digest, recipient, message_id, to_ts(now), batch],
    )?;
    Ok(n == 1)
}

/// How many immediate alerts of `watch` to `recipient` were queued in `[start, end)` to
/// go out on their own (not folded into a summary).
pub fn singles_between(
    tx: &Transaction<'_>,
    watch: &str,
    recipient: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<usize> {
    let n: i64 = tx.query_row(
        "SELECT COUNT(*) FROM deliveries d JOIN matches m ON m.id = d.match_id
         WHERE d.kind = 'immediate' AND d.recipient = ?1 AND d.created_at >= ?2 AND d.created_at < ?3
           AND d.batch_id IS NULL AND m.watch = ?4",
        params![recipient, to_ts(start), to_ts(end), watch],
        |r| r.get(0),
    )?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// The pending summary batch `message_id` of `watch`'s alerts to `recipient` over
/// `[start, end)`, created if it does not exist yet. `None` when that summary was already
/// sent (only possible with a clock gone backwards): it takes nothing more.
pub fn summary_batch(
    tx: &Transaction<'_>,
    watch: &str,
    recipient: &str,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    message_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    tx.execute(
        "INSERT INTO batches (kind, name, recipient, period_start, period_end, message_id,
                              next_attempt_at, retry_since, created_at)
         VALUES ('flood', ?1, ?2, ?3, ?4, ?5, ?4, ?4, ?6) ON CONFLICT (message_id) DO NOTHING",
        params![
            watch,
            recipient,
            to_ts(start),
            to_ts(end),
            message_id,
            to_ts(now)
        ],
    )?;
    Ok(tx
        .query_row(
            "SELECT id FROM batches WHERE message_id = ?1 AND status = 'pending'",
            [message_id],
            |r| r.get(0),
        )
        .optional()?)
}

/// An immediate alert waiting to be sent, with what its email needs.
#[derive(Debug, Clone)]
pub struct PendingAlert {
    pub delivery_id: i64,
    pub message_id: String,
    pub recipient: String,
    pub watch: String,
    pub hits_json: String,
    pub attempts: u32,
    /// The 24 h of retries count from here.
    pub retry_since: DateTime<Utc>,
    pub article: ArticleRow,
}

/// Single immediate alerts due for a (re)try at `now`, oldest first.
pub fn due_alerts(
    conn: &Connection,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<PendingAlert>> {
    let mut stmt = conn.prepare(
        "SELECT d.id, d.message_id, d.recipient, m.watch, m.hits, d.attempts,
                COALESCE(d.retry_since, d.created_at), m.article_id
         FROM deliveries d JOIN matches m ON m.id = d.match_id
         WHERE d.status = 'pending' AND d.kind = 'immediate' AND d.batch_id IS NULL
           AND d.next_attempt_at <= ?1
         ORDER BY d.id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![to_ts(now), limit as i64], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, u32>(5)?,
            r.get::<_, i64>(6)?,
            r.get::<_, i64>(7)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (delivery_id, message_id, recipient, watch, hits_json, attempts, since, article_id) =
            row?;
        if let Some(article) = article(conn, article_id)? {
            out.push(PendingAlert {
                delivery_id,
                message_id,
                recipient,
                watch,
                hits_json,
                attempts,
                retry_since: from_ts(since),
                article,
            });
        }
    }
    Ok(out)
}

pub fn mark_sent(conn: &Connection, delivery_id: i64, now: DateTime<Utc>) -> Result<()> {
    conn.execute(
        "UPDATE deliveries SET status = 'sent', sent_at = ?2, attempts = attempts + 1, last_error = NULL,
                               claim_owner = NULL, claim_until = NULL
         WHERE id = ?1",
        params![delivery_id, to_ts(now)],
    )?;
    Ok(())
}

/// Failed attempts, in one transaction: each one is tried again at its `next`, or given
/// up (`next` = None) and marked failed.
pub fn mark_attempts_failed(
    conn: &mut Connection,
    failed: &[(i64, Option<DateTime<Utc>>)],
    error: &str,
) -> Result<()> {
    let tx = conn.transaction()?;
    for &(id, next) in failed {
        match next {
            Some(next) => tx.execute(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3,
                                       claim_owner = NULL, claim_until = NULL
                 WHERE id = ?1",
                params![id, error, to_ts(next)],
            )?,
            None => tx.execute(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = ?2, status = 'failed',
                                       claim_owner = NULL, claim_until = NULL
                 WHERE id = ?1",
                params![id, error],
            )?,
        };
    }
    tx.commit()?;
    Ok(())
}

/// Counts of deliveries by status, for summaries.
pub fn counts(conn: &Connection) -> Result<(u64, u64, u64)> {
    let mut stmt = conn.prepare("SELECT status, COUNT(*) FROM deliveries GROUP BY status")?;
    let mut c = (0, 0, 0);
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (status, n) = row?;
        match status.as_str() {
            "pending" => c.0 = n as u64,
            "sent" => c.1 = n as u64,
            _ => c.2 = n as u64,
        }
    }
    Ok(c)
}

/// One line of `vigie outbox`.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: i64,
    pub kind: String,
    pub digest: Option<String>,
    pub recipient: String,
    pub watch: String,
    pub title: String,
    pub status: String,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The email it travels in, when not on its own: ('digest' | 'flood', when due).
    pub batch: Option<(String, DateTime<Utc>)>,
    /// The process (or PostgreSQL session) sending it now, if one has claimed it.
    pub claimed_by: Option<String>,
}

/// Deliveries with this status (`pending` or `failed`), oldest first. A delivery in a
/// batch shows the batch's state, since that is what will be sent.
pub fn list(conn: &Connection, status: &str) -> Result<Vec<OutboxRow>> {
    let mut stmt = conn.prepare(
        "SELECT d.id, d.kind, d.digest, d.recipient, m.watch, a.title, d.status,
                COALESCE(b.attempts, d.attempts), COALESCE(b.next_attempt_at, d.next_attempt_at),
                COALESCE(b.last_error, d.last_error), d.created_at, b.kind,
                COALESCE(b.claim_owner, d.claim_owner)
         FROM deliveries d JOIN matches m ON m.id = d.match_id JOIN articles a ON a.id = m.article_id
         LEFT JOIN batches b ON b.id = d.batch_id
         WHERE d.status = ?1 ORDER BY d.id",
    )?;
    let rows = stmt.query_map([status], |r| {
        let next = from_ts(r.get(8)?);
        Ok(OutboxRow {
            id: r.get(0)?,
            kind: r.get(1)?,
            digest: r.get(2)?,
            recipient: r.get(3)?,
            watch: r.get(4)?,
            title: r.get(5)?,
            status: r.get(6)?,
            attempts: r.get(7)?,
            next_attempt_at: next,
            last_error: r.get(9)?,
            created_at: from_ts(r.get(10)?),
            batch: r.get::<_, Option<String>>(11)?.map(|k| (k, next)),
            claimed_by: r.get(12)?,
        })
    })?;
    Ok(rows.collect::<crate::store::db::Result<Vec<_>>>()?)
}

/// `vigie outbox retry`: every failed delivery and batch becomes pending again with a
/// fresh 24 h of retries, and everything waiting for a retry is due at `now`. Digest
/// items not yet in a digest and flood summaries whose hour has not ended keep waiting;
/// notices (feed health) are revived and due too.
/// Returns how many deliveries were failed and are pending again.
pub fn retry_now(conn: &mut Connection, now: DateTime<Utc>) -> Result<usize> {
    let now = to_ts(now);
    let tx = conn.transaction()?;
    let revived = tx.execute(
        "UPDATE deliveries SET status = 'pending', retry_since = ?1, next_attempt_at = ?1
         WHERE status = 'failed'",
        [now],
    )?;
    tx.execute(
        "UPDATE deliveries SET next_attempt_at = ?1
         WHERE status = 'pending' AND kind = 'immediate' AND batch_id IS NULL AND next_attempt_at > ?1",
        [now],
    )?;
    tx.execute(
        "UPDATE batches SET status = 'pending', retry_since = ?1, next_attempt_at = ?1
         WHERE status = 'failed'",
        [now],
    )?;
    tx.execute(
        "UPDATE batches SET next_attempt_at = ?1
         WHERE status = 'pending' AND next_attempt_at > ?1 AND period_end <= ?1",
        [now],
    )?;
    tx.execute(
        "UPDATE notices SET status = 'pending', retry_since = ?1, next_attempt_at = ?1
         WHERE status = 'failed' OR (status = 'pending' AND next_attempt_at > ?1)",
        [now],
    )?;
    tx.commit()?;
    Ok(revived)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_are_stored_compact_and_read_in_either_form() {
        let hit = |field, start, end, text: &str| Hit {
            field,
            start,
            end,
            text: text.into(),
        };
        let hits = vec![
            hit(Field::Title, 0, 7, "Palmyre"),
            hit(Field::Content, 120, 131, "al-Bayarat"),
        ];
        let json = encode_hits(&hits);
        assert_eq!(json, r#"[[0,0,7,"Palmyre"],[2,120,131,"al-Bayarat"]]"#);
        assert_eq!(decode_hits(&json), hits);
        // A row written before the compact form.
        let keyed = r#"[{"field":"summary","start":3,"end":9,"text":"Alep"}]"#;
        assert_eq!(decode_hits(keyed)[0].field, Field::Summary);
        assert!(decode_hits("not json").is_empty());
    }
}
