//! Ingest, one feed's poll: its request under the limits, then parse, classify, match and
//! hand over to the writer, and the outcome for its row (next poll, backoff, validators,
//! a move or a 410). Each part of what the feed holds (request slots, a place among the
//! feeds being worked on) is let go as soon as it is done with.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use super::prepare::{Class, IngestStats, MatchContext, classify, identify_all, prepare};
use super::schedule;
use super::write::Batch;
use super::writer::{Flight, Job, Writer};
use super::{Outcome, Runtime};
use crate::config::{FeedConfig, Interval};
use crate::fetch::{Content, FetchError, Fetched, Validators};
use crate::store::feeds::{FeedState, PollRecord, PollResult};

pub(super) async fn poll_one(
    rt: &Runtime,
    writer: &Writer,
    mut flight: Flight,
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
                    },
                    Outcome::NotModified,
                ),
                Content::Body {
                    bytes,
                    charset,
                    validators,
                    ..
                } => {
                    match process(rt, writer, &mut flight, feed, &state, bytes, charset, now).await
                    {
                        Ok((stats, dates)) => {
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
        },
        Outcome::Failed(cause),
    )
}

/// Parse, classify, match and store one fetched body.
#[allow(clippy::too_many_arguments)]
async fn process(
    rt: &Runtime,
    writer: &Writer,
    flight: &mut Flight,
    feed: &FeedConfig,
    state: &FeedState,
    bytes: Vec<u8>,
    charset: Option<String>,
    now: DateTime<Utc>,
) -> Result<(IngestStats, Vec<DateTime<Utc>>), String> {
    let working = writer
        .working
        .acquire()
        .await
        .map_err(|_| "the database writer stopped".to_string())?;
    // The request is over: its slots go to the next fetch. They are let go only now, so
    // that bodies fetched do not pile up while the CPU is busy with earlier ones.
    flight.request = None;
    let name = feed.name.clone();
    let (items, dates) = tokio::task::spawn_blocking(move || {
        let parsed = crate::parse::parse_feed(&bytes, charset.as_deref())?;
        let dates: Vec<_> = parsed.items.iter().filter_map(|i| i.published).collect();
        Ok::<_, crate::parse::ParseError>((identify_all(&name, parsed.items), dates))
    })
    .await
    .map_err(|e| format!("parser task failed: {e}"))?
    .map_err(|e| e.to_string())?;
    let total = items.len();
    let (feed_id, first_poll) = (state.id, state.is_first_poll());
    // 1. Under the store lock, briefly: which items are new or edited? A feed never
    //    polled has nothing of its own stored: every item is fresh (a copy already stored
    //    from another feed is recognised when written).
    let (items, classes) = if first_poll {
        let n = items.len();
        (items, vec![Class::Fresh; n])
    } else {
        rt.store
            .call(move |s| {
                let classes = classify(s, feed_id, &items)?;
                Ok((items, classes))
            })
            .await
            .map_err(|e| e.to_string())?
    };
    // 2. Off the lock, in parallel with other feeds: match and fingerprint those.
    let (config, matcher, feed) = (rt.config.clone(), rt.matcher.clone(), feed.clone());
    let batch = tokio::task::spawn_blocking(move || {
        let ctx = MatchContext::new(&matcher, &config);
        let (mut prepared, mut carried) = (Vec::new(), Vec::new());
        for (it, class) in items.into_iter().zip(classes) {
            match class {
                Class::Known => {}
                Class::Carried => carried.push(it),
                Class::Fresh => prepared.push(prepare(&feed, it, &ctx)),
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
    // 3. The writer stores it, in one transaction with whatever other feeds are ready.
    let (reply, answer) = oneshot::channel();
    writer
        .jobs
        .send(Job { batch, now, reply })
        .await
        .map_err(|_| "the database writer stopped".to_string())?;
    // Handed over: the next feed may be parsed while this one waits for its group.
    drop(working);
    flight.expecting = None;
    let stats = answer
        .await
        .map_err(|_| "the database writer stopped".to_string())??;
    Ok((stats, dates))
}
