//! Deliver stage, channel payloads (pure): one [`Notice`] — an alert, a digest, a flood
//! summary, a feed-health notice or a test — as the HTTP request each service's API requires.
//!
//! Invariants: feed text is plain text on every channel: escaped for the markup the channel
//! reads (JSON strings, Slack's mrkdwn, Telegram's and Matrix's HTML), with no way to mention
//! a whole room (`<!channel>`, `@here`) or to start bold or code from a feed; header values
//! carry no line break; the idempotency key goes where the service de-duplicates (the
//! webhook's `webhook-id`, Matrix's transaction id); nothing here does I/O or reads the clock.

use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use super::Notice;
use super::text::{
    details, excerpt_with_offsets, header_value, heading, html_message, inline, plain_message,
    rfc2047, safe_link, slack_entities, slack_escape, tags,
};
use crate::config::{ChannelConfig, ChannelKind};

/// An HTTP request, ready to send. Its URL (Telegram's carries the bot token) and headers
/// (bearer tokens) are credentials: `Debug` shows neither.
#[derive(Clone, PartialEq)]
pub struct Request {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &"***")
            .field("headers", &self.headers.len())
            .field("body", &self.body.len())
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("the channel's secret is missing")]
    NoSecret,
    #[error("the webhook secret is not whsec_ followed by base64")]
    BadSecret,
    #[error("the channel's URL is not a valid URL: {0}")]
    BadUrl(String),
}

/// The request that tells channel `ch` about `n`, at `now` (the webhook's timestamp).
pub fn request(
    ch: &ChannelConfig,
    secret: Option<&str>,
    n: &Notice,
    now: DateTime<Utc>,
) -> Result<Request, PayloadError> {
    match ch.kind {
        ChannelKind::Webhook => webhook(ch, secret.ok_or(PayloadError::NoSecret)?, n, now),
        ChannelKind::Ntfy => Ok(ntfy(ch, secret, n)),
        ChannelKind::Slack => Ok(slack(ch, n)),
        ChannelKind::Telegram => telegram(ch, secret.ok_or(PayloadError::NoSecret)?, n),
        ChannelKind::Matrix => matrix(ch, secret.ok_or(PayloadError::NoSecret)?, n),
    }
}

/// The webhook's JSON body: the notice's whole content, hits as byte offsets into the excerpt.
pub fn webhook_body(n: &Notice) -> serde_json::Value {
    let (excerpt, hits) = excerpt_with_offsets(&n.excerpt);
    let outlets: Vec<_> = (n.outlets.iter())
        .map(|o| {
            json!({
                "name": o.name,
                "link": o.link,
                "published": o.published.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
            })
        })
        .collect();
    let items: Vec<_> = (n.items.iter())
        .map(|i| json!({ "watch": i.watch, "title": i.title, "link": i.link }))
        .collect();
    json!({
        "type": n.kind.name(),
        "id": n.key,
        "watch": n.watch,
        "title": n.title,
        "link": n.link,
        "outlets": outlets,
        "excerpt": { "text": excerpt, "hits": hits.iter().map(|(s, e)| json!({"start": s, "end": e})).collect::<Vec<_>>() },
        "terms": n.terms,
        "urgent": n.urgent,
        "items": items,
    })
}

/// Standard Webhooks: `v1,` + base64 of HMAC-SHA256 over `id.timestamp.body`, keyed with the
/// secret's bytes (base64 after `whsec_`).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, PayloadError> {
    use hmac::Mac as _;
    let raw = secret.strip_prefix("whsec_").unwrap_or(secret);
    let key = base64::engine::general_purpose::STANDARD
        .decode(raw.trim())
        .map_err(|_| PayloadError::BadSecret)?;
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).map_err(|_| PayloadError::BadSecret)?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    Ok(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(tag)
    ))
}

