//! The daemon's housekeeping between polling cycles: retention (daily), search-index
//! catch-up (hourly), feed-health notices (every 10 minutes), and the one-line status
//! for systemd. Invariant: housekeeping failures are logged and retried next time; they
//! never stop polling or delivery.

use chrono::{DateTime, Duration, Utc};
use lettre::Message;
use lettre::message::Mailbox;

use crate::daemon::feed_health::{self, Step};
use crate::ingest::Runtime;
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
        if let Some((subject, body)) = notice {
            if rt.config.mail.admin.is_empty() {
                tracing::warn!(feed = %o.name, "{subject} (no [mail] admin to tell)");
            } else if let Err(e) =
                send_notice(rt, &o.name, &subject, &body, to_ts(record.since), now).await
            {
                // Not recorded: told again at the next check.
                tracing::warn!(feed = %o.name, error = %e, "feed health notice not sent; will retry");
                continue;
            } else {
                tracing::warn!(feed = %o.name, "{subject}");
            }
        }
        let id = o.feed_id;
        rt.store
            .call(move |st| feed_health::record(&st.conn, id, &record))
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

async fn send_notice(
    rt: &Runtime,
    feed: &str,
    subject: &str,
    body: &str,
    since: i64,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let from: Mailbox = rt
        .config
        .mail
        .from
        .parse()
        .map_err(|e| format!("from: {e}"))?;
    // Every admin is told, even when telling one of them fails; the first failure is reported.
    let mut first_error = None;
    for admin in &rt.config.mail.admin {
        let mid =
            crate::identify::message_id("feed-health", &format!("{feed}:{subject}:{since}"), admin);
        if let Some(name) = crate::config::channel_of(admin) {
            use crate::deliver::channel::{NoticeKind, notice};
            let n = notice::plain(NoticeKind::FeedHealth, &mid, feed, subject, body);
            if let Err(e) = rt.mailer.channels().send(name, &n, now).await {
                first_error.get_or_insert(e.to_string());
            }
            continue;
        }
        let to: Mailbox = match admin.parse() {
            Ok(to) => to,
            Err(e) => {
                first_error.get_or_insert(format!("{admin}: {e}"));
                continue;
            }
        };
        let msg = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(crate::deliver::render::header_safe(subject))
            .message_id(Some(mid.clone()))
            .date(now.into())
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .map_err(|e| e.to_string())?;
        if let Err(e) = rt.mailer.send(&msg, &mid).await {
            first_error.get_or_insert(e.to_string());
        }
    }
    first_error.map_or(Ok(()), Err)
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
        feed_health_notices(&rt, t0).await.unwrap();
        feed_health_notices(&rt, t0 + Duration::hours(23))
            .await
            .unwrap();
        assert!(notices(dir.path()).is_empty());
        for h in [25, 26, 40] {
            feed_health_notices(&rt, t0 + Duration::hours(h))
                .await
                .unwrap();
        }
        let n = notices(dir.path());
        assert_eq!(n.len(), 1, "one notice, not one per check");
        assert!(
            n[0].contains("failing for 24 hours")
                && n[0].contains("HTTP 500")
                && n[0].contains("ops@ex.org")
        );
        set_errors(0).await;
        feed_health_notices(&rt, t0 + Duration::hours(41))
            .await
            .unwrap();
        feed_health_notices(&rt, t0 + Duration::hours(42))
            .await
            .unwrap();
        let n = notices(dir.path());
        assert_eq!(n.len(), 2);
        assert!(n.iter().any(|m| m.contains("has recovered")));
    }
}
