//! Feed health notices to `[mail] admin`: a feed failing for 24 h, or silent for 7 days
//! when it used to publish daily, is reported once — not once per poll — and its
//! recovery once too. The decision is pure (`assess`, `next_step`); the shell reads the
//! store, sends, and records what was said only after the mail transport accepted it.

use crate::store::db::{Connection, OptionalExtension, params};
use chrono::{DateTime, Duration, Utc};

use crate::store::{Result, from_ts, to_ts};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Ok,
    Failing,
    Silent,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::Failing => "failing",
            State::Silent => "silent",
        }
    }

    fn parse(s: &str) -> State {
        match s {
            "failing" => State::Failing,
            "silent" => State::Silent,
            _ => State::Ok,
        }
    }
}

/// What the store says about one feed.
#[derive(Debug, Clone)]
pub struct Observed {
    pub feed_id: i64,
    pub name: String,
    pub failing: bool,
    pub last_error: Option<String>,
    pub newest_article: Option<DateTime<Utc>>,
    /// Articles first seen in the 30 days before the newest one.
    pub articles_before_newest: u32,
}

/// What was last recorded for the feed: its state, since when, and whether the admins
/// were told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub state: State,
    pub since: DateTime<Utc>,
    pub notified: bool,
}

/// The feed's state now. "Silent" needs a feed that used to publish about daily (20 or
/// more articles in the 30 days before its newest) and nothing new for 7 days.
pub fn assess(o: &Observed, now: DateTime<Utc>) -> State {
    if o.failing {
        return State::Failing;
    }
    match o.newest_article {
        Some(newest) if now - newest >= Duration::days(7) && o.articles_before_newest >= 20 => {
            State::Silent
        }
        _ => State::Ok,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing to send; record this (a new state, not yet notified), if anything.
    Record(Option<Recorded>),
    /// Tell the admins, then record.
    Notify {
        subject: String,
        body: String,
        record: Recorded,
    },
}

/// Decide what to do for one feed.
pub fn next_step(o: &Observed, prev: Option<Recorded>, now: DateTime<Utc>) -> Step {
    let state = assess(o, now);
    let prev = match prev {
        None if state == State::Ok => {
            return Step::Record(Some(Recorded {
                state,
                since: now,
                notified: true,
            }));
        }
        None => Recorded {
            state: State::Ok,
            since: now,
            notified: true,
        },
        Some(p) => p,
    };
    if state != prev.state {
        if state == State::Ok && prev.notified && prev.state != State::Ok {
            return Step::Notify {
                subject: format!("[vigie] feed {} has recovered", o.name),
                body: format!(
                    "The feed \"{}\" is healthy again (it was {} since {}).\n",
                    o.name,
                    prev.state.as_str(),
                    prev.since.format("%Y-%m-%d %H:%M UTC")
                ),
                record: Recorded {
                    state,
                    since: now,
                    notified: true,
                },
            };
        }
        let fresh = Recorded {
            state,
            since: now,
            notified: state == State::Ok,
        };
        // A silent feed has already been silent for 7 days: say so at once.
        return match state {
            State::Silent => notify(o, fresh),
            _ => Step::Record(Some(fresh)),
        };
    }
    if state == State::Failing && !prev.notified && now - prev.since >= Duration::hours(24) {
        return notify(o, prev);
    }
    Step::Record(None)
}

fn notify(o: &Observed, mut record: Recorded) -> Step {
    record.notified = true;
    let (subject, body) = match record.state {
        State::Failing => (
            format!("[vigie] feed {} has been failing for 24 hours", o.name),
            format!(
                "Every poll of the feed \"{}\" has failed since {}.\nLast error: {}\n\nvigie keeps retrying with backoff; `vigie feeds list` shows its state.\n",
                o.name,
                record.since.format("%Y-%m-%d %H:%M UTC"),
                o.last_error.as_deref().unwrap_or("unknown")
            ),
        ),
        _ => (
            format!("[vigie] feed {} has gone silent", o.name),
            format!(
                "The feed \"{}\" used to publish about daily but has had no new article since {}.\n",
                o.name,
                o.newest_article
                    .map_or_else(|| "ever".to_string(), |d| d.format("%Y-%m-%d").to_string())
            ),
        ),
    };
    Step::Notify {
        subject,
        body,
        record,
    }
}

/// Every configured feed's observation, from the store.
pub fn observe(conn: &Connection) -> Result<Vec<(Observed, Option<Recorded>)>> {
    let mut stmt = conn.prepare(
        "SELECT f.id, f.name, f.error_count > 0 AND f.disabled IS NULL, f.last_error,
                (SELECT MAX(seen_at) FROM article_feeds af WHERE af.feed_id = f.id),
                h.state, h.since, h.detail
         FROM feeds f LEFT JOIN feed_health h ON h.feed_id = f.id WHERE f.retired_at IS NULL",
    )?;
    let rows: Vec<_> = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<i64>>(6)?,
                r.get::<_, Option<String>>(7)?,
            ))
        })?
        .collect::<crate::store::db::Result<_>>()?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, name, failing, last_error, newest, state, since, detail) in rows {
        let before: u32 = match newest {
            Some(n) => conn.query_row(
                "SELECT COUNT(*) FROM article_feeds WHERE feed_id = ?1 AND seen_at BETWEEN ?2 AND ?3",
                params![id, n - 30 * 86_400, n],
                |r| r.get(0),
            )?,
            None => 0,
        };
        let recorded = match (state, since) {
            (Some(s), Some(t)) => Some(Recorded {
                state: State::parse(&s),
                since: from_ts(t),
                notified: detail.as_deref() == Some("notified"),
            }),
            _ => None,
        };
        out.push((
            Observed {
                feed_id: id,
                name,
                failing,
                last_error,
                newest_article: newest.map(from_ts),
                articles_before_newest: before,
            },
            recorded,
        ));
    }
    Ok(out)
}

