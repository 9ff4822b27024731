//! Deliver stage: where deliveries go — the mail transports (SMTP via lettre, or `.eml`
//! files) and the alert channels (`channel`: webhooks and chat services) — and the retry
//! policy; the outbox worker is in `worker`, emails are assembled in `message`, rendered
//! in `render` and `digest`, scheduled by `calendar` and `flood`. Invariants: a delivery
//! is marked sent only after the transport accepted it; a resend after a crash carries
//! the same Message-ID (and, for files, overwrites the same file); one SMTP connection
//! serves a whole batch (a `Session`); the SMTP password is read when the transport is
//! built and never logged.

pub mod atom;
pub mod calendar;
pub mod channel;
pub mod digest;
pub mod flood;
pub mod manual;
pub mod message;
pub mod notices;
pub mod queue;
pub mod render;
pub mod worker;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::Message;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;

use crate::config::{ChannelConfig, MailConfig, Security, SmtpConfig, Transport};
use crate::store::StoreError;
use channel::{Channels, Notice};

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
    #[error("channel \"{channel}\": {message}")]
    Channel {
        channel: String,
        message: String,
        /// The wait the service asked for (a 429), if any.
        wait: Option<Duration>,
        /// The channel itself is failing (unreachable, a 5xx, a 429), not just this message:
        /// its other deliveries wait for the next round.
        down: bool,
    },
    #[error("digest \"{0}\": {1}")]
    Calendar(String, crate::config::units::CalendarError),
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
            DeliverError::Address(..)
            | DeliverError::Build(_)
            | DeliverError::Render(_)
            | DeliverError::Channel { .. } => true,
            _ => false,
        }
    }
}

/// Where emails go.
/// Where deliveries go: the mail transport, and the alert channels.
#[derive(Clone)]
pub struct Mailer {
    transport: MailTransport,
    channels: std::sync::Arc<channel::Channels>,
}

#[derive(Clone)]
enum MailTransport {
    Smtp(std::sync::Arc<SmtpTarget>),
    Files(PathBuf),
}

/// An SMTP server and how to log in to it. Deliberately not `Debug`: it holds the
/// password.
pub struct SmtpTarget {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
}

impl Mailer {
    /// The mail transport of `[mail]` and the channels of `[[channel]]`, credentials read.
    pub fn new(mail: &MailConfig, channels: &[ChannelConfig]) -> Result<Mailer, DeliverError> {
        let transport = match &mail.transport {
            Transport::Maildir { dir } => MailTransport::Files(dir.clone()),
            Transport::Smtp(s) => MailTransport::Smtp(std::sync::Arc::new(smtp(s)?)),
        };
        Ok(Mailer {
            transport,
            channels: std::sync::Arc::new(channel::Channels::new(channels)?),
        })
    }

    /// The alert channels.
    pub fn channels(&self) -> &channel::Channels {
        &self.channels
    }

    /// A session that sends several emails over one connection.
    pub fn session(&self) -> Session<'_> {
        Session {
            mailer: self,
            conn: None,
        }
    }

    /// Send one email on a connection of its own.
    pub async fn send(&self, msg: &Message, message_id: &str) -> Result<(), DeliverError> {
        let mut s = self.session();
        let r = s.send(msg, message_id).await;
        s.close().await;
        r
    }
}

/// Several emails sent in a row over one SMTP connection, opened at the first email and
/// opened again only if it broke. `close` ends it politely (QUIT).
pub struct Session<'a> {
    mailer: &'a Mailer,
    conn: Option<AsyncSmtpConnection>,
}

impl Session<'_> {
    /// The alert channels, beside the mail connection.
    pub fn channels(&self) -> &channel::Channels {
        self.mailer.channels()
    }

    pub async fn send(&mut self, msg: &Message, message_id: &str) -> Result<(), DeliverError> {
        let target = match &self.mailer.transport {
            MailTransport::Files(dir) => {
                return write_eml(dir, message_id, &msg.formatted()).await;
            }
            MailTransport::Smtp(t) => t,
        };
        let failed = |e: lettre::transport::smtp::Error| DeliverError::Send {
            per_message: e.is_permanent() || e.is_transient(),
            message: e.to_string(),
        };
        if self
            .conn
            .as_ref()
            .is_some_and(AsyncSmtpConnection::has_broken)
        {
            self.conn = None;
        }
        let conn = match &mut self.conn {
            Some(c) => c,
            slot => slot.insert(connect(target).await?),
        };
        match tokio::time::timeout(SEND_TIMEOUT, conn.send(msg.envelope(), &msg.formatted())).await
        {
            Ok(r) => r.map(|_| ()).map_err(failed),
            Err(_) => {
                self.conn = None;
                Err(down(format!(
                    "the server did not answer within {SEND_TIMEOUT:?}"
                )))
            }
        }
    }

    pub async fn close(mut self) {
        if let Some(mut c) = self.conn.take() {
            let _ = c.quit().await;
        }
    }
}

