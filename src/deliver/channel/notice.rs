//! Deliver stage, channel notices (pure): an outbox alert or batch, as the [`Notice`] a
//! channel is sent. The excerpt and the matched words are those of the email
//! (`render::story_view`), so every channel shows what the email shows.
//!
//! Invariants: the notice's key is the delivery's Message-ID, so a resend after a crash carries
//! the same key; every string stays plain text (the payloads escape it); no I/O, no clock.

use chrono_tz::Tz;

use super::{Item, Notice, NoticeKind, Outlet};
use crate::deliver::render::{Story, story_view};
use crate::store::digests::{Batch, Entry};
use crate::store::outbox::{PendingAlert, decode_hits};
use crate::store::stories::OutletLink;

/// Characters of text around the first hits in a channel's excerpt (an email shows 300).
const EXCERPT: usize = 240;

/// An immediate alert, with every outlet that carried the story (`links`: from the store).
pub fn alert(p: &PendingAlert, links: &[OutletLink], zone: Tz) -> Notice {
    let hits = decode_hits(&p.hits_json);
    let a = &p.article;
    // The view's outlets are the email's; a notice carries its own, with links and times.
    let view = story_view(
        &Story {
            watch: &p.watch,
            title: &a.title,
            link: a.link.as_deref(),
            outlets: &[],
            published: a.published_at,
            summary: &a.summary,
            content: &a.content,
            hits: &hits,
        },
        zone,
        EXCERPT,
    );
    let outlets = if links.is_empty() {
        vec![Outlet {
            name: a.feed.clone(),
            link: a.link.clone(),
            published: a.published_at,
        }]
    } else {
        (links.iter())
            .map(|l| Outlet {
                name: l.feed.clone(),
                link: l.link.clone(),
                published: l.published,
            })
            .collect()
    };
    Notice {
        kind: NoticeKind::Alert,
        key: p.message_id.clone(),
        watch: p.watch.clone(),
        title: view.title,
        link: view.link,
        outlets,
        excerpt: view.excerpt,
        terms: view.words,
        urgent: true,
        items: Vec::new(),
    }
}

/// A digest or a flood summary: its stories, one item each.
pub fn batch(b: &Batch, entries: &[Entry]) -> Notice {
    let (kind, title) = if b.kind == "flood" {
        (
            NoticeKind::Summary,
            format!("{} more alerts this hour", entries.len()),
        )
    } else {
        (
            NoticeKind::Digest,
            format!("digest {}: {} stories", b.name, entries.len()),
        )
    };
    Notice {
        kind,
        key: b.message_id.clone(),
        watch: b.name.clone(),
        title,
        link: None,
        outlets: Vec::new(),
        excerpt: Vec::new(),
        terms: Vec::new(),
        urgent: false,
        items: (entries.iter())
            .map(|e| Item {
                watch: e.watch.clone(),
                title: e.article.title.clone(),
                link: e.article.link.clone(),
            })
            .collect(),
    }
}

/// A plain notice (feed health, `vigie channels test`): a title and a line of text.
pub fn plain(kind: NoticeKind, key: &str, about: &str, title: &str, text: &str) -> Notice {
    Notice {
        kind,
        key: key.to_owned(),
        watch: about.to_owned(),
        title: title.to_owned(),
        link: None,
        outlets: Vec::new(),
        excerpt: vec![crate::deliver::render::Segment {
            text: text.to_owned(),
            mark: false,
        }],
        terms: Vec::new(),
        urgent: false,
        items: Vec::new(),
    }
}
