//! Deliver stage, queueing: the deliveries one match calls for, written by the caller in
//! the article's transaction (contract §5). Who receives what is decided here: an
//! immediate watch's own recipients, each alert past the hour's limit folded into that
//! hour's summary ([`flood`]); a digest watch's digest recipients. Invariants: every
//! delivery is addressed by (watch, story, recipient), so a later copy of a story finds
//! its Message-ID taken and queues nothing; the flood decision is taken once, here, from
//! what the outbox already holds, so a crash or a restart never changes it. Every match
//! queued here is a story that alerted for its watch: it is recorded for the Atom feeds
//! (`store::published`), even for a watch whose only reader is its feed.

use chrono::{DateTime, Utc};

use super::flood;
use crate::config::{AlertMode, Config, Watch};
use crate::identify;
use crate::store::Result;
use crate::store::enqueue::Outbox;
use crate::store::outbox::Kind;

/// Queue the deliveries of `watch`'s match `match_id` on the story `story`; returns how
/// many were new.
pub fn queue_match(
    tx: &mut impl Outbox,
    cfg: &Config,
    watch: &Watch,
    match_id: i64,
    story: &str,
    now: DateTime<Utc>,
) -> Result<usize> {
    let mut n = 0;
    let digest = match watch.alert {
        AlertMode::Immediate => None,
        AlertMode::Digest => watch
            .digest
            .as_deref()
            .and_then(|d| cfg.digests.iter().find(|x| x.name == d))
            .or(cfg.digests.first()),
    };
    tx.record_alerted(
        &watch.name,
        story,
        digest.map(|d| d.name.as_str()),
        match_id,
        now,
    )?;
    match watch.alert {
        AlertMode::Immediate => {
            for to in &watch.to {
                let mid = identify::message_id(&watch.name, story, to);
                n += usize::from(queue_alert(tx, match_id, &watch.name, to, &mid, now)?);
            }
        }
        AlertMode::Digest => {
            if let Some(d) = digest {
                for to in &d.to {
                    let key = format!("digest:{}", d.name);
                    let mid = identify::message_id(&watch.name, story, &format!("{key}:{to}"));
                    if tx.is_queued(&mid)? {
                        continue;
                    }
                    n += usize::from(tx.add_delivery(
                        match_id,
                        Kind::Digest,
                        Some(&d.name),
                        to,
                        &mid,
                        None,
                        now,
                    )?);
                }
            }
        }
    }
    Ok(n)
}

/// Queue one immediate alert, on its own or folded into its hour's summary.
fn queue_alert(
    tx: &mut impl Outbox,
    match_id: i64,
    watch: &str,
    to: &str,
    message_id: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    if tx.is_queued(message_id)? {
        return Ok(false);
    }
    let (start, end) = flood::window(now);
    let batch = if flood::folds(tx.singles_between(watch, to, start, end)?) {
        let summary = flood::summary_message_id(watch, start, to);
        // A summary already sent takes nothing more: the alert then goes out on its own
        // rather than never.
        tx.summary_batch(watch, to, (start, end), &summary, now)?
    } else {
        None
    };
    tx.add_delivery(match_id, Kind::Immediate, None, to, message_id, batch, now)
}
