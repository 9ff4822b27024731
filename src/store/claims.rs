//! Store stage, outbox claims: a process claims an outbox row (an alert, a batch, a notice)
//! just before it sends it, so that whatever runs at once on one store — the daemon, `vigie
//! poll`, `vigie outbox retry`, `vigie digest send`, other instances on PostgreSQL — sends
//! each email once (contract §5).
//!
//! Invariants: a claim is a compare-and-set of the row's `claim_owner` and `claim_until`,
//! taken only while the row is pending and due, in the row itself (the same file on SQLite);
//! it ends when the row is marked (sent, failed, or tried again later: the marks clear it),
//! when its time runs out by the database's clock, or at once when its owner is seen to be
//! gone — on SQLite a process of this host that no longer runs, on PostgreSQL a session the
//! server no longer has. What a dead owner had claimed is therefore sent by the next process
//! that looks, not after a timeout, except where death cannot be seen (another host's
//! process on a shared SQLite file, a PostgreSQL that hides other roles' sessions).

use std::sync::OnceLock;

use chrono::{DateTime, Utc};

use super::db::{Connection, Dialect, OptionalExtension, params};
use super::{Result, Store, to_ts};

/// An outbox row, as claims name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    Alert(i64),
    Batch(i64),
    Notice(i64),
}

impl Row {
    fn table(self) -> (&'static str, i64) {
        match self {
            Row::Alert(id) => ("deliveries", id),
            Row::Batch(id) => ("batches", id),
            Row::Notice(id) => ("notices", id),
        }
    }
}

/// How long a claim lasts when its owner's death cannot be seen: longer than one email can
/// take (30 s to connect, 120 s to send) with room to mark it.
pub const CLAIM_SECS: i64 = 300;

/// The database's clock, in Unix seconds: claims are timed by one clock for every process.
fn clock(conn: &Connection) -> &'static str {
    match conn.dialect() {
        Dialect::Sqlite => "CAST(strftime('%s', 'now') AS INTEGER)",
        Dialect::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT)",
    }
}

