//! Deliver stage, notices (async shell): the feed-health notices the outbox holds, sent to
//! each admin address or channel with the same claims, retries and give-up as alerts.
//! Invariants: a notice is claimed before it is sent and marked as soon as its result is
//! known; a mail server that is down leaves the emails untried for the next round while
//! channels go on; the clock is an argument; the store is reached only through
//! `StoreHandle::call`.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::channel::{NoticeKind, notice};
use super::message::{Outgoing, notice_message};
use super::{DeliverError, Session, next_try, to_channel};
use crate::config::channel_of;
use crate::store::StoreHandle;
use crate::store::claims::Row;
use crate::store::notices;

/// Notices per database round trip.
const BATCH: usize = 100;

/// What one round did with the notices: sent, to be tried again, given up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

/// Send the notices due at `now`; emails only while `mail_ok`.
pub async fn send_notices(
    store: &StoreHandle,
    mailer: &mut Session<'_>,
    out: &Outgoing,
    now: DateTime<Utc>,
    down: &mut HashSet<String>,
    mut mail_ok: bool,
) -> Result<Tally, DeliverError> {
    let mut tally = Tally::default();
    // Notices this round already dealt with or left (another process has them).
    let mut seen: HashSet<i64> = HashSet::new();
    loop {
        let due = store
            .call(move |s| notices::due(&s.conn, now, BATCH))
            .await?;
        let mut progress = false;
        for n in due {
            if seen.contains(&n.id) || (!mail_ok && channel_of(&n.recipient).is_none()) {
                continue;
            }
            seen.insert(n.id);
            let row = Row::Notice(n.id);
            if !store.call(move |s| s.claim_due(row, now)).await? {
                continue;
            }
            progress = true;
            let result = match channel_of(&n.recipient) {
                Some(name) => {
                    let text = notice::plain(
                        NoticeKind::FeedHealth,
                        &n.message_id,
                        &n.subject_of,
                        &n.subject,
                        &n.body,
                    );
                    to_channel(mailer.channels(), name, &text, now, down).await
                }
                None => match notice_message(out, &n, now) {
                    Ok(msg) => mailer.send(&msg, &n.message_id).await,
                    Err(e) => Err(e),
                },
            };
            let id = n.id;
            match result {
                Ok(()) => {
                    store
                        .call(move |s| notices::mark_sent(&s.conn, id, now))
                        .await?;
                    tracing::info!(about = %n.subject_of, to = %n.recipient, message_id = %n.message_id, "notice sent");
                    tally.sent += 1;
                }
                Err(e) => {
                    let err = e.to_string();
                    let next = match &e {
                        DeliverError::Address(..) | DeliverError::Build(_) => None,
                        _ => next_try(&e, id, n.attempts, n.retry_since, now),
                    };
                    if next.is_some() {
                        tally.retried += 1;
                        tracing::warn!(about = %n.subject_of, to = %n.recipient, error = %err, "notice not sent; will retry");
                    } else {
                        tally.failed += 1;
                        tracing::error!(about = %n.subject_of, to = %n.recipient, error = %err, "notice given up");
                    }
                    if !e.per_message() && channel_of(&n.recipient).is_none() {
                        mail_ok = false;
                    }
                    store
                        .call(move |s| notices::mark_failed(&s.conn, id, &err, next))
                        .await?;
                }
            }
        }
        if !progress {
            return Ok(tally);
        }
    }
}