fn smtp(s: &SmtpConfig) -> Result<SmtpTarget, DeliverError> {
    crate::fetch::install_crypto_provider();
    let credentials = match &s.username {
        None => None,
        Some(user) => {
            let password = match &s.password {
                Some(source) => source.read().map_err(DeliverError::Password)?,
                None => String::new(),
            };
            Some(Credentials::new(user.clone(), password))
        }
    };
    // Fail now, not at the first email, if TLS cannot be set up for this host.
    if s.security != Security::None {
        TlsParameters::new(s.host.clone()).map_err(|e| DeliverError::Setup(e.to_string()))?;
    }
    Ok(SmtpTarget {
        host: s.host.clone(),
        port: s.port,
        security: s.security,
        credentials,
    })
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const SEND_TIMEOUT: Duration = Duration::from_secs(120);

fn down(message: String) -> DeliverError {
    DeliverError::Send {
        per_message: false,
        message,
    }
}

/// Open a connection: TCP (or TLS from the start), EHLO, STARTTLS when required, login.
/// With `security = "starttls"` or `"none"` the TCP socket is opened here with Nagle's
/// algorithm off, so the end of an email leaves at once: the moment the server holds an
/// email that the outbox has not yet marked sent (the only moment a crash can make it
/// send that email twice) shrinks to one round trip. With `"tls"` (TLS from the first
/// byte) lettre opens the socket itself and Nagle's algorithm stays on: that moment may
/// last one delayed acknowledgement longer (tens of milliseconds).
async fn connect(t: &SmtpTarget) -> Result<AsyncSmtpConnection, DeliverError> {
    let hello = ClientId::default();
    let smtp = |e: lettre::transport::smtp::Error| down(e.to_string());
    let addr = format!("{}:{}", t.host, t.port);
    let mut conn = if t.security == Security::Tls {
        let tls = TlsParameters::new(t.host.clone()).map_err(smtp)?;
        AsyncSmtpConnection::connect_tokio1(
            (t.host.as_str(), t.port),
            Some(CONNECT_TIMEOUT),
            &hello,
            Some(tls),
            None,
        )
        .await
        .map_err(smtp)?
    } else {
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(&addr))
            .await
            .map_err(|_| down(format!("connecting to {addr}: timed out")))?
            .map_err(|e| down(format!("connecting to {addr}: {e}")))?;
        tcp.set_nodelay(true)
            .map_err(|e| down(format!("connecting to {addr}: {e}")))?;
        let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello)
            .await
            .map_err(smtp)?;
        if t.security == Security::StartTls {
            let tls = TlsParameters::new(t.host.clone()).map_err(smtp)?;
            conn.starttls(tls, &hello).await.map_err(smtp)?;
        }
        conn
    };
    if let Some(c) = &t.credentials {
        conn.auth(&[Mechanism::Plain, Mechanism::Login], c)
            .await
            .map_err(smtp)?;
    }
    Ok(conn)
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

/// Send `notice` to channel `name`, unless it already failed this round: a channel that is
/// down costs one attempt per round, not one per alert (its other deliveries wait).
pub(crate) async fn to_channel(
    channels: &Channels,
    name: &str,
    notice: &Notice,
    now: DateTime<Utc>,
    down: &mut HashSet<String>,
) -> Result<(), DeliverError> {
    if down.contains(name) {
        return Err(DeliverError::Channel {
            channel: name.to_owned(),
            message: "not tried: it failed earlier in this round".into(),
            wait: None,
            down: true,
        });
    }
    match channels.send(name, notice, now).await {
        Ok(answer) => {
            tracing::debug!(channel = %name, %answer, "channel accepted");
            Ok(())
        }
        Err(e) => {
            // A refused message (a 4xx) says nothing of the others; an outage or a 429 does.
            if matches!(e, DeliverError::Channel { down: true, .. }) {
                down.insert(name.to_owned());
            }
            Err(e)
        }
    }
}

/// When to try a failed delivery again: when the service said (a 429's wait), else the
/// outbox's backoff; never after 24 h of failures.
pub(crate) fn next_try(
    e: &DeliverError,
    id: i64,
    attempts: u32,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let backoff = retry_at(id, attempts, since, now)?;
    match e {
        DeliverError::Channel {
            wait: Some(wait), ..
        } => Some(now + chrono::Duration::from_std(*wait).unwrap_or(chrono::Duration::hours(1))),
        _ => Some(backoff),
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

    #[test]
    fn jitter_spreads_deliveries_that_failed_together() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let times: std::collections::HashSet<_> =
            (1..50).map(|id| retry_at(id, 4, t0, t0).unwrap()).collect();
        assert!(times.len() > 10, "{} distinct retry times", times.len());
    }
}
