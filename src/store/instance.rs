//! Store stage, this instance among others on one PostgreSQL database: the feeds it holds a
//! lease on, whether it leads. On SQLite there is one instance by construction: it polls
//! every due feed and leads. (Outbox rows are claimed per process on either store:
//! `claims`.)
//!
//! Invariants: a feed's poll is recorded only under the lease that claimed it (see
//! `pg::leases`); nothing here reads the instance's clock for a lease — the database's is
//! the only one.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::pg::leases::{self, Peer};
use super::{Result, Store, to_ts};
use crate::store::db::Dialect;

/// How long an instance that stopped saying anything still counts among the others.
const PEERS_WITHIN: Duration = Duration::from_secs(120);

/// This instance, once it has joined a shared database.
#[derive(Debug)]
pub struct Instance {
    pub name: String,
    /// How long a claimed feed stays this instance's.
    pub lease: Duration,
    leads: bool,
    /// Each leased feed's epoch, until its poll is recorded.
    pub(crate) epochs: HashMap<i64, i64>,
}

/// What `/healthz` and `/metrics` tell of the instance.
#[derive(Debug, Clone, Default)]
pub struct Coordination {
    /// `None` on SQLite (one instance, no leases).
    pub name: Option<String>,
    pub leads: bool,
    pub leases: usize,
    pub peers: Vec<Peer>,
}

impl Store {
    /// Take part in a shared database as `name`, claiming feeds for `lease` at a time. On
    /// SQLite this does nothing: one instance has the store to itself.
    pub fn join(&mut self, name: String, lease: Duration) {
        if self.conn.dialect() == Dialect::Postgres {
            self.instance = Some(Instance {
                name,
                lease,
                leads: false,
                epochs: HashMap::new(),
            });
        }
    }

    /// A daemon starting: the leases its previous run still held (it was killed, or stopped
    /// mid-poll) are its own to take again at once, rather than after they lapse.
    pub fn take_back_leases(&self) -> Result<usize> {
        let Some(me) = self.instance.as_ref() else {
            return Ok(0);
        };
        Ok(self.conn.execute(
            "UPDATE feeds SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?1",
            [&me.name],
        )?)
    }

    /// The feeds this instance is to poll now: on a shared database, up to `room` of the
    /// due ones nobody else holds, each now leased to it (an instance takes what it can
    /// poll at once, and leaves the rest to the others); every due one otherwise.
    pub fn claim_due_feeds(&mut self, now: DateTime<Utc>, room: usize) -> Result<Vec<String>> {
        let Some(me) = self.instance.as_mut() else {
            return self.due_feeds(now);
        };
        if room == 0 {
            return Ok(Vec::new());
        }
        let room = i64::try_from(room).unwrap_or(i64::MAX);
        let got = leases::claim_due_feeds(&self.conn, &me.name, to_ts(now), me.lease, room)?;
        let mut names = Vec::with_capacity(got.len());
        for l in got {
            me.epochs.insert(l.feed_id, l.epoch);
            names.push(l.name);
        }
        Ok(names)
    }

    /// Whether this instance leads: the one that builds digests, prunes, indexes and
    /// tells of feeds' health. Always on SQLite.
    pub fn leads(&mut self) -> Result<bool> {
        let Some(me) = self.instance.as_mut() else {
            return Ok(true);
        };
        let leads = leases::lead(&self.conn)?;
        match (me.leads, leads) {
            (false, true) => tracing::info!(instance = %me.name, "this instance now leads"),
            (true, false) => {
                tracing::warn!(instance = %me.name, "this instance no longer leads (its database connection was made again)")
            }
            _ => {}
        }
        me.leads = leads;
        Ok(leads)
    }

    /// Tell the others this instance is there (and whether it leads), and see them.
    pub fn heartbeat(&mut self) -> Result<Coordination> {
        let leads = self.leads()?;
        let Some(me) = self.instance.as_ref() else {
            return Ok(Coordination {
                leads,
                ..Coordination::default()
            });
        };
        leases::heartbeat(&self.conn, &me.name, leads, me.lease)?;
        let peers = leases::peers(&self.conn, PEERS_WITHIN)?;
        let leases = peers
            .iter()
            .find(|p| p.name == me.name)
            .map_or(0, |p| usize::try_from(p.leases).unwrap_or(0));
        Ok(Coordination {
            name: Some(me.name.clone()),
            leads,
            leases,
            peers,
        })
    }
}

/// A name for this instance that the others can tell apart and that stays the same across
/// its restarts: its host and its state folder.
pub fn instance_name(state_dir: &std::path::Path) -> String {
    let host = super::claims::host_name();
    let dir = std::fs::canonicalize(state_dir).unwrap_or_else(|_| state_dir.to_path_buf());
    format!("{host}:{}", dir.display())
}