pub fn record(conn: &Connection, feed_id: i64, r: &Recorded) -> Result<()> {
    conn.execute(
        "INSERT INTO feed_health (feed_id, state, since, detail) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (feed_id) DO UPDATE SET state = excluded.state, since = excluded.since, detail = excluded.detail",
        params![feed_id, r.state.as_str(), to_ts(r.since), if r.notified { "notified" } else { "pending" }],
    )?;
    Ok(())
}

/// The recorded state of one feed (for tests and `feeds list`).
pub fn recorded(conn: &Connection, feed_id: i64) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT state FROM feed_health WHERE feed_id = ?1",
            [feed_id],
            |r| r.get(0),
        )
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + h * 3600, 0).unwrap()
    }

    fn obs(failing: bool) -> Observed {
        Observed {
            feed_id: 1,
            name: "f".into(),
            failing,
            last_error: Some("HTTP 500".into()),
            newest_article: Some(t(0)),
            articles_before_newest: 40,
        }
    }

    #[test]
    fn failing_is_told_once_after_a_day_and_recovery_once() {
        // First failure: recorded, not told.
        let Step::Record(Some(r)) = next_step(
            &obs(true),
            Some(Recorded {
                state: State::Ok,
                since: t(0),
                notified: true,
            }),
            t(1),
        ) else {
            panic!()
        };
        assert_eq!((r.state, r.notified), (State::Failing, false));
        // Still failing 23 h later: nothing.
        assert_eq!(next_step(&obs(true), Some(r), t(24)), Step::Record(None));
        // 24 h after the first failure: one notice.
        let Step::Notify {
            subject, record, ..
        } = next_step(&obs(true), Some(r), t(25))
        else {
            panic!()
        };
        assert!(subject.contains("failing for 24 hours"));
        // After the notice, polls keep failing: nothing more.
        assert_eq!(
            next_step(&obs(true), Some(record), t(50)),
            Step::Record(None)
        );
        // Recovery: one notice.
        let Step::Notify {
            subject, record, ..
        } = next_step(&obs(false), Some(record), t(51))
        else {
            panic!()
        };
        assert!(subject.contains("recovered"));
        assert_eq!(
            next_step(&obs(false), Some(record), t(52)),
            Step::Record(None)
        );
    }

    #[test]
    fn a_brief_failure_is_never_told() {
        let ok = Recorded {
            state: State::Ok,
            since: t(0),
            notified: true,
        };
        let Step::Record(Some(r)) = next_step(&obs(true), Some(ok), t(1)) else {
            panic!()
        };
        let Step::Record(Some(back)) = next_step(&obs(false), Some(r), t(3)) else {
            panic!()
        };
        assert_eq!(back.state, State::Ok);
    }

    #[test]
    fn silence_counts_only_for_feeds_that_used_to_publish_daily() {
        let mut o = obs(false);
        assert_eq!(assess(&o, t(24 * 8)), State::Silent);
        o.articles_before_newest = 3;
        assert_eq!(assess(&o, t(24 * 8)), State::Ok);
        let o = obs(false);
        assert_eq!(assess(&o, t(24 * 6)), State::Ok);
        let ok = Recorded {
            state: State::Ok,
            since: t(0),
            notified: true,
        };
        assert!(matches!(
            next_step(&o, Some(ok), t(24 * 8)),
            Step::Notify { .. }
        ));
    }
}