fn webhook(
    ch: &ChannelConfig,
    secret: &str,
    n: &Notice,
    now: DateTime<Utc>,
) -> Result<Request, PayloadError> {
    let body = webhook_body(n).to_string().into_bytes();
    let ts = now.timestamp();
    let signature = sign(secret, &n.key, ts, &body)?;
    Ok(Request {
        method: "POST",
        url: ch.url.clone(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("webhook-id".into(), header_value(&n.key)),
            ("webhook-timestamp".into(), ts.to_string()),
            ("webhook-signature".into(), signature),
        ],
        body,
    })
}

fn ntfy(ch: &ChannelConfig, secret: Option<&str>, n: &Notice) -> Request {
    let mut headers = vec![
        ("content-type".into(), "text/plain; charset=utf-8".into()),
        ("title".into(), rfc2047(&heading(n))),
        (
            "priority".into(),
            if n.urgent { "high" } else { "default" }.into(),
        ),
        ("tags".into(), tags(n)),
        // ntfy has no idempotency key of its own; this one lets a relay drop a resend.
        ("x-vigie-id".into(), header_value(&n.key)),
    ];
    if let Some(link) = n.link.as_deref().and_then(safe_link) {
        // Percent-encoded: a header carries ASCII only.
        let link = url::Url::parse(link).map_or_else(|_| header_value(link), |u| u.to_string());
        headers.push(("click".into(), link));
    }
    if let Some(token) = secret {
        headers.push(("authorization".into(), format!("Bearer {}", token.trim())));
    }
    Request {
        method: "POST",
        url: ch.url.clone(),
        headers,
        body: plain_message(n).into_bytes(),
    }
}

fn slack(ch: &ChannelConfig, n: &Notice) -> Request {
    let title = slack_escape(&heading(n));
    let mut text = match n.link.as_deref().and_then(safe_link) {
        Some(link) => format!("*<{}|{title}>*", slack_entities(link)),
        None => format!("*{title}*"),
    };
    let excerpt: String = (n.excerpt.iter())
        .map(|s| match (s.mark, slack_escape(&inline(&s.text))) {
            (true, t) if !t.trim().is_empty() => format!("*{}*", t.trim()),
            (_, t) => t,
        })
        .collect();
    if !excerpt.trim().is_empty() {
        text.push('\n');
        text.push_str(excerpt.trim());
    }
    for line in details(n) {
        text.push('\n');
        text.push_str(&slack_escape(&line));
    }
    let body = json!({ "text": text, "parse": "none", "unfurl_links": false });
    Request {
        method: "POST",
        url: ch.url.clone(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
    }
}

fn telegram(ch: &ChannelConfig, token: &str, n: &Notice) -> Result<Request, PayloadError> {
    let base = ch.url.trim_end_matches('/');
    let body = json!({
        "chat_id": ch.chat_id,
        "text": html_message(n, "b", "\n"),
        "parse_mode": "HTML",
        "disable_web_page_preview": true,
    });
    Ok(Request {
        method: "POST",
        url: format!("{base}/bot{}/sendMessage", token.trim()),
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
    })
}

fn matrix(ch: &ChannelConfig, token: &str, n: &Notice) -> Result<Request, PayloadError> {
    let mut url = url::Url::parse(&ch.url).map_err(|e| PayloadError::BadUrl(e.to_string()))?;
    let room = ch.room.as_deref().unwrap_or_default();
    url.path_segments_mut()
        .map_err(|()| PayloadError::BadUrl(ch.url.clone()))?
        .pop_if_empty()
        .extend([
            "_matrix",
            "client",
            "v3",
            "rooms",
            room,
            "send",
            "m.room.message",
            &n.key,
        ]);
    let body = json!({
        "msgtype": if n.urgent { "m.text" } else { "m.notice" },
        "body": plain_message(n),
        "format": "org.matrix.custom.html",
        "formatted_body": html_message(n, "strong", "<br>"),
    });
    Ok(Request {
        method: "PUT",
        url: url.to_string(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("authorization".into(), format!("Bearer {}", token.trim())),
        ],
        body: body.to_string().into_bytes(),
    })
}

#[cfg(test)]
mod tests;