impl Store {
    /// Claim an outbox row that was due at `now` when it was read: whether this process is
    /// to send it now. False when it is no longer pending and due (another process sent it
    /// or put it off in between) or when another live process has it.
    pub fn claim_due(&self, row: Row, now: DateTime<Utc>) -> Result<bool> {
        let (table, id) = row.table();
        let me = claimant(&self.conn)?;
        let clock = clock(&self.conn);
        let taken = self.conn.execute(
            &format!(
                "UPDATE {table} SET claim_owner = ?3, claim_until = {clock} + {CLAIM_SECS}
                 WHERE id = ?1 AND status = 'pending' AND next_attempt_at <= ?2
                   AND (claim_owner IS NULL OR claim_owner = ?3 OR claim_until < {clock})"
            ),
            params![id, to_ts(now), me],
        )?;
        if taken == 1 {
            return Ok(true);
        }
        // Someone else's, or no longer due: theirs unless they are gone.
        let owner: Option<String> = self
            .conn
            .query_row(
                &format!(
                    "SELECT claim_owner FROM {table}
                     WHERE id = ?1 AND status = 'pending' AND next_attempt_at <= ?2"
                ),
                params![id, to_ts(now)],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        let Some(owner) = owner else {
            return Ok(false);
        };
        if !owner_gone(&self.conn, &owner)? {
            return Ok(false);
        }
        tracing::info!(%owner, row = ?row, "taking over an email whose sender is gone");
        let taken = self.conn.execute(
            &format!(
                "UPDATE {table} SET claim_owner = ?3, claim_until = {clock} + {CLAIM_SECS}
                 WHERE id = ?1 AND status = 'pending' AND next_attempt_at <= ?2 AND claim_owner = ?4"
            ),
            params![id, to_ts(now), me, owner],
        )?;
        Ok(taken == 1)
    }

    /// Let a row go unmarked (it was claimed but not sent): due again for anyone at once.
    pub fn release(&self, row: Row) -> Result<()> {
        let (table, id) = row.table();
        let me = claimant(&self.conn)?;
        self.conn.execute(
            &format!(
                "UPDATE {table} SET claim_owner = NULL, claim_until = NULL
                 WHERE id = ?1 AND claim_owner = ?2"
            ),
            params![id, me],
        )?;
        Ok(())
    }

    /// Who claims for this store: this process (SQLite), or this database session.
    pub fn claimant(&self) -> Result<String> {
        claimant(&self.conn)
    }
}

/// The name claims are taken under: on SQLite this process (`proc:HOST:PID:START`, START
/// its start time, so that a reused pid is not taken for it); on PostgreSQL the session
/// (`pg:PID:START` as the server numbers them), which the server ends with the process.
fn claimant(conn: &Connection) -> Result<String> {
    match conn.dialect() {
        Dialect::Sqlite => Ok(this_process().to_string()),
        Dialect::Postgres => Ok(conn.query_row(
            "SELECT 'pg:' || pid || ':' || CAST(EXTRACT(EPOCH FROM backend_start) * 1000000 AS BIGINT)
             FROM pg_stat_activity WHERE pid = pg_backend_pid()",
            [],
            |r| r.get(0),
        )?),
    }
}

/// Whether the owner of a claim is known to be gone, so that its claim may be taken over.
fn owner_gone(conn: &Connection, owner: &str) -> Result<bool> {
    let mut parts = owner.split(':');
    match (parts.next(), conn.dialect()) {
        (Some("pg"), Dialect::Postgres) => {
            let (Some(pid), Some(start)) = (parts.next(), parts.next()) else {
                return Ok(false);
            };
            let (Ok(pid), Ok(start)) = (pid.parse::<i64>(), start.parse::<i64>()) else {
                return Ok(false);
            };
            // A session of another role shows no start time: its pid alone then says.
            let alive: i64 = conn.query_row(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ?1
                   AND (backend_start IS NULL
                        OR CAST(EXTRACT(EPOCH FROM backend_start) * 1000000 AS BIGINT) = ?2)",
                params![pid, start],
                |r| r.get(0),
            )?;
            Ok(alive == 0)
        }
        (Some("proc"), _) => {
            let (Some(host), Some(pid), Some(start)) = (parts.next(), parts.next(), parts.next())
            else {
                return Ok(false);
            };
            if host != host_name() {
                return Ok(false);
            }
            Ok(match pid.parse::<u32>() {
                Ok(pid) => process_start(pid).as_deref() != Some(start),
                Err(_) => false,
            })
        }
        _ => Ok(false),
    }
}

/// This host's name, as the kernel has it.
pub(crate) fn host_name() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty() && !h.contains(':'))
            .unwrap_or_else(|| "localhost".into())
    })
}

fn this_process() -> &'static str {
    static ME: OnceLock<String> = OnceLock::new();
    ME.get_or_init(|| {
        let pid = std::process::id();
        let start = process_start(pid).unwrap_or_else(|| "0".into());
        format!("proc:{}:{pid}:{start}", host_name())
    })
}

/// When process `pid` started (clock ticks since boot, field 22 of `/proc/PID/stat`);
/// `None` when no such process runs (or there is no `/proc`).
fn process_start(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_finished_one_is_gone() {
        let me = this_process();
        assert!(me.starts_with("proc:"));
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open_in(dir.path()).unwrap();
        assert!(!owner_gone(&s.conn, me).unwrap());
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let start = process_start(pid).unwrap_or_else(|| "0".into());
        child.wait().unwrap();
        let dead = format!("proc:{}:{pid}:{start}", host_name());
        assert!(owner_gone(&s.conn, &dead).unwrap());
        // Another host's process cannot be seen: its claim runs its time.
        let elsewhere = format!("proc:elsewhere.example:{pid}:{start}");
        assert!(!owner_gone(&s.conn, &elsewhere).unwrap());
        // The same pid started at another time is another process.
        let reused = format!("proc:{}:{}:1", host_name(), std::process::id());
        assert!(owner_gone(&s.conn, &reused).unwrap());
    }
}
