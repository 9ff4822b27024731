//! Deliver stage: the outbox worker and the mail transports (SMTP via lettre, or `.eml`
//! files). Invariants: a delivery is marked sent only after the transport accepted it;
//! a resend after a crash carries the same Message-ID (and, for files, overwrites the
//! same file); the SMTP password is read when the transport is built and never logged.

pub mod render;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{MailConfig, PasswordSource, Security, SmtpConfig, Transport};
use crate::rules::Hit;
use crate::store::outbox::{self, PendingAlert};
use crate::store::{StoreError, StoreHandle};

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
    #[error("sending: {0}")]
    Send(String),
    #[error("writing {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Render(#[from] render::RenderError),
    #[error(transparent)]
    Store(#[from] StoreError),
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
            Mailer::Smtp(t) => t
                .send(msg.clone())
                .await
                .map(|_| ())
                .map_err(|e| DeliverError::Send(e.to_string())),
            Mailer::Files(dir) => write_eml(dir, message_id, &msg.formatted()).await,
        }
    }
}

fn smtp(s: &SmtpConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, DeliverError> {
    crate::fetch::install_crypto_provider();
    let tls = || TlsParameters::new(s.host.clone()).map_err(|e| DeliverError::Setup(e.to_string()));
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(s.host.clone())
        .port(s.port)
        .timeout(Some(Duration::from_secs(30)));
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

fn mailbox(s: &str) -> Result<Mailbox, DeliverError> {
    s.parse().map_err(|e: lettre::address::AddressError| {
        DeliverError::Address(s.to_string(), e.to_string())
    })
}

/// Build the email for one pending alert.
pub fn alert_message(
    from: &str,
    p: &PendingAlert,
    now: DateTime<Utc>,
) -> Result<Message, DeliverError> {
    let hits: Vec<Hit> = serde_json::from_str(&p.hits_json).unwrap_or_default();
    let a = &p.article;
    let r = render::render_alert(&render::Alert {
        watch: &p.watch,
        title: &a.title,
        link: a.link.as_deref(),
        outlet: &a.feed,
        published: a.published_at,
        summary: &a.summary,
        content: &a.content,
        hits: &hits,
    })?;
    let watch = render::header_safe(&p.watch);
    Message::builder()
        .from(mailbox(from)?)
        .to(mailbox(&p.recipient)?)
        .subject(r.subject)
        .message_id(Some(p.message_id.clone()))
        .date(now.into())
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Vigie-Watch"),
            watch.clone(),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Id"),
            format!("vigie alerts <{}.vigie>", list_id(&watch)),
        ))
        .multipart(MultiPart::alternative_plain_html(r.text, r.html))
        .map_err(|e| DeliverError::Build(e.to_string()))
}

fn list_id(watch: &str) -> String {
    let s: String = watch
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if s.is_empty() { "watch".into() } else { s }
}

/// When to try a failed delivery again: exponential backoff from 30 s up to 1 h, with a
/// deterministic ±20 % jitter so that many failed deliveries do not retry in lockstep;
/// `None` once the delivery has been failing for 24 h (it is then marked failed).
pub fn retry_at(
    delivery_id: i64,
    attempts: u32,
    created: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if now - created >= chrono::Duration::hours(24) {
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

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryStats {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

/// Send every immediate alert due at `now`. Each result is written back as soon as it
/// is known, so a crash mid-batch resends at most the one email in flight (with the
/// same Message-ID).
pub async fn deliver_due(
    store: &StoreHandle,
    mailer: &Mailer,
    from: &str,
    now: DateTime<Utc>,
) -> Result<DeliveryStats, DeliverError> {
    let mut stats = DeliveryStats::default();
    loop {
        let batch = store
            .call(move |s| outbox::due_alerts(&s.conn, now, 100))
            .await?;
        if batch.is_empty() {
            return Ok(stats);
        }
        let mut progressed = false;
        for p in batch {
            let result = match alert_message(from, &p, now) {
                Ok(msg) => mailer.send(&msg, &p.message_id).await,
                Err(e) => Err(e),
            };
            let id = p.delivery_id;
            match result {
                Ok(()) => {
                    store
                        .call(move |s| outbox::mark_sent(&s.conn, id, now))
                        .await?;
                    tracing::info!(watch = %p.watch, to = %p.recipient, message_id = %p.message_id, "alert sent");
                    stats.sent += 1;
                    progressed = true;
                }
                Err(e) => {
                    let next = retry_at(id, p.attempts, p.created_at, now);
                    let err = e.to_string();
                    if next.is_some() {
                        stats.retried += 1;
                        tracing::warn!(watch = %p.watch, to = %p.recipient, error = %err, "alert not sent; will retry");
                    } else {
                        stats.failed += 1;
                        tracing::error!(watch = %p.watch, to = %p.recipient, error = %err, "alert failed for 24 h; giving up");
                    }
                    store
                        .call(move |s| outbox::mark_attempt_failed(&s.conn, id, &err, next))
                        .await?;
                }
            }
        }
        if !progressed {
            // Everything in this batch failed and was rescheduled: stop until later.
            return Ok(stats);
        }
    }
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
}
