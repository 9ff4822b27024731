//! Deliver stage, the outbox worker (async shell): builds the digests that are due and
//! sends every email due — single alerts, then digests and flood summaries — over one
//! SMTP connection. Invariants: each result is written back as soon as it is known, so a crash
//! mid-batch resends at most the one email in flight, with the same Message-ID; a
//! failure of the connection itself postpones the whole batch at once (a server that is
//! down costs one connection attempt per cycle, not one per email); the clock is an
//! argument; the store is reached only through `StoreHandle::call`.

use chrono::{DateTime, Utc};

use super::calendar::{Calendar, previous_run};
use std::collections::HashSet;

use super::channel::notice;
use super::message::{Outgoing, alert_message, batch_message};
use super::notices::send_notices;
use super::{DeliverError, Mailer, Session, next_try, to_channel};
use crate::config::{Config, channel_of};
use crate::identify;
use crate::store::StoreHandle;
use crate::store::claims::Row;
use crate::store::{digests, outbox, stories};

/// Emails per database round trip.
const BATCH: usize = 200;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryStats {
    /// Emails accepted by the transport: alerts, digests and flood summaries.
    pub sent: usize,
    /// Emails that failed this time and will be tried again.
    pub retried: usize,
    /// Emails given up on (24 h of failures, or an email that cannot be built).
    pub failed: usize,
    /// Digests built (one per recipient with something to read).
    pub digests_built: usize,
}

/// Build the digests due at `now`, then send everything due: what `vigie poll`, the
/// daemon's cycle and `vigie digest send` do after storing.
pub async fn deliver_due(
    store: &StoreHandle,
    mailer: &Mailer,
    cfg: &Config,
    now: DateTime<Utc>,
) -> Result<DeliveryStats, DeliverError> {
    // Digests are built by the instance that leads (the only one on SQLite); any instance
    // sends them.
    let built = if store.call(|s| s.leads()).await? {
        build_due_digests(store, cfg, now).await?
    } else {
        0
    };
    let mut stats = send_due(store, mailer, &Outgoing::new(cfg), now).await?;
    stats.digests_built = built;
    Ok(stats)
}

/// The Message-ID of the digest `name` scheduled at `at`, for one recipient.
pub fn digest_message_id(name: &str, at: DateTime<Utc>, recipient: &str) -> String {
    identify::message_id(
        &format!("digest:{name}"),
        &at.timestamp().to_string(),
        recipient,
    )
}

/// Build every configured digest that is due at `now` (several missed runs collapse into
/// one). Returns how many digest emails were queued.
pub async fn build_due_digests(
    store: &StoreHandle,
    cfg: &Config,
    now: DateTime<Utc>,
) -> Result<usize, DeliverError> {
    let configured: Vec<String> = cfg.digests.iter().map(|d| d.name.clone()).collect();
    let orphans = store
        .call(move |s| digests::fail_unconfigured(&s.conn, &configured, now))
        .await?;
    if orphans > 0 {
        tracing::warn!(
            deliveries = orphans,
            "deliveries waiting for a digest that is no longer configured are marked failed (see `vigie outbox --failed`)"
        );
    }
    let mut made = 0;
    for d in &cfg.digests {
        let cal = Calendar::new(&d.schedule, &d.timezone)
            .map_err(|e| DeliverError::Calendar(d.name.clone(), e))?;
        let name = d.name.clone();
        let n = store
            .call(move |s| {
                let conn = &mut s.conn;
                let last = digests::last_run(conn, &name)?;
                let oldest = digests::oldest_waiting(conn, &name)?;
                let since = previous_run(last, oldest, now);
                match cal.due(since, now) {
                    Some(at) => {
                        let mid = |to: &str| digest_message_id(&name, at, to);
                        digests::build(conn, &name, last, at, now, &mid)
                    }
                    None => Ok(0),
                }
            })
            .await?;
        if n > 0 {
            tracing::info!(digest = %d.name, emails = n, "digest built");
        }
        made += n;
    }
    Ok(made)
}

/// Send every email due at `now`: single alerts first, then batches, then notices.
pub async fn send_due(
    store: &StoreHandle,
    mailer: &Mailer,
    out: &Outgoing,
    now: DateTime<Utc>,
) -> Result<DeliveryStats, DeliverError> {
    let mut stats = DeliveryStats::default();
    let mut session = mailer.session();
    // Channels that failed in this round: their other deliveries wait for the next one.
    let mut down = HashSet::new();
    let result = async {
        let mail_ok = send_alerts(store, &mut session, out, now, &mut stats, &mut down).await?;
        let mail_ok = send_batches(
            store,
            &mut session,
            out,
            now,
            &mut stats,
            &mut down,
            mail_ok,
        )
        .await?;
        let told = send_notices(store, &mut session, out, now, &mut down, mail_ok).await?;
        stats.sent += told.sent;
        stats.retried += told.retried;
        stats.failed += told.failed;
        Ok::<(), DeliverError>(())
    }
    .await;
    session.close().await;
    result.map(|_| stats)
}

