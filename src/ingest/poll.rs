//! Ingest, one feed's poll: its request under the limits, then parse, classify, match and
//! hand over to the writer, and the outcome for its row (next poll, backoff, validators,
//! a move or a 410). Each part of what the feed holds (request slots, a place among the
//! feeds being worked on) is let go as soon as it is done with.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use super::pages::{self, Pages};
use super::prepare::{Class, IngestStats, MatchContext, classify, identify_all, prepare};
use super::schedule;
use super::write::Batch;
use super::writer::{Flight, Job, MATCH_BUDGET, Writer};
use super::{Outcome, Runtime};
use crate::config::{FeedConfig, Interval};
use crate::fetch::{Content, FetchError, Fetched, Validators};
use crate::store::articles::stored_pages;
use crate::store::feeds::{FeedState, PollRecord, PollResult};

pub(super) async fn poll_one(
    rt: &Runtime,
    writer: &Writer,
    mut flight: Flight,
    pages: &Arc<Pages>,
    feed: &FeedConfig,
    state: Result<FeedState, String>,
    now: DateTime<Utc>,
) -> Outcome {
    let state = match state {
        Ok(s) => s,
        Err(why) => return Outcome::Failed(why),
    };
    if let Some(why) = &state.disabled {
        return Outcome::Skipped(format!("disabled: {why}"));
    }
    if schedule::in_backoff(state.error_count, state.next_poll_at, now) {
        return Outcome::Skipped(format!(
            "waiting until {} after {} failed poll{} (last: {})",
            state.next_poll_at.format("%Y-%m-%d %H:%M:%S UTC"),
            state.error_count,
            if state.error_count == 1 { "" } else { "s" },
            state.last_error.as_deref().unwrap_or("unknown error")
        ));
    }
    let configured = rt.config.interval_of(feed);
    let interval = schedule::interval_secs(configured, state.interval_secs);
    let validators = Validators {
        etag: state.etag.clone(),
        last_modified: state.last_modified.clone(),
    };
    let fetched = rt
        .fetcher
        .fetch(&state.url, &validators, rt.config.poll.max_body)
        .await;
    if !matches!(
        &fetched,
        Ok(Fetched {
            content: Content::Body { .. },
            ..
        })
    ) {
        // No body: the request is over and the writer will get nothing from this feed.
        flight.request = None;
        flight.expecting = None;
    }
    let at = |secs: i64| now + chrono::Duration::seconds(secs);
    let (record, outcome) = match fetched {
        Ok(Fetched { moved_to, content }) => {
            if let Some(to) = &moved_to {
                tracing::info!(feed = %feed.name, from = %state.url, to = %to, "feed moved permanently; its stored URL is updated");
            }
            match content {
                // Nothing changed: no parse, no write but the feed's own row.
                Content::NotModified => (
                    PollRecord {
                        result: PollResult::NotModified,
                        next: at(interval),
                        interval,
                        moved_to,
                        teasers: None,
                    },
                    Outcome::NotModified,
                ),
                Content::Body {
                    bytes,
                    charset,
                    validators,
                    ..
                } => {
                    let body = Body {
                        bytes,
                        charset,
                        pages,
                    };
                    match process(rt, writer, &mut flight, feed, &state, body, now).await {
                        Ok((stats, dates, teasers)) => {
                            let interval = match configured {
                                Interval::Auto => {
                                    schedule::auto_interval(&dates, now, state.interval_secs)
                                }
                                Interval::Fixed(_) => interval,
                            };
                            (
                                PollRecord {
                                    result: PollResult::Success {
                                        etag: validators.etag,
                                        last_modified: validators.last_modified,
                                    },
                                    next: at(interval),
                                    interval,
                                    moved_to,
                                    teasers,
                                },
                                Outcome::Updated(stats),
                            )
                        }
                        Err(cause) => failure(&state, interval, None, cause, now, moved_to),
                    }
                }
            }
        }
        Err(FetchError::Gone { url }) => {
            let why = format!(
                "HTTP 410 Gone from {url} on {}; the feed is no longer polled (change its URL in the configuration to poll it again)",
                now.format("%Y-%m-%d")
            );
            tracing::warn!(feed = %feed.name, "{why}");
            (
                PollRecord {
                    result: PollResult::Gone { error: why },
                    next: at(interval),
                    interval,
                    moved_to: None,
                    teasers: None,
                },
                Outcome::Failed(format!("gone (HTTP 410 from {url}): feed disabled")),
            )
        }
        Err(e) => failure(&state, interval, e.retry_after(), e.to_string(), now, None),
    };
    if let Err(e) = writer.record(state.id, now, record).await {
        return Outcome::Failed(format!("recording the poll: {e}"));
    }
    outcome
}

fn failure(
    state: &FeedState,
    interval: i64,
    retry_after: Option<Duration>,
    cause: String,
    now: DateTime<Utc>,
    moved_to: Option<String>,
) -> (PollRecord, Outcome) {
    let wait = schedule::backoff_secs(state.id, state.error_count + 1, interval, retry_after);
    (
        PollRecord {
            result: PollResult::Failure {
                error: cause.clone(),
            },
            next: now + chrono::Duration::seconds(wait),
            interval,
            moved_to,
            teasers: None,
        },
        Outcome::Failed(cause),
    )
}

