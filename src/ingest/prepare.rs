//! Ingest, the phases before writing: identify the items, classify them against the store
//! (read-only, under its lock, briefly), then match and fingerprint the fresh ones (pure
//! and CPU-bound, off the lock, on as many threads as there are feeds in flight).
//! In: a feed's parsed items. Out: [`Prepared`] items ready for `write`.

use chrono::{DateTime, Utc};

use crate::config::{Config, FeedConfig, Watch};
use crate::identify::{Identity, content_hash, identify};
use crate::parse::Item;
use crate::rules::{Document, Hit, Matcher};
use crate::store::lookup::Lookup;
use crate::store::outbox::encode_hits;
use crate::store::{Result, Store};
use crate::stories::{self, Fingerprint};

/// What the rules need to know to decide and address alerts.
pub struct MatchContext<'a> {
    pub matcher: &'a Matcher,
    pub watches: &'a [Watch],
    pub config: &'a Config,
}

impl<'a> MatchContext<'a> {
    /// The watches of `config`, compiled into `matcher`.
    pub fn new(matcher: &'a Matcher, config: &'a Config) -> Self {
        MatchContext {
            matcher,
            watches: &config.rules.watches,
            config,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestStats {
    pub items: usize,
    pub new: usize,
    pub edited: usize,
    /// New articles that joined a story already seen (copies or other outlets' reports).
    pub copies: usize,
    pub matches: usize,
    pub deliveries: usize,
}

/// An item with its identity and the fingerprint of what its feed says.
pub struct Identified {
    pub item: Item,
    pub id: Identity,
    /// The hash of the item as the feed gave it: it stays the feed's when the item's
    /// content becomes its page's text, so that the next poll finds it unchanged.
    pub hash: String,
    /// How its article page went (`ok`, or why the feed's text is used); `None` when no
    /// page was wanted.
    pub page: Option<String>,
}

impl Identified {
    /// `item` of `feed`, identified. Pure.
    pub fn new(feed: &str, item: Item) -> Identified {
        Identified {
            id: identify(feed, &item),
            hash: content_hash(&item),
            item,
            page: None,
        }
    }
}

/// Identify every item of `feed`. Pure.
pub fn identify_all(feed: &str, items: Vec<Item>) -> Vec<Identified> {
    items
        .into_iter()
        .map(|item| Identified::new(feed, item))
        .collect()
}

/// What a poll has to do with an item, decided before the work is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Stored, unchanged, already known to come from this feed: nothing to do.
    Known,
    /// Stored and unchanged, first seen in another feed: remember this feed carries it.
    Carried,
    /// New or edited: match it, fingerprint it, store it.
    Fresh,
}

/// Classify items against the store (read-only; under the store lock, quick: one query
/// for all of them).
pub fn classify(store: &Store, feed_id: i64, items: &[Identified]) -> Result<Vec<Class>> {
    let ids: Vec<&Identity> = items.iter().map(|it| &it.id).collect();
    let stored = Lookup::run(&store.conn, feed_id, &ids)?;
    Ok(items
        .iter()
        .map(|it| match stored.find(&it.id) {
            // Unchanged, or another feed's version of it: nothing to match again.
            Some(f) if f.hash == it.hash || f.version_of != feed_id => {
                if stored.carried_by(f.article_id, it.id.guid.as_deref()) {
                    Class::Known
                } else {
                    Class::Carried
                }
            }
            _ => Class::Fresh,
        })
        .collect())
}

/// Hits stored per match and field: enough for an excerpt and the words that matched,
/// however often a long article repeats them (the count of all of them is kept).
pub const STORED_HITS_PER_FIELD: usize = 16;

/// The hits of a match worth storing: the first [`STORED_HITS_PER_FIELD`] of each field.
fn stored_hits(hits: &[Hit]) -> Vec<&Hit> {
    let mut per_field = [0usize; 3];
    hits.iter()
        .filter(|h| {
            let n = &mut per_field[h.field as usize];
            *n += 1;
            *n <= STORED_HITS_PER_FIELD
        })
        .collect()
}

/// A fresh item with everything that can be computed without the database: the watches
/// it matches (feed scoping applied, with the hits stored as JSON and their total count)
/// and its story fingerprint and event terms.
pub struct Prepared {
    pub it: Identified,
    pub matches: Vec<(usize, String, usize)>,
    pub story: Option<Fingerprint>,
    pub event: stories::event::Terms,
}

/// Match and fingerprint one item, seen at `now`. Pure and CPU-bound: run it outside the
/// store lock, on as many threads as there are feeds in flight.
pub fn prepare(
    feed: &FeedConfig,
    it: Identified,
    ctx: &MatchContext<'_>,
    now: DateTime<Utc>,
) -> Prepared {
    let item = &it.item;
    let doc = Document {
        title: &item.title,
        summary: &item.summary,
        content: &item.content,
    };
    // The feed's country breaks the tie of an ambiguous place name (issue 26).
    let country = crate::rules::sense::feed_country(&feed.url, &feed.tags);
    let matches = ctx
        .matcher
        .match_document_from(&doc, country)
        .into_iter()
        .filter(|m| {
            ctx.watches
                .get(m.watch)
                .is_some_and(|w| w.applies_to(&feed.name, &feed.tags))
        })
        .map(|m| {
            let hits = encode_hits(stored_hits(&m.hits));
            (m.watch, hits, m.hits.len())
        })
        .collect();
    // Only the fingerprint is kept: the shingles it came from would outweigh the item.
    let story = stories::text(&item.title, &item.summary, &item.content).map(|t| t.fingerprint());
    let event = stories::event::terms(&item.title, &item.summary, &item.content).with_address(
        item.link.as_deref(),
        item.published,
        now,
    );
    Prepared {
        it,
        matches,
        story,
        event,
    }
}
