//! Store stage, PostgreSQL leases: which instance polls a feed, and which instance leads.
//!
//! Invariants: a feed is claimed with `FOR UPDATE SKIP LOCKED`, so two instances claiming at
//! the same moment never get the same feed and never wait on each other; a claim raises the
//! feed's epoch, and a poll is recorded only under the epoch and owner that claimed it, while
//! the lease still runs (a late finish from an instance whose lease lapsed changes nothing);
//! leadership is one row whose epoch grows when it passes to another instance, and a leader
//! checks that row inside each of its write transactions.

use std::time::Duration;

use tokio_postgres::GenericClient;

use super::PgError;

/// A feed this instance may poll until `until` (seconds since the Unix epoch, database clock).
#[derive(Debug, Clone, PartialEq)]
pub struct Lease {
    pub feed_id: i64,
    pub name: String,
    pub epoch: i64,
    pub until: f64,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Claim up to `limit` feeds due at `now` (Unix seconds, as `next_poll_at` is written) that no
/// lease holds, for `lease`. Most overdue first.
pub async fn claim_due_feeds(
    db: &impl GenericClient,
    owner: &str,
    now: i64,
    lease: Duration,
    limit: i64,
) -> Result<Vec<Lease>, PgError> {
    let rows = db
        .query(
            "WITH due AS (
                 SELECT id FROM feeds
                 WHERE disabled IS NULL AND retired_at IS NULL AND next_poll_at <= $2
                   AND (lease_until IS NULL OR lease_until < now())
                 ORDER BY next_poll_at, id
                 LIMIT $4
                 FOR UPDATE SKIP LOCKED)
             UPDATE feeds f
             SET lease_owner = $1,
                 lease_until = now() + $3 * interval '1 millisecond',
                 lease_epoch = f.lease_epoch + 1
             FROM due WHERE f.id = due.id
             RETURNING f.id, f.name, f.lease_epoch,
                       extract(epoch FROM f.lease_until)::float8",
            &[&owner, &now, &(millis(lease) as f64), &limit],
        )
        .await?;
    let mut leases: Vec<Lease> = rows
        .iter()
        .map(|r| Lease {
            feed_id: r.get(0),
            name: r.get(1),
            epoch: r.get(2),
            until: r.get(3),
        })
        .collect();
    leases.sort_by_key(|l| l.feed_id);
    Ok(leases)
}

/// Record a finished poll: the feed is next due at `next_poll_at` and its lease ends. Only
/// while the lease is still this owner's, under its epoch, and not lapsed; returns whether it
/// was.
pub async fn record_poll(
    db: &impl GenericClient,
    owner: &str,
    lease: &Lease,
    polled_at: i64,
    next_poll_at: i64,
) -> Result<bool, PgError> {
    let n = db
        .execute(
            "UPDATE feeds SET next_poll_at = $4, last_poll_at = $3, polls = polls + 1,
                              lease_owner = NULL, lease_until = NULL
             WHERE id = $1 AND lease_owner = $2 AND lease_epoch = $5 AND lease_until >= now()",
            &[
                &lease.feed_id,
                &owner,
                &polled_at,
                &next_poll_at,
                &lease.epoch,
            ],
        )
        .await?;
    Ok(n == 1)
}

/// Lead, or go on leading, for `lease`; the leadership epoch when this instance leads, `None`
/// when another does and its lease runs. The epoch grows each time leadership changes hands.
pub async fn try_lead(
    db: &impl GenericClient,
    owner: &str,
    lease: Duration,
) -> Result<Option<i64>, PgError> {
    let row = db
        .query_opt(
            "INSERT INTO leader (id, owner, until, epoch)
             VALUES (1, $1, now() + $2 * interval '1 millisecond', 1)
             ON CONFLICT (id) DO UPDATE
             SET owner = EXCLUDED.owner, until = EXCLUDED.until,
                 epoch = CASE WHEN leader.owner = EXCLUDED.owner AND leader.until >= now()
                              THEN leader.epoch ELSE leader.epoch + 1 END
             WHERE leader.owner = EXCLUDED.owner OR leader.until < now()
             RETURNING epoch",
            &[&owner, &(millis(lease) as f64)],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// Inside a leader's write transaction: whether it still leads under `epoch` (the row is
/// locked for share until the transaction ends, so leadership cannot pass on meanwhile).
pub async fn still_leads(
    db: &impl GenericClient,
    owner: &str,
    epoch: i64,
) -> Result<bool, PgError> {
    let row = db
        .query_opt(
            "SELECT 1 FROM leader WHERE id = 1 AND owner = $1 AND epoch = $2 AND until >= now()
             FOR SHARE",
            &[&owner, &epoch],
        )
        .await?;
    Ok(row.is_some())
}