/// A fetched feed's body, and the poll's article pages.
struct Body<'p> {
    bytes: Vec<u8>,
    charset: Option<String>,
    pages: &'p Arc<Pages>,
}

/// Parse, classify, (read the fresh items' pages,) match and store one fetched body;
/// returns what was stored, the items' dates and whether they were teasers.
async fn process(
    rt: &Runtime,
    writer: &Writer,
    flight: &mut Flight,
    feed: &FeedConfig,
    state: &FeedState,
    body: Body<'_>,
    now: DateTime<Utc>,
) -> Result<Processed, String> {
    fn stopped<E>(_: E) -> String {
        "the database writer stopped".to_string()
    }
    let mut working = Some(
        writer
            .working
            .clone()
            .acquire_owned()
            .await
            .map_err(stopped)?,
    );
    // The request is over: its slots go to the next fetch. They are let go only now, so
    // that bodies fetched do not pile up while the CPU is busy with earlier ones.
    flight.request = None;
    let (
        name,
        Body {
            bytes,
            charset,
            pages: cache,
        },
    ) = (feed.name.clone(), body);
    let (mut items, dates, teasers) = tokio::task::spawn_blocking(move || {
        let parsed = crate::parse::parse_feed(&bytes, charset.as_deref())?;
        let dates: Vec<_> = parsed.items.iter().filter_map(|i| i.published).collect();
        let teasers = pages::judge(&parsed.items);
        Ok::<_, crate::parse::ParseError>((identify_all(&name, parsed.items), dates, teasers))
    })
    .await
    .map_err(|e| format!("parser task failed: {e}"))?
    .map_err(|e| e.to_string())?;
    let total = items.len();
    let (feed_id, first_poll) = (state.id, state.is_first_poll());
    let read_pages = pages::wants_pages(rt.config.fulltext_of(feed), teasers.as_ref().map(|t| t.0));
    // 1. Under the store lock, briefly: which items are new or edited? A feed never
    //    polled has nothing of its own stored: every item is fresh (a copy already stored
    //    from another feed is recognised when written).
    let classes = if first_poll {
        vec![Class::Fresh; items.len()]
    } else {
        let (kept, classes) = rt
            .store
            .call(move |s| {
                let classes = classify(s, feed_id, &items)?;
                Ok((items, classes))
            })
            .await
            .map_err(|e| e.to_string())?;
        items = kept;
        classes
    };
    // 2. The fresh items' article pages, when the feed carries teasers: the CPU slot is
    //    let go while they are on their way (a slot is never held waiting for requests).
    if read_pages {
        let wanted = pages::wanted(
            &items,
            |i| classes[i] == Class::Fresh,
            now,
            rt.config.backfill,
        );
        if !wanted.is_empty() {
            working = None;
            let links: Vec<String> = wanted
                .iter()
                .filter_map(|&i| items[i].id.canonical_link.clone())
                .collect();
            let known = rt
                .store
                .call(move |s| {
                    let links: Vec<&str> = links.iter().map(String::as_str).collect();
                    stored_pages(&s.conn, &links)
                })
                .await
                .map_err(|e| e.to_string())?;
            pages::read(rt, cache, &feed.name, &mut items, &wanted, &known).await;
        }
    }
    let working = match working {
        Some(w) => w,
        None => writer
            .working
            .clone()
            .acquire_owned()
            .await
            .map_err(stopped)?,
    };
    // 3. Off the lock, in parallel with other feeds: match and fingerprint those.
    let (config, matcher, feed) = (rt.config.clone(), rt.matcher.clone(), feed.clone());
    let batch = tokio::task::spawn_blocking(move || {
        let ctx = MatchContext::new(&matcher, &config);
        let (mut prepared, mut carried) = (Vec::new(), Vec::new());
        for (it, class) in items.into_iter().zip(classes) {
            match class {
                Class::Known => {}
                Class::Carried => carried.push(it),
                Class::Fresh => prepared.push(prepare(&feed, it, &ctx, now)),
            }
        }
        Batch {
            feed,
            feed_id,
            first_poll,
            prepared,
            carried,
            total,
        }
    })
    .await
    .map_err(|e| format!("matching task failed: {e}"))?;
    // 4. The writer stores it, in one transaction with whatever other feeds are ready,
    //    once the matches waiting to be written leave room for its own.
    let matches: usize = batch.prepared.iter().map(|p| p.matches.len()).sum();
    let share = u32::try_from(matches.clamp(1, MATCH_BUDGET)).unwrap_or(1);
    let budget = writer
        .budget
        .clone()
        .acquire_many_owned(share)
        .await
        .map_err(stopped)?;
    let (reply, answer) = oneshot::channel();
    writer
        .jobs
        .send(Job {
            batch,
            now,
            reply,
            budget,
        })
        .await
        .map_err(stopped)?;
    // Handed over: the next feed may be parsed while this one waits for its group.
    drop(working);
    flight.expecting = None;
    let stats = answer.await.map_err(stopped)??;
    Ok((stats, dates, teasers))
}

/// What [`process`] stored, the items' dates, and whether they were teasers (and why).
type Processed = (IngestStats, Vec<DateTime<Utc>>, Option<(bool, String)>);
