//! Store stage, PostgreSQL coordination between instances: which instance polls a feed (a
//! lease), which one leads (an advisory lock), and which ones are there (a heartbeat).
//!
//! Invariants: a feed is claimed with `FOR UPDATE SKIP LOCKED`, so two instances claiming at
//! the same moment never get the same feed and never wait on each other; a claim raises the
//! feed's epoch, and a poll is recorded only under the epoch and owner that claimed it while
//! the lease still runs (a late finish from an instance whose lease lapsed changes nothing);
//! every lease time is the database's clock, never an instance's. Leadership is a
//! session-level advisory lock: at most one session holds it, and it passes on the moment
//! the leader's session ends (a killed process's connection closes with it) — no clock, no
//! lease to wait out, and a leader that lost its session can no longer write anything.

use std::time::Duration;

use crate::store::db::{Connection, Result, params};

/// The advisory lock whose holder leads.
const LEADER_LOCK: i64 = 7_316_113;

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
pub fn claim_due_feeds(
    db: &Connection,
    owner: &str,
    now: i64,
    lease: Duration,
    limit: i64,
) -> Result<Vec<Lease>> {
    let mut leases = db.query_map(
        "WITH due AS (
             SELECT id FROM feeds
             WHERE disabled IS NULL AND retired_at IS NULL AND next_poll_at <= ?2
               AND (lease_until IS NULL OR lease_until < now())
             ORDER BY next_poll_at, id
             LIMIT ?4
             FOR UPDATE SKIP LOCKED)
         UPDATE feeds f
         SET lease_owner = ?1,
             lease_until = now() + CAST(?3 AS BIGINT) * interval '1 millisecond',
             lease_epoch = f.lease_epoch + 1
         FROM due WHERE f.id = due.id
         RETURNING f.id, f.name, f.lease_epoch, CAST(extract(epoch FROM f.lease_until) AS DOUBLE PRECISION)",
        params![owner, now, millis(lease), limit],
        |r| {
            Ok(Lease {
                feed_id: r.get(0)?,
                name: r.get(1)?,
                epoch: r.get(2)?,
                until: r.get(3)?,
            })
        },
    )?;
    leases.sort_by_key(|l| l.feed_id);
    Ok(leases)
}

/// End a lease as its poll is recorded, in the poll's transaction: whether it was still this
/// owner's, under its epoch, and not lapsed. When it was not, the caller records nothing.
pub fn release(db: &Connection, owner: &str, feed_id: i64, epoch: i64) -> Result<bool> {
    let n = db.execute(
        "UPDATE feeds SET lease_owner = NULL, lease_until = NULL
         WHERE id = ?1 AND lease_owner = ?2 AND lease_epoch = ?3 AND lease_until >= now()",
        params![feed_id, owner, epoch],
    )?;
    Ok(n == 1)
}

/// Whether this session holds the leader's lock, taking it if nobody does. Asked of the
/// database every time, so that a session made again after a lost connection (which lost
/// the lock with it) never believes it still leads.
pub fn lead(db: &Connection) -> Result<bool> {
    // A bigint key's lock shows in pg_locks as classid (high half) and objid (low half).
    db.query_row(
        "SELECT CASE WHEN EXISTS (
                    SELECT 1 FROM pg_locks
                    WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND objsubid = 1
                      AND CAST(classid AS BIGINT) = ?1 / 4294967296
                      AND CAST(objid AS BIGINT) = ?1 % 4294967296)
                THEN TRUE
                ELSE pg_try_advisory_lock(?1)
                END",
        [LEADER_LOCK],
        |r| r.get(0),
    )
}

/// What an instance says of itself to the others, each time its scheduler goes round; the
/// leases it still holds (polls in flight, or waiting for a request slot) run `lease` more
/// from now: a live instance keeps its feeds, a dead one's lapse.
pub fn heartbeat(db: &Connection, owner: &str, leads: bool, lease: Duration) -> Result<()> {
    db.execute(
        "UPDATE feeds SET lease_until = now() + CAST(?2 AS BIGINT) * interval '1 millisecond'
         WHERE lease_owner = ?1 AND lease_until >= now()",
        params![owner, millis(lease)],
    )?;
    db.execute(
        "INSERT INTO instances (name, started_at, seen_at, leads, leases)
         VALUES (?1, now(), now(), ?2,
                 (SELECT COUNT(*) FROM feeds WHERE lease_owner = ?1 AND lease_until >= now()))
         ON CONFLICT (name) DO UPDATE
         SET seen_at = now(), leads = excluded.leads, leases = excluded.leases",
        params![owner, leads],
    )?;
    Ok(())
}

/// An instance on the same database, as it last said.
#[derive(Debug, Clone, PartialEq)]
pub struct Peer {
    pub name: String,
    pub leads: bool,
    /// Feeds it holds a lease on.
    pub leases: i64,
    /// Seconds since it last said so.
    pub seen_secs_ago: f64,
}

/// The instances heard from within `within`, this one included, by name.
pub fn peers(db: &Connection, within: Duration) -> Result<Vec<Peer>> {
    db.query_map(
        "SELECT name, leads, leases, CAST(extract(epoch FROM now() - seen_at) AS DOUBLE PRECISION)
         FROM instances
         WHERE seen_at >= now() - CAST(?1 AS BIGINT) * interval '1 millisecond'
         ORDER BY name",
        [millis(within)],
        |r| {
            Ok(Peer {
                name: r.get(0)?,
                leads: r.get(1)?,
                leases: r.get(2)?,
                seen_secs_ago: r.get(3)?,
            })
        },
    )
}