/// Returns false when the mail connection failed: the emails wait for the next round, the
/// channels' deliveries go on.
async fn send_alerts(
    store: &StoreHandle,
    mailer: &mut Session<'_>,
    out: &Outgoing,
    now: DateTime<Utc>,
    stats: &mut DeliveryStats,
    down: &mut HashSet<String>,
) -> Result<bool, DeliverError> {
    // Why the mail connection failed, once it has: the other emails are postponed untried.
    let mut mail_down: Option<String> = None;
    // Alerts another instance is sending (on a shared database): not this round's.
    let mut elsewhere: HashSet<i64> = HashSet::new();
    loop {
        let batch = store
            .call(move |s| outbox::due_alerts(&s.conn, now, BATCH))
            .await?;
        if batch.iter().all(|p| elsewhere.contains(&p.delivery_id)) {
            return Ok(mail_down.is_none());
        }
        for p in &batch {
            let row = Row::Alert(p.delivery_id);
            if elsewhere.contains(&p.delivery_id)
                || !store.call(move |s| s.claim_due(row, now)).await?
            {
                elsewhere.insert(p.delivery_id);
                continue;
            }
            let article_id = p.article.id;
            let untried = mail_down.is_some() && channel_of(&p.recipient).is_none();
            let result = match channel_of(&p.recipient) {
                _ if untried => Err(DeliverError::Send {
                    per_message: true,
                    message: mail_down.clone().unwrap_or_default(),
                }),
                Some(name) => {
                    let links = store
                        .call(move |s| stories::outlet_links(&s.conn, article_id))
                        .await?;
                    let notice = notice::alert(p, &links, out.watch_zone(&p.watch));
                    to_channel(mailer.channels(), name, &notice, now, down).await
                }
                None => {
                    let outlets = store
                        .call(move |s| digests::outlets(&s.conn, article_id))
                        .await?;
                    match alert_message(out, p, &outlets, now) {
                        Ok(msg) => mailer.send(&msg, &p.message_id).await,
                        Err(e) => Err(e),
                    }
                }
            };
            let id = p.delivery_id;
            match result {
                Ok(()) => {
                    store
                        .call(move |s| outbox::mark_sent(&s.conn, id, now))
                        .await?;
                    tracing::info!(watch = %p.watch, to = %p.recipient, message_id = %p.message_id, "alert sent");
                    stats.sent += 1;
                }
                Err(e) => {
                    let err = e.to_string();
                    let next = match &e {
                        DeliverError::Address(..) | DeliverError::Build(_) => None,
                        _ => next_try(&e, p.delivery_id, p.attempts, p.retry_since, now),
                    };
                    let plan = vec![(p.delivery_id, next)];
                    if next.is_none() {
                        stats.failed += 1;
                        tracing::error!(watch = %p.watch, to = %p.recipient, error = %err, "alert given up");
                    } else {
                        stats.retried += 1;
                        if untried {
                            tracing::debug!(watch = %p.watch, to = %p.recipient, "alert postponed: the mail server is down");
                        } else {
                            tracing::warn!(watch = %p.watch, to = %p.recipient, error = %err, "alert not sent; will retry");
                        }
                    }
                    // A failure of the mail connection itself postpones the other emails untried.
                    if !e.per_message() {
                        mail_down = Some(err.clone());
                    }
                    store
                        .call(move |s| outbox::mark_attempts_failed(&mut s.conn, &plan, &err))
                        .await?;
                }
            }
        }
    }
}

/// Digests and flood summaries; the emails among them only while the mail connection works
/// (`mail_ok`), the channels' always. Returns whether the mail connection still works.
async fn send_batches(
    store: &StoreHandle,
    mailer: &mut Session<'_>,
    out: &Outgoing,
    now: DateTime<Utc>,
    stats: &mut DeliveryStats,
    down: &mut HashSet<String>,
    mut mail_ok: bool,
) -> Result<bool, DeliverError> {
    // Batches another instance is sending (on a shared database): not this round's.
    let mut elsewhere: HashSet<i64> = HashSet::new();
    loop {
        let due = store
            .call(move |s| digests::due_batches(&s.conn, now, BATCH))
            .await?;
        let mut progress = false;
        for b in due {
            if !mail_ok && channel_of(&b.recipient).is_none() {
                continue; // waits, untried, for the mail server
            }
            let id = b.id;
            let row = Row::Batch(id);
            if elsewhere.contains(&id) || !store.call(move |s| s.claim_due(row, now)).await? {
                elsewhere.insert(id);
                continue;
            }
            progress = true;
            let entries = store
                .call(move |s| digests::batch_entries(&s.conn, id))
                .await?;
            // What the email shows is what is marked sent; what joins meanwhile is not.
            let shown: Vec<i64> = entries.iter().map(|e| e.delivery_id).collect();
            let result = match (channel_of(&b.recipient), entries.is_empty()) {
                (_, true) => Ok(false),
                (Some(name), false) => {
                    let n = notice::batch(&b, &entries);
                    let sent = to_channel(mailer.channels(), name, &n, now, down).await;
                    sent.map(|()| true)
                }
                (None, false) => match batch_message(out, &b, &entries, now) {
                    Ok(Some(msg)) => mailer.send(&msg, &b.message_id).await.map(|()| true),
                    Ok(None) => Ok(false),
                    Err(e) => Err(e),
                },
            };
            match result {
                Ok(sent) => {
                    store
                        .call(move |s| digests::mark_batch_sent(&mut s.conn, id, &shown, now))
                        .await?;
                    if sent {
                        tracing::info!(kind = %b.kind, name = %b.name, to = %b.recipient, stories = entries.len(), message_id = %b.message_id, "batch sent");
                        stats.sent += 1;
                    }
                }
                Err(e) => {
                    let err = e.to_string();
                    let next = next_try(&e, id, b.attempts, b.retry_since, now);
                    if next.is_some() {
                        stats.retried += 1;
                        tracing::warn!(kind = %b.kind, name = %b.name, to = %b.recipient, error = %err, "batch not sent; will retry");
                    } else {
                        stats.failed += 1;
                        tracing::error!(kind = %b.kind, name = %b.name, to = %b.recipient, error = %err, "batch failed for 24 h; giving up");
                    }
                    if !e.per_message() {
                        mail_ok = false;
                    }
                    store
                        .call(move |s| digests::mark_batch_failed(&mut s.conn, id, &err, next))
                        .await?;
                }
            }
        }
        if !progress {
            return Ok(mail_ok);
        }
    }
}
