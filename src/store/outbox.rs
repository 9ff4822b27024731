//! Store stage, matches and the outbox. Invariants: a match is unique per (watch,
//! article), so an edited article never alerts twice for one watch; a delivery is unique
//! by its Message-ID, derived from (watch, story, recipient); both are written in the
//! article's transaction, and a delivery only leaves `pending` once it was sent or gave up.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction, params};

use super::articles::{ArticleRow, article};
use super::{Result, from_ts, to_ts};

/// Record that `watch` matched an article. `None` when it already had (no new alert).
pub fn record_match(
    tx: &Transaction<'_>,
    watch: &str,
    article_id: i64,
    hits_json: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    let n = tx.execute(
        "INSERT INTO matches (watch, article_id, hits, matched_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (watch, article_id) DO NOTHING",
        params![watch, article_id, hits_json, to_ts(now)],
    )?;
    Ok((n == 1).then(|| tx.last_insert_rowid()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Immediate,
    Digest,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Immediate => "immediate",
            Kind::Digest => "digest",
        }
    }
}

/// Queue one email. Returns false when that Message-ID is already queued or sent.
pub fn add_delivery(
    tx: &Transaction<'_>,
    match_id: i64,
    kind: Kind,
    digest: Option<&str>,
    recipient: &str,
    message_id: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let n = tx.execute(
        "INSERT INTO deliveries (match_id, kind, digest, recipient, message_id, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) ON CONFLICT (message_id) DO NOTHING",
        params![match_id, kind.as_str(), digest, recipient, message_id, to_ts(now)],
    )?;
    Ok(n == 1)
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
    pub created_at: DateTime<Utc>,
    pub article: ArticleRow,
}

/// Immediate alerts due for a (re)try at `now`, oldest first.
pub fn due_alerts(
    conn: &Connection,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<PendingAlert>> {
    let mut stmt = conn.prepare(
        "SELECT d.id, d.message_id, d.recipient, m.watch, m.hits, d.attempts, d.created_at, m.article_id
         FROM deliveries d JOIN matches m ON m.id = d.match_id
         WHERE d.status = 'pending' AND d.kind = 'immediate' AND d.next_attempt_at <= ?1
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
        let (delivery_id, message_id, recipient, watch, hits_json, attempts, created, article_id) =
            row?;
        if let Some(article) = article(conn, article_id)? {
            out.push(PendingAlert {
                delivery_id,
                message_id,
                recipient,
                watch,
                hits_json,
                attempts,
                created_at: from_ts(created),
                article,
            });
        }
    }
    Ok(out)
}

pub fn mark_sent(conn: &Connection, delivery_id: i64, now: DateTime<Utc>) -> Result<()> {
    conn.execute(
        "UPDATE deliveries SET status = 'sent', sent_at = ?2, attempts = attempts + 1, last_error = NULL
         WHERE id = ?1",
        params![delivery_id, to_ts(now)],
    )?;
    Ok(())
}

/// A failed attempt: try again at `next`, or give up (`next` = None) and mark it failed.
pub fn mark_attempt_failed(
    conn: &Connection,
    delivery_id: i64,
    error: &str,
    next: Option<DateTime<Utc>>,
) -> Result<()> {
    match next {
        Some(next) => conn.execute(
            "UPDATE deliveries SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3 WHERE id = ?1",
            params![delivery_id, error, to_ts(next)],
        )?,
        None => conn.execute(
            "UPDATE deliveries SET attempts = attempts + 1, last_error = ?2, status = 'failed' WHERE id = ?1",
            params![delivery_id, error],
        )?,
    };
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
