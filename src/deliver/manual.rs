//! Deliver stage, what an operator asks for by hand (`vigie outbox retry`, `vigie digest
//! send NAME [--dry-run]`). Invariants: a dry run changes nothing (it reads the store and
//! writes the emails out); a manual send or retry goes through the same outbox as the
//! daemon, so it keeps the same Message-IDs and never sends a delivery that is already
//! marked sent.

use std::io::Write;

use chrono::{DateTime, Utc};

use super::message::{Outgoing, batch_message};
use super::worker::{DeliveryStats, digest_message_id, send_due};
use super::{DeliverError, Mailer};
use crate::config::Config;
use crate::store::digests::{self, Batch};
use crate::store::outbox;
use crate::store::{Store, StoreHandle};

/// The store, as one more instance on a shared database: what it sends, it claims first,
/// so a daemon sending the same row at the same moment leaves it to this command.
fn open(cfg: &Config) -> Result<Store, DeliverError> {
    let mut store = Store::open_config(&cfg.state_dir, cfg.store.as_ref())?;
    let name = format!(
        "{} (command)",
        crate::store::instance::instance_name(&cfg.state_dir)
    );
    store.join(name, cfg.poll.timeout);
    Ok(store)
}

/// `vigie outbox retry`: failed deliveries get a fresh 24 h, everything waiting for a
/// retry is due now, and it is all sent at once. Returns how many failed deliveries were
/// revived, and what the sending did.
pub async fn retry_now(cfg: &Config) -> Result<(usize, DeliveryStats), DeliverError> {
    let mailer = Mailer::new(&cfg.mail, &cfg.channels)?;
    let store = StoreHandle::new(open(cfg)?);
    let now = Utc::now();
    let revived = store
        .call(move |s| outbox::retry_now(&mut s.conn, now))
        .await?;
    let stats = send_due(&store, &mailer, &Outgoing::new(cfg), now).await?;
    Ok((revived, stats))
}

/// Write the digest `name` as it would be built at `now` to `out`; changes nothing.
pub fn dry_run_to(
    cfg: &Config,
    name: &str,
    now: DateTime<Utc>,
    out: &mut impl Write,
) -> Result<usize, DeliverError> {
    let store = open(cfg)?;
    let since = digests::last_run(&store.conn, name)?;
    let waiting = digests::waiting_entries(&store.conn, name, now)?;
    let outgoing = Outgoing::new(cfg);
    let mut n = 0;
    for (to, entries) in &waiting {
        let batch = Batch {
            id: 0,
            kind: "digest".into(),
            name: name.to_string(),
            recipient: to.clone(),
            period_start: since,
            period_end: now,
            message_id: digest_message_id(name, now, to),
            attempts: 0,
            retry_since: now,
        };
        if let Some(msg) = batch_message(&outgoing, &batch, entries, now)? {
            out.write_all(&msg.formatted())
                .and_then(|()| out.write_all(b"\r\n"))
                .map_err(|e| DeliverError::Build(format!("writing to stdout: {e}")))?;
            n += 1;
        }
    }
    Ok(n)
}

/// Build the digest `name` now, covering everything waiting for it, and send it.
/// Returns how many emails it made; an email that could not be sent is an error (it
/// stays in the outbox).
pub async fn send_digest_now(
    cfg: &Config,
    name: &str,
    now: DateTime<Utc>,
) -> Result<usize, DeliverError> {
    let mailer = Mailer::new(&cfg.mail, &cfg.channels)?;
    let store = StoreHandle::new(open(cfg)?);
    let owned = name.to_string();
    let built = store
        .call(move |s| {
            let last = digests::last_run(&s.conn, &owned)?;
            let mid = |to: &str| digest_message_id(&owned, now, to);
            digests::build(&mut s.conn, &owned, last, now, now, &mid)
        })
        .await?;
    let stats = send_due(&store, &mailer, &Outgoing::new(cfg), now).await?;
    if stats.retried + stats.failed > 0 {
        return Err(DeliverError::Send {
            message: format!(
                "{} email(s) could not be sent now; they stay in the outbox (see `vigie outbox`)",
                stats.retried + stats.failed
            ),
            per_message: false,
        });
    }
    Ok(built)
}
