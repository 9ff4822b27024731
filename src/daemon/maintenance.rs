//! The daemon's housekeeping between polling cycles: retention (daily), search-index
//! catch-up (hourly), feed-health notices (every 10 minutes), and the one-line status
//! for systemd. Invariant: housekeeping failures are logged and retried next time; they
//! never stop polling or delivery.

use chrono::{DateTime, Duration, Utc};

use crate::daemon::feed_health::{self, Step};
use crate::ingest::Runtime;
use crate::store::notices::{self, NewNotice};
use crate::store::to_ts;

/// When each task last ran.
#[derive(Debug, Default, Clone, Copy)]
pub struct Schedule {
    pub pruned: Option<DateTime<Utc>>,
    pub indexed: Option<DateTime<Utc>>,
    pub health: Option<DateTime<Utc>>,
}

fn due(last: Option<DateTime<Utc>>, every: Duration, now: DateTime<Utc>) -> bool {
    last.is_none_or(|t| now - t >= every)
}

/// Run whatever housekeeping is due at `now`.
///
/// Only the instance that leads does housekeeping (the only one on SQLite); on a shared
/// database, the others leave it to that one.
pub async fn run_due(rt: &Runtime, s: &mut Schedule, now: DateTime<Utc>) {
    if !leads(rt).await {
        return;
    }
    if due(s.pruned, Duration::days(1), now) {
        s.pruned = Some(now);
        let cutoff =
            now - Duration::from_std(rt.config.retention).unwrap_or_else(|_| Duration::days(90));
        match rt
            .store
            .call(move |st| crate::store::retention::prune(&mut st.conn, cutoff))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(articles = n, "pruned articles past retention"),
            Err(e) => tracing::warn!(error = %e, "pruning failed; will retry tomorrow"),
        }
    }
    // Asked again before each task: a connection made again meanwhile lost the lead.
    if due(s.indexed, Duration::hours(1), now) && leads(rt).await {
        s.indexed = Some(now);
        if let Err(e) = crate::store::search::catch_up_shared(&rt.store, now).await {
            tracing::warn!(error = %e, "search indexing failed; will retry");
        }
    }
    if due(s.health, Duration::minutes(10), now) && leads(rt).await {
        s.health = Some(now);
        if let Err(e) = feed_health_notices(rt, now).await {
            tracing::warn!(error = %e, "feed health check failed; will retry");
        }
    }
}

/// Whether this instance leads now (always on SQLite); a failure to tell is "no".
async fn leads(rt: &Runtime) -> bool {
    match rt.store.call(|st| st.leads()).await {
        Ok(leads) => leads,
        Err(e) => {
            tracing::warn!(error = %e, "cannot tell whether this instance leads; housekeeping waits");
            false
        }
    }
}

