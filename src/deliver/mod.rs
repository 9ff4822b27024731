//! Deliver stage: the mail transports (SMTP via lettre, or `.eml` files) and the retry
//! policy; the outbox worker is in `worker`, emails are assembled in `message`, rendered
//! in `render` and `digest`, scheduled by `calendar` and `flood`. Invariants: a delivery
//! is marked sent only after the transport accepted it; a resend after a crash carries
//! the same Message-ID (and, for files, overwrites the same file); one pooled SMTP
//! connection serves a whole batch; the SMTP password is read when the transport is
//! built and never logged.

pub mod calendar;
pub mod commands;
pub mod digest;
pub mod flood;
pub mod message;
pub mod render;
pub mod worker;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{MailConfig, PasswordSource, Security, SmtpConfig, Transport};
use crate::store::StoreError;

pub use message::{Outgoing, alert_message};
pub use worker::{DeliveryStats, build_due_digests, deliver_due, send_due};

#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error("cannot read the SMTP password: {0}")]
    Password(String),
    #[error("SMTP setup: {0}")]
    Setup(String),
    #[error("invalid address {0:?}: {1}")]
    Address(String, String),
    #[error("building the email: {0}")]
    Build(String),
    #[error("sending: {message}")]
    Send {
        message: String,
        /// The server refused this one message (a reply code); others may still go.
        /// Otherwise the connection itself failed and the rest of the batch waits too.
        per_message: bool,
    },
    #[error("writing {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("digest \"{0}\": {1}")]
    Calendar(String, calendar::CalendarError),
    #[error("no digest named \"{0}\" in the configuration")]
    NoDigest(String),
    #[error(transparent)]
    Render(#[from] render::RenderError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DeliverError {
    /// Whether this failure concerns only the one email (the others of a batch may go).
    pub fn per_message(&self) -> bool {
        match self {
            DeliverError::Send { per_message, .. } => *per_message,
            DeliverError::Address(..) | DeliverError::Build(_) | DeliverError::Render(_) => true,
            _ => false,
        }
    }
}

/// Where emails go.
#[derive(Clone)]
pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(PathBuf),
}

impl Mailer {
    pub fn new(mail: &MailConfig) -> Result<Mailer, DeliverError> {
        match &mail.transport {
            Transport::Maildir { dir } => Ok(Mailer::Files(dir.clone())),
            Transport::Smtp(s) => smtp(s).map(Mailer::Smtp),
        }
    }

    pub async fn send(&self, msg: &Message, message_id: &str) -> Result<(), DeliverError> {
        match self {
            Mailer::Smtp(t) => t.send(msg.clone()).await.map(|_| ()).map_err(|e| {
                DeliverError::Send {
                    per_message: e.is_permanent() || e.is_transient(),
                    message: e.to_string(),
                }
            }),
            Mailer::Files(dir) => write_eml(dir, message_id, &msg.formatted()).await,
        }
    }
}

fn smtp(s: &SmtpConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, DeliverError> {
    crate::fetch::install_crypto_provider();
    let tls = || TlsParameters::new(s.host.clone()).map_err(|e| DeliverError::Setup(e.to_string()));
    // Sends are sequential, so one pooled connection carries a whole batch (and the
    // next one, while it stays open) instead of one TCP and TLS handshake per email.
    let pool = PoolConfig::new()
        .max_size(2)
        .idle_timeout(Duration::from_secs(60));
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(s.host.clone())
        .port(s.port)
        .timeout(Some(Duration::from_secs(30)))
        .pool_config(pool);
    b = match s.security {
        Security::None => b.tls(Tls::None),
        Security::StartTls => b.tls(Tls::Required(tls()?)),
        Security::Tls => b.tls(Tls::Wrapper(tls()?)),
    };
    if let Some(user) = &s.username {
        let password = match &s.password {
            Some(PasswordSource::File(p)) => std::fs::read_to_string(p)
                .map_err(|e| DeliverError::Password(format!("{}: {e}", p.display())))?
                .trim_end_matches(['\r', '\n'])
                .to_string(),
            Some(PasswordSource::Env(var)) => std::env::var(var).map_err(|_| {
                DeliverError::Password(format!("environment variable {var} is not set"))
            })?,
            None => String::new(),
        };
        b = b.credentials(Credentials::new(user.clone(), password));
    }
    Ok(b.build())
}

/// Write an email as `<dir>/<id>.eml`, atomically (temporary file, then rename), named
/// after its Message-ID so that a resend replaces rather than duplicates it.
async fn write_eml(dir: &Path, message_id: &str, bytes: &[u8]) -> Result<(), DeliverError> {
    let stem: String = message_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
        .collect();
    let path = dir.join(format!("{stem}.eml"));
    let tmp = dir.join(format!(".{stem}.tmp"));
    let io = |source| DeliverError::File {
        path: path.clone(),
        source,
    };
    tokio::fs::create_dir_all(dir).await.map_err(io)?;
    tokio::fs::write(&tmp, bytes).await.map_err(io)?;
    tokio::fs::rename(&tmp, &path).await.map_err(io)
}

/// When to try a failed delivery again: exponential backoff from 30 s up to 1 h, with a
/// deterministic ±20 % jitter so that many failed deliveries do not retry in lockstep;
/// `None` once the delivery has been failing for 24 h since `since` (it is then marked
/// failed).
pub fn retry_at(
    delivery_id: i64,
    attempts: u32,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if now - since >= chrono::Duration::hours(24) {
        return None;
    }
    let base = 30i64.saturating_mul(1i64 << attempts.min(20)).min(3600);
    let jitter = (delivery_id
        .wrapping_mul(2_654_435_761)
        .wrapping_add(attempts as i64))
    .rem_euclid(41)
        - 20;
    Some(now + chrono::Duration::seconds(base + base * jitter / 100))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_give_up_after_a_day() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let first = retry_at(7, 0, t0, t0).unwrap() - t0;
        let later = retry_at(7, 6, t0, t0).unwrap() - t0;
        assert!(
            first.num_seconds() >= 24 && first.num_seconds() <= 36,
            "{first}"
        );
        assert!(later > first);
        assert!(later.num_seconds() <= 3600 * 12 / 10);
        assert_eq!(retry_at(7, 3, t0, t0 + chrono::Duration::hours(24)), None);
    }

    #[test]
    fn jitter_spreads_deliveries_that_failed_together() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let times: std::collections::HashSet<_> =
            (1..50).map(|id| retry_at(id, 4, t0, t0).unwrap()).collect();
        assert!(times.len() > 10, "{} distinct retry times", times.len());
    }
}
