//! Store stage, notices: messages that are not alerts (a feed failing for a day, gone
//! silent, recovered), in the outbox beside deliveries and batches. Invariants: a notice is
//! queued in the caller's transaction (with the state it tells of), unique by its
//! Message-ID, so telling the same thing twice queues it once; it leaves `pending` only once
//! it was sent or given up, and the marks end its claim.

use chrono::{DateTime, Utc};

use super::db::{Connection, Transaction, params};
use super::{Result, from_ts, to_ts};

/// What a notice is about, as the worker needs it to send one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub id: i64,
    /// `feed-health`.
    pub kind: String,
    /// What it is about: the feed's name.
    pub subject_of: String,
    /// An address, or `channel:NAME`.
    pub recipient: String,
    pub message_id: String,
    pub subject: String,
    pub body: String,
    pub attempts: u32,
    /// The 24 h of retries count from here.
    pub retry_since: DateTime<Utc>,
}

/// A notice to queue (its id and attempts are the store's).
#[derive(Debug, Clone, Copy)]
pub struct NewNotice<'a> {
    pub kind: &'a str,
    pub subject_of: &'a str,
    pub recipient: &'a str,
    pub message_id: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

/// Queue a notice, due at `now`; false when that Message-ID is already queued or sent.
pub fn queue(tx: &Transaction<'_>, n: NewNotice<'_>, now: DateTime<Utc>) -> Result<bool> {
    let added = tx.execute(
        "INSERT INTO notices (kind, subject_of, recipient, message_id, subject, body,
                              next_attempt_at, retry_since, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?7) ON CONFLICT (message_id) DO NOTHING",
        params![
            n.kind,
            n.subject_of,
            n.recipient,
            n.message_id,
            n.subject,
            n.body,
            to_ts(now)
        ],
    )?;
    Ok(added == 1)
}

/// Notices due for a (re)try at `now`, oldest first.
pub fn due(conn: &Connection, now: DateTime<Utc>, limit: usize) -> Result<Vec<Notice>> {
    let mut stmt = conn.prepare(
        "SELECT id, kind, subject_of, recipient, message_id, subject, body, attempts, retry_since
         FROM notices WHERE status = 'pending' AND next_attempt_at <= ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![to_ts(now), limit as i64], |r| {
        Ok(Notice {
            id: r.get(0)?,
            kind: r.get(1)?,
            subject_of: r.get(2)?,
            recipient: r.get(3)?,
            message_id: r.get(4)?,
            subject: r.get(5)?,
            body: r.get(6)?,
            attempts: r.get(7)?,
            retry_since: from_ts(r.get(8)?),
        })
    })?;
    Ok(rows.collect::<super::db::Result<Vec<_>>>()?)
}

pub fn mark_sent(conn: &Connection, id: i64, now: DateTime<Utc>) -> Result<()> {
    conn.execute(
        "UPDATE notices SET status = 'sent', sent_at = ?2, attempts = attempts + 1, last_error = NULL,
                            claim_owner = NULL, claim_until = NULL
         WHERE id = ?1",
        params![id, to_ts(now)],
    )?;
    Ok(())
}

/// A failed attempt: try again at `next`, or give up (`None`).
pub fn mark_failed(
    conn: &Connection,
    id: i64,
    error: &str,
    next: Option<DateTime<Utc>>,
) -> Result<()> {
    match next {
        Some(next) => conn.execute(
            "UPDATE notices SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3,
                                claim_owner = NULL, claim_until = NULL
             WHERE id = ?1",
            params![id, error, to_ts(next)],
        )?,
        None => conn.execute(
            "UPDATE notices SET attempts = attempts + 1, last_error = ?2, status = 'failed',
                                claim_owner = NULL, claim_until = NULL
             WHERE id = ?1",
            params![id, error],
        )?,
    };
    Ok(())
}

/// Pending and failed notices, for `vigie outbox`.
pub fn counts(conn: &Connection) -> Result<(u64, u64)> {
    conn.query_row(
        "SELECT COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0)
         FROM notices",
        [],
        |r| {
            Ok((
                u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
            ))
        },
    )
    .map_err(Into::into)
}