/// Check every feed's health and queue what is to be told to `[mail] admin` — in the
/// transaction that records the feed's new state, so that a notice is neither lost to an
/// outage nor told twice: the outbox sends it (claimed, retried like every email).
async fn feed_health_notices(rt: &Runtime, now: DateTime<Utc>) -> Result<(), String> {
    let observed = rt
        .store
        .call(|st| feed_health::observe(&st.conn))
        .await
        .map_err(|e| e.to_string())?;
    for (o, prev) in observed {
        if rt.config.feed(&o.name).is_none() {
            continue;
        }
        let (record, notice) = match feed_health::next_step(&o, prev, now) {
            Step::Record(None) => continue,
            Step::Record(Some(r)) => (r, None),
            Step::Notify {
                subject,
                body,
                record,
            } => (record, Some((subject, body))),
        };
        if let Some((subject, _)) = &notice {
            if rt.config.mail.admin.is_empty() {
                tracing::warn!(feed = %o.name, "{subject} (no [mail] admin to tell)");
            } else {
                tracing::warn!(feed = %o.name, "{subject}");
            }
        }
        let admins = rt.config.mail.admin.clone();
        let (id, feed) = (o.feed_id, o.name.clone());
        rt.store
            .call(move |st| {
                let tx = st.conn.transaction()?;
                if let Some((subject, body)) = &notice {
                    let since = to_ts(record.since);
                    for admin in &admins {
                        let mid = crate::identify::message_id(
                            "feed-health",
                            &format!("{feed}:{subject}:{since}"),
                            admin,
                        );
                        let n = NewNotice {
                            kind: "feed-health",
                            subject_of: &feed,
                            recipient: admin,
                            message_id: &mid,
                            subject,
                            body,
                        };
                        notices::queue(&tx, n, now)?;
                    }
                }
                feed_health::record(&tx, id, &record)?;
                tx.commit()?;
                Ok(())
            })
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// "312 feeds, 4 due, 0 failing" — for systemd's STATUS and the logs.
pub async fn status_line(rt: &Runtime, now: DateTime<Utc>) -> String {
    let counts =
        rt.store
            .call(move |st| {
                Ok(st.conn.query_row(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN next_poll_at <= ?1 THEN 1 ELSE 0 END), 0),
                        COALESCE(SUM(CASE WHEN error_count > 0 THEN 1 ELSE 0 END), 0)
                 FROM feeds WHERE disabled IS NULL AND retired_at IS NULL",
                [to_ts(now)],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)),
            )?)
            })
            .await;
    match counts {
        Ok((n, due, failing)) => format!("{n} feeds, {due} due, {failing} failing"),
        Err(e) => format!("database unavailable: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    async fn runtime(dir: &Path) -> Runtime {
        let main = "state_dir = \"s\"\n[[feed]]\nname = \"f\"\nurl = \"http://127.0.0.1:9/x\"\n[mail]\nfrom = \"v@ex.org\"\nadmin = [\"ops@ex.org\"]\n";
        let cfg = crate::config::load_str(&dir.join("vigie.toml"), main.into(), &mut |_| {
            Ok(String::new())
        })
        .unwrap();
        crate::daemon::runtime(cfg).await.unwrap()
    }

    /// A health check, then the outbox's round at the same time.
    async fn check(rt: &Runtime, now: DateTime<Utc>) {
        feed_health_notices(rt, now).await.unwrap();
        let out = crate::deliver::message::Outgoing::new(&rt.config);
        crate::deliver::worker::send_due(&rt.store, &rt.mailer, &out, now)
            .await
            .unwrap();
    }

    fn notices(dir: &Path) -> Vec<String> {
        let mail = dir.join("s/mail");
        let mut v: Vec<String> = std::fs::read_dir(mail)
            .map(|d| {
                d.flatten()
                    .map(|e| std::fs::read_to_string(e.path()).unwrap())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    #[tokio::test]
    async fn a_feed_failing_for_a_day_is_told_once_and_its_recovery_once() {
        let dir = tempfile::tempdir().unwrap();
        let rt = runtime(dir.path()).await;
        let set_errors = |n: i64| {
            let store = rt.store.clone();
            async move {
                store
                    .call(move |s| {
                        Ok(s.conn.execute(
                            "UPDATE feeds SET error_count = ?1, last_error = 'HTTP 500'",
                            [n],
                        )?)
                    })
                    .await
                    .unwrap();
            }
        };
        let t0 = Utc::now();
        set_errors(1).await;
        check(&rt, t0).await;
        check(&rt, t0 + Duration::hours(23)).await;
        assert!(notices(dir.path()).is_empty());
        for h in [25, 26, 40] {
            check(&rt, t0 + Duration::hours(h)).await;
        }
        let n = notices(dir.path());
        assert_eq!(n.len(), 1, "one notice, not one per check");
        assert!(
            n[0].contains("failing for 24 hours")
                && n[0].contains("HTTP 500")
                && n[0].contains("ops@ex.org")
        );
        set_errors(0).await;
        check(&rt, t0 + Duration::hours(41)).await;
        check(&rt, t0 + Duration::hours(42)).await;
        let n = notices(dir.path());
        assert_eq!(n.len(), 2);
        assert!(n.iter().any(|m| m.contains("has recovered")));
    }
}
