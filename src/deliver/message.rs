//! Deliver stage, assembling emails (pure): headers and the multipart body of an alert,
//! a digest or a flood summary. Invariants: every email carries Message-ID, Date,
//! List-Id, `X-Vigie-Watch` and `Auto-Submitted: auto-generated`; every header value
//! built from configuration or feed text is a single line without control characters;
//! the bodies are plain text and HTML alternatives of the same content.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};

use super::DeliverError;
use super::digest::{Heading, Item, render_batch};
use super::render::{self, Rendered, Story, header_safe};
use crate::config::Config;
use crate::config::units::parse_zone;
use crate::rules::Hit;
use crate::store::digests::{Batch, Entry};
use crate::store::outbox::{PendingAlert, decode_hits};

/// What the worker needs from the configuration to write emails.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub from: String,
    /// The watches in the order the rules define them (digests group in that order).
    pub watch_order: Vec<String>,
    /// Time zone of each digest, by name.
    digest_zones: HashMap<String, Tz>,
    /// Time zone an alert of each watch is shown in (see `Outgoing::new`).
    watch_zones: HashMap<String, Tz>,
    default_zone: Tz,
}

impl Outgoing {
    /// Times are shown in a digest's own `timezone`. An alert shows them in `[mail]
    /// timezone` when set; else in the time zone of the digest its watch names, else of
    /// the first `[[digest]]`, else UTC: the desk that reads the digest reads the alerts too.
    pub fn new(cfg: &Config) -> Outgoing {
        let digest_zones: HashMap<String, Tz> = cfg
            .digests
            .iter()
            .map(|d| (d.name.clone(), parse_zone(&d.timezone).unwrap_or(Tz::UTC)))
            .collect();
        let default_zone = cfg
            .digests
            .first()
            .and_then(|d| digest_zones.get(&d.name).copied())
            .unwrap_or(Tz::UTC);
        let mail_zone = cfg
            .mail
            .timezone
            .as_deref()
            .and_then(|z| parse_zone(z).ok());
        let default_zone = mail_zone.unwrap_or(default_zone);
        let watch_zones = cfg
            .rules
            .watches
            .iter()
            .filter(|_| mail_zone.is_none())
            .filter_map(|w| {
                let d = w.digest.as_ref()?;
                Some((w.name.clone(), *digest_zones.get(d)?))
            })
            .collect();
        Outgoing {
            from: cfg.mail.from.clone(),
            watch_order: cfg.rules.watches.iter().map(|w| w.name.clone()).collect(),
            digest_zones,
            watch_zones,
            default_zone,
        }
    }

    pub fn watch_zone(&self, watch: &str) -> Tz {
        self.watch_zones
            .get(watch)
            .copied()
            .unwrap_or(self.default_zone)
    }

    pub fn digest_zone(&self, digest: &str) -> Tz {
        self.digest_zones
            .get(digest)
            .copied()
            .unwrap_or(self.default_zone)
    }
}

fn mailbox(s: &str) -> Result<Mailbox, DeliverError> {
    s.parse().map_err(|e: lettre::address::AddressError| {
        DeliverError::Address(s.to_string(), e.to_string())
    })
}

fn header(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), header_safe(&value))
}

/// A List-Id label: lower-case letters, digits and hyphens only.
fn label(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if s.is_empty() { "vigie".into() } else { s }
}

/// Who an email goes to and what it belongs to.
struct Envelope<'a> {
    to: &'a str,
    message_id: &'a str,
    /// `X-Vigie-Watch`: the watch, or the watches of a digest.
    watches: String,
    list_id: String,
    digest: Option<&'a str>,
}

/// The headers every vigie email has, around `r`.
fn assemble(
    out: &Outgoing,
    e: Envelope<'_>,
    now: DateTime<Utc>,
    r: Rendered,
) -> Result<Message, DeliverError> {
    let mut b = Message::builder()
        .from(mailbox(&out.from)?)
        .to(mailbox(e.to)?)
        .subject(r.subject)
        .message_id(Some(e.message_id.to_string()))
        .date(now.into())
        .raw_header(header("Auto-Submitted", "auto-generated".into()))
        .raw_header(header("X-Vigie-Watch", e.watches))
        .raw_header(header("List-Id", e.list_id));
    if let Some(d) = e.digest {
        b = b.raw_header(header("X-Vigie-Digest", d.to_string()));
    }
    b.multipart(MultiPart::alternative_plain_html(r.text, r.html))
        .map_err(|e| DeliverError::Build(e.to_string()))
}

