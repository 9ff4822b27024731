//! Deliver stage, alert channels (async shell): the `[[channel]]`s of the configuration with
//! their credentials, and one HTTP request per notice (webhook, ntfy, Slack, Telegram, Matrix).
//!
//! Invariants: a credential is read once, when the channels are built, and lives only in a
//! [`Secret`], whose `Debug` hides it; no URL reaches an error message or a log line (Telegram's
//! carries the bot token), only the channel's name; a 429 is a wait (`Retry-After`, or
//! Telegram's `retry_after`), anything else but a 2xx a failure the outbox retries; redirects
//! are not followed (a signed POST goes only where it was configured to go).

pub mod notice;
pub mod payload;
mod text;

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::DeliverError;
use crate::config::ChannelConfig;
use crate::deliver::render::Segment;

/// What a notice is about; the webhook's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Alert,
    Digest,
    Summary,
    FeedHealth,
    Test,
}

impl NoticeKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            NoticeKind::Alert => "alert",
            NoticeKind::Digest => "digest",
            NoticeKind::Summary => "summary",
            NoticeKind::FeedHealth => "feed-health",
            NoticeKind::Test => "test",
        }
    }
}

/// One outlet that carried a story.
#[derive(Debug, Clone, PartialEq)]
pub struct Outlet {
    pub name: String,
    pub link: Option<String>,
    pub published: Option<DateTime<Utc>>,
}

/// One story of a digest or a summary.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub watch: String,
    pub title: String,
    pub link: Option<String>,
}

/// What a channel is told. Every string is plain, unescaped text, possibly from a feed.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub kind: NoticeKind,
    /// The idempotency key: the delivery's Message-ID, derived from (watch, story, recipient).
    pub key: String,
    /// The watch (alerts), the digest's name (digests) or what the notice concerns.
    pub watch: String,
    pub title: String,
    pub link: Option<String>,
    pub outlets: Vec<Outlet>,
    /// An excerpt of the text with the hits marked.
    pub excerpt: Vec<Segment>,
    /// The matched words.
    pub terms: Vec<String>,
    /// An immediate watch's alert: sent with a high priority where the channel has one.
    pub urgent: bool,
    /// The stories of a digest or summary.
    pub items: Vec<Item>,
}

/// How long one request may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Most of a server's answer kept for `vigie channels test` and error messages.
const ANSWER_MAX: usize = 500;
/// Most of a server's answer read (Telegram's `retry_after` is in the first few hundred bytes).
const ANSWER_READ: usize = 4096;
/// The longest wait a 429 may ask for before the outbox's own backoff takes over.
const MAX_WAIT: Duration = Duration::from_secs(3600);

/// A credential, shown as `***` by `Debug`.
#[derive(Clone)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Every configured channel, ready to send.
#[derive(Clone, Debug, Default)]
pub struct Channels {
    client: Option<reqwest::Client>,
    list: Vec<(ChannelConfig, Option<Secret>)>,
}

impl Channels {
    /// Read every channel's credential; an unreadable one is an error naming the channel and
    /// where it was to be read, never its content.
    pub fn new(channels: &[ChannelConfig]) -> Result<Channels, DeliverError> {
        if channels.is_empty() {
            return Ok(Channels::default());
        }
        let mut list = Vec::with_capacity(channels.len());
        for c in channels {
            let secret =
                match &c.secret {
                    Some(source) => Some(Secret(source.read().map_err(|e| {
                        DeliverError::Setup(format!("channel \"{}\": {e}", c.name))
                    })?)),
                    None => None,
                };
            list.push((c.clone(), secret));
        }
        crate::fetch::install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("vigie/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| DeliverError::Setup(format!("HTTP client: {}", e.without_url())))?;
        Ok(Channels {
            client: Some(client),
            list,
        })
    }

    /// Tell channel `name` about `notice`; the server's answer (status and the start of its
    /// body) when it accepted it.
    pub async fn send(
        &self,
        name: &str,
        notice: &Notice,
        now: DateTime<Utc>,
    ) -> Result<String, DeliverError> {
        let failed = |message: String, wait: Option<Duration>, down: bool| DeliverError::Channel {
            channel: name.to_owned(),
            message,
            wait,
            down,
        };
        let (Some(client), Some((cfg, secret))) =
            (&self.client, self.list.iter().find(|(c, _)| c.name == name))
        else {
            return Err(failed(
                "no such channel in the configuration".into(),
                None,
                true,
            ));
        };
        let req = payload::request(cfg, secret.as_ref().map(|s| s.0.as_str()), notice, now)
            .map_err(|e| failed(e.to_string(), None, true))?;
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|e| failed(e.to_string(), None, true))?;
        let mut builder = client.request(method, &req.url).body(req.body);
        for (k, v) in &req.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let response = builder
            .send()
            .await
            .map_err(|e| failed(e.without_url().to_string(), None, true))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| crate::fetch::headers::parse_retry_after(v, now));
        let body = read_answer(response).await;
        let answer = format!("{} {}", status.as_u16(), clip(&body));
        if status.is_success() {
            return Ok(answer);
        }
        if status.as_u16() == 429 {
            let wait = retry_after
                .or_else(|| telegram_retry_after(&body))
                .unwrap_or(Duration::from_secs(60))
                .min(MAX_WAIT);
            return Err(failed(format!("throttled: {answer}"), Some(wait), true));
        }
        // A 4xx refuses this message; a 5xx says the service is failing.
        Err(failed(
            format!("answered {answer}"),
            None,
            status.is_server_error(),
        ))
    }
}

/// The start of a server's answer: at most [`ANSWER_READ`] bytes are read, whatever it sends.
async fn read_answer(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < ANSWER_READ {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(ANSWER_READ);
    String::from_utf8_lossy(&body).into_owned()
}

/// Telegram's 429 body: `{"ok":false,"error_code":429,"parameters":{"retry_after":N}}`.
fn telegram_retry_after(body: &str) -> Option<Duration> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    v.get("parameters")?
        .get("retry_after")?
        .as_u64()
        .map(Duration::from_secs)
}

/// The start of a server's answer, on one line.
fn clip(body: &str) -> String {
    let line: String = body
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(ANSWER_MAX)
        .collect();
    line.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ChannelKind;

    #[test]
    fn telegram_429_says_how_long_to_wait() {
        let body = r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#;
        assert_eq!(telegram_retry_after(body), Some(Duration::from_secs(7)));
        assert_eq!(telegram_retry_after("{\"ok\":false}"), None);
        assert_eq!(telegram_retry_after("<html>busy</html>"), None);
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let s = Secret("whsec_SECRET".into());
        assert_eq!(format!("{s:?}"), "Secret(***)");
        let channels = Channels {
            client: None,
            list: vec![(
                ChannelConfig {
                    name: "c".into(),
                    kind: ChannelKind::Telegram,
                    url: "https://api.telegram.org".into(),
                    chat_id: Some("1".into()),
                    room: None,
                    secret: None,
                },
                Some(Secret("123:TOKEN".into())),
            )],
        };
        assert!(!format!("{channels:?}").contains("TOKEN"));
    }
}