/// The email of one immediate alert.
pub fn alert_message(
    out: &Outgoing,
    p: &PendingAlert,
    outlets: &[String],
    now: DateTime<Utc>,
) -> Result<Message, DeliverError> {
    let hits = decode_hits(&p.hits_json);
    let a = &p.article;
    let own = [a.feed.clone()];
    let r = render::render_alert(
        &Story {
            watch: &p.watch,
            title: &a.title,
            link: a.link.as_deref(),
            outlets: if outlets.is_empty() { &own } else { outlets },
            published: a.published_at,
            summary: &a.summary,
            content: &a.content,
            hits: &hits,
        },
        out.watch_zone(&p.watch),
    )?;
    let e = Envelope {
        to: &p.recipient,
        message_id: &p.message_id,
        watches: p.watch.clone(),
        list_id: format!(
            "vigie alerts: {} <{}.vigie>",
            header_safe(&p.watch),
            label(&p.watch)
        ),
        digest: None,
    };
    assemble(out, e, now, r)
}

/// The email of a batch (a digest or a flood summary) with its entries; `None` when it
/// has no entries (an empty digest is not sent).
pub fn batch_message(
    out: &Outgoing,
    b: &Batch,
    entries: &[Entry],
    now: DateTime<Utc>,
) -> Result<Option<Message>, DeliverError> {
    if entries.is_empty() {
        return Ok(None);
    }
    let hits: Vec<Vec<Hit>> = entries.iter().map(|e| decode_hits(&e.hits_json)).collect();
    let items: Vec<Item<'_>> = entries
        .iter()
        .zip(&hits)
        .map(|(e, h)| Item {
            story_key: &e.story,
            time: e.article.published_at.unwrap_or(e.article.first_seen_at),
            story: Story {
                watch: &e.watch,
                title: &e.article.title,
                link: e.article.link.as_deref(),
                outlets: &e.outlets,
                published: e.article.published_at,
                summary: &e.article.summary,
                content: &e.article.content,
                hits: h,
            },
        })
        .collect();
    let mut watches: Vec<&str> = entries.iter().map(|e| e.watch.as_str()).collect();
    watches.sort_unstable();
    watches.dedup();
    let (heading, zone, list_id, digest) = if b.kind == "flood" {
        (
            Heading::Flood {
                watch: &b.name,
                start: b
                    .period_start
                    .unwrap_or(b.period_end - chrono::Duration::hours(1)),
                end: b.period_end,
            },
            out.watch_zone(&b.name),
            format!(
                "vigie alerts: {} <{}.vigie>",
                header_safe(&b.name),
                label(&b.name)
            ),
            None,
        )
    } else {
        (
            Heading::Digest {
                name: &b.name,
                since: b.period_start,
                at: b.period_end,
            },
            out.digest_zone(&b.name),
            format!(
                "vigie digest: {} <{}.digest.vigie>",
                header_safe(&b.name),
                label(&b.name)
            ),
            Some(b.name.as_str()),
        )
    };
    let r = render_batch(&heading, &items, &out.watch_order, zone)?;
    let e = Envelope {
        to: &b.recipient,
        message_id: &b.message_id,
        watches: watches.join(", "),
        list_id,
        digest,
    };
    assemble(out, e, now, r).map(Some)
}

/// A notice (feed health) as a plain-text email to one admin.
pub fn notice_message(
    out: &Outgoing,
    n: &crate::store::notices::Notice,
    now: DateTime<Utc>,
) -> Result<Message, DeliverError> {
    Message::builder()
        .from(mailbox(&out.from)?)
        .to(mailbox(&n.recipient)?)
        .subject(header_safe(&n.subject))
        .message_id(Some(n.message_id.clone()))
        .date(now.into())
        .raw_header(header("Auto-Submitted", "auto-generated".into()))
        .raw_header(header(
            "List-Id",
            format!("vigie {} <{}.vigie>", n.kind, label(&n.kind)),
        ))
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .body(n.body.clone())
        .map_err(|e| DeliverError::Build(e.to_string()))
}
