//! Store stage, feeds: each configured feed's polling state (URL after permanent
//! redirects, validators for conditional GET, the interval decided, next poll, failures,
//! disabled by 410). Invariants: the configuration decides which feeds exist, the
//! database only remembers their state; a changed URL in the configuration starts that
//! feed afresh (a 410 is forgotten then); one poll's outcome is one UPDATE.

use crate::store::db::{OptionalExtension, Param, many, params};
use chrono::{DateTime, Utc};

use super::{Result, Store, from_ts, to_ts};
use crate::config::FeedConfig;

#[derive(Debug, Clone)]
pub struct FeedState {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub next_poll_at: DateTime<Utc>,
    pub last_poll_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub error_count: u32,
    pub disabled: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// The interval last decided (seconds): configured, or learnt for "auto" feeds.
    pub interval_secs: Option<i64>,
    pub polls: u64,
    pub articles: u64,
    /// Whether its items were teasers at its last poll with a body, and why it was
    /// decided so (`None` before that poll).
    pub teasers: Option<(bool, String)>,
}

impl FeedState {
    /// No successful poll yet: items are stored but old ones do not alert (backfill).
    pub fn is_first_poll(&self) -> bool {
        self.last_success_at.is_none()
    }
}

/// What one poll of a feed came to, for the state it leaves behind.
#[derive(Debug, Clone)]
pub struct PollRecord {
    pub result: PollResult,
    /// When the feed is due again.
    pub next: DateTime<Utc>,
    /// The healthy interval decided at this poll, in seconds.
    pub interval: i64,
    /// A permanent redirect (301/308) moved the feed here: poll this URL from now on.
    pub moved_to: Option<String>,
    /// Whether the items read at this poll were teasers, and why it was decided so.
    pub teasers: Option<(bool, String)>,
}

#[derive(Debug, Clone)]
pub enum PollResult {
    Success {
        etag: Option<String>,
        last_modified: Option<String>,
    },
    NotModified,
    Failure {
        error: String,
    },
    /// 410: the feed is disabled, for the reason given, until its URL changes.
    Gone {
        error: String,
    },
}

impl Store {
    /// Make the feeds table agree with the configuration: new feeds are added (due now),
    /// a feed whose configured URL changed starts again from that URL, a feed no longer
    /// configured is retired (no longer due nor counted; its articles stay) and one that
    /// comes back is not retired any more.
    pub fn sync_feeds(&mut self, feeds: &[FeedConfig]) -> Result<()> {
        // Instances starting together sync one after the other.
        let tx = self.conn.write_transaction()?;
        let configured: std::collections::HashSet<&str> =
            feeds.iter().map(|f| f.name.as_str()).collect();
        // Every stored feed in one read (a command starts with this, for every feed).
        let stored: Vec<(String, String, bool)> = tx.query_map(
            "SELECT name, config_url, CASE WHEN retired_at IS NULL THEN 0 ELSE 1 END FROM feeds",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let urls: std::collections::HashMap<&str, &str> = stored
            .iter()
            .map(|(name, url, _)| (name.as_str(), url.as_str()))
            .collect();
        for (name, _, retired) in &stored {
            match (configured.contains(name.as_str()), *retired) {
                (false, false) => tx.execute(
                    "UPDATE feeds SET retired_at = ?2 WHERE name = ?1",
                    params![name, to_ts(Utc::now())],
                )?,
                (true, true) => tx.execute(
                    "UPDATE feeds SET retired_at = NULL WHERE name = ?1",
                    [&name],
                )?,
                _ => 0,
            };
        }
        let mut new = Vec::new();
        for f in feeds {
            match urls.get(f.name.as_str()) {
                None => new.extend([
                    Param::Text(&f.name),
                    Param::Text(&f.url),
                    Param::Text(&f.url),
                ]),
                Some(u) if *u != f.url => {
                    tx.execute(
                        "UPDATE feeds SET config_url = ?2, url = ?2, etag = NULL, last_modified = NULL,
                         next_poll_at = 0, disabled = NULL, disabled_at = NULL, error_count = 0,
                         interval_secs = NULL WHERE name = ?1",
                        params![f.name, f.url],
                    )?;
                }
                Some(_) => {}
            }
        }
        many::insert(
            &tx,
            "INSERT INTO feeds (name, config_url, url)",
            "",
            3,
            &new,
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn feed_state(&self, name: &str) -> Result<Option<FeedState>> {
        let sql = format!("{FEED_SELECT} WHERE f.name = ?1");
        Ok(self
            .conn
            .query_row(&sql, [name], feed_from_row)
            .optional()?)
    }

    pub fn feed_states(&self) -> Result<Vec<FeedState>> {
        let sql = format!("{FEED_SELECT} ORDER BY f.name");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], feed_from_row)?;
        Ok(rows.collect::<crate::store::db::Result<_>>()?)
    }

    /// Names of the enabled feeds due for a poll at `now`, the most overdue first.
    pub fn due_feeds(&self, now: DateTime<Utc>) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT name FROM feeds WHERE disabled IS NULL AND retired_at IS NULL AND next_poll_at <= ?1
             ORDER BY next_poll_at",
        )?;
        let rows = stmt.query_map([to_ts(now)], |r| r.get(0))?;
        Ok(rows.collect::<crate::store::db::Result<_>>()?)
    }

    /// The earliest next poll among enabled feeds after `now` (feeds already due are
    /// being polled, or about to be).
    pub fn next_due_after(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        let t: Option<i64> = self.conn.query_row(
            "SELECT MIN(next_poll_at) FROM feeds
             WHERE disabled IS NULL AND retired_at IS NULL AND next_poll_at > ?1",
            [to_ts(now)],
            |r| r.get(0),
        )?;
        Ok(t.map(from_ts))
    }

    /// The earliest next poll among enabled feeds.
    pub fn next_due(&self) -> Result<Option<DateTime<Utc>>> {
        let t: Option<i64> = self.conn.query_row(
            "SELECT MIN(next_poll_at) FROM feeds WHERE disabled IS NULL AND retired_at IS NULL",
            [],
            |r| r.get(0),
        )?;
        Ok(t.map(from_ts))
    }

    /// How the articles first seen in each feed got their text: for each feed id, the
    /// number of articles per page outcome (`ok`, or why the page could not be had).
    pub fn page_outcomes(&self) -> Result<std::collections::HashMap<i64, Vec<(String, u64)>>> {
        let mut stmt = self.conn.prepare(
            "SELECT feed_id, page, COUNT(*) FROM articles WHERE page IS NOT NULL
             GROUP BY feed_id, page ORDER BY feed_id, COUNT(*) DESC",
        )?;
        let mut out: std::collections::HashMap<i64, Vec<(String, u64)>> = Default::default();
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        for row in rows {
            let (feed, page, n) = row?;
            out.entry(feed).or_default().push((page, n as u64));
        }
        Ok(out)
    }

    pub fn record_poll(
        &mut self,
        feed_id: i64,
        now: DateTime<Utc>,
        rec: &PollRecord,
    ) -> Result<()> {
        let lease = self.lease_of(feed_id);
        let tx = self.conn.transaction()?;
        write_poll(&tx, feed_id, now, rec, lease.as_ref())?;
        tx.commit()?;
        Ok(())
    }

    /// The lease this instance polled a feed under (taken: a poll is recorded once), on a
    /// shared database.
    fn lease_of(&mut self, feed_id: i64) -> Option<(String, i64)> {
        let me = self.instance.as_mut()?;
        let epoch = me.epochs.remove(&feed_id)?;
        Some((me.name.clone(), epoch))
    }

    /// Record several feeds' polls in one transaction (a commit per feed is most of a
    /// poll where nothing changed); should that fail, each on its own, so that one bad
    /// record costs only its feed.
    pub fn record_polls(&mut self, polls: &[(i64, DateTime<Utc>, PollRecord)]) -> Vec<Result<()>> {
        let leases: Vec<Option<(String, i64)>> =
            polls.iter().map(|(id, _, _)| self.lease_of(*id)).collect();
        let together = (|| {
            let tx = self.conn.transaction()?;
            // Without a lease to check (one instance, or `vigie poll`), every feed's row
            // in a few statements; a feed twice in the group, one poll after the other.
            let mut ids = std::collections::HashSet::new();
            let (mut free, mut one_by_one) = (Vec::new(), Vec::new());
            for (poll, lease) in polls.iter().zip(&leases) {
                if lease.is_none() && ids.insert(poll.0) {
                    free.push(poll);
                } else {
                    one_by_one.push((poll, lease));
                }
            }
            write_polls(&tx, &free)?;
            for ((feed_id, now, rec), lease) in one_by_one {
                write_poll(&tx, *feed_id, *now, rec, lease.as_ref())?;
            }
            tx.commit()
        })();
        match together {
            Ok(()) => polls.iter().map(|_| Ok(())).collect(),
            Err(_) if polls.len() > 1 => {
                // Give the leases back for the polls' records one by one.
                if let Some(me) = self.instance.as_mut() {
                    for ((feed_id, _, _), lease) in polls.iter().zip(leases) {
                        if let Some((_, epoch)) = lease {
                            me.epochs.insert(*feed_id, epoch);
                        }
                    }
                }
                polls
                    .iter()
                    .map(|(feed_id, now, rec)| self.record_poll(*feed_id, *now, rec))
                    .collect()
            }
            Err(e) => vec![Err(e.into())],
        }
    }
}

/// One poll's outcome written to its feed's row; under a `lease` (owner, epoch), only if
/// the lease is still that owner's: otherwise another instance has the feed now, and this
/// late poll changes nothing.
fn write_poll(
    tx: &crate::store::db::Transaction<'_>,
    feed_id: i64,
    now: DateTime<Utc>,
    rec: &PollRecord,
    lease: Option<&(String, i64)>,
) -> crate::store::db::Result<()> {
    if let Some((owner, epoch)) = lease
        && !super::pg::leases::release(tx, owner, feed_id, *epoch)?
    {
        tracing::warn!(
            feed_id,
            "the feed's lease lapsed during its poll; its state is left to the instance that has it now"
        );
        return Ok(());
    }
    let (now, next) = (to_ts(now), to_ts(rec.next));
    match &rec.result {
        PollResult::Success {
            etag,
            last_modified,
        } => tx.execute(
            "UPDATE feeds SET etag = ?2, last_modified = ?3, next_poll_at = ?4, last_poll_at = ?5,
                 last_success_at = ?5, error_count = 0, polls = polls + 1, interval_secs = ?6
                 WHERE id = ?1",
            params![feed_id, etag, last_modified, next, now, rec.interval],
        )?,
        PollResult::NotModified => tx.execute(
            "UPDATE feeds SET next_poll_at = ?2, last_poll_at = ?3, last_success_at = ?3,
                 error_count = 0, polls = polls + 1, interval_secs = ?4 WHERE id = ?1",
            params![feed_id, next, now, rec.interval],
        )?,
        PollResult::Failure { error } => tx.execute(
            "UPDATE feeds SET next_poll_at = ?2, last_poll_at = ?3, last_error = ?4,
                 last_error_at = ?3, error_count = error_count + 1, polls = polls + 1,
                 interval_secs = ?5 WHERE id = ?1",
            params![feed_id, next, now, error, rec.interval],
        )?,
        PollResult::Gone { error } => tx.execute(
            "UPDATE feeds SET next_poll_at = ?2, last_poll_at = ?3, last_error = ?4,
                 last_error_at = ?3, error_count = error_count + 1, polls = polls + 1,
                 disabled = ?4, disabled_at = ?3 WHERE id = ?1",
            params![feed_id, next, now, error],
        )?,
    };
    if let Some((teasers, why)) = &rec.teasers {
        tx.execute(
            "UPDATE feeds SET teasers = ?2, teasers_why = ?3 WHERE id = ?1",
            params![feed_id, teasers, why],
        )?;
    }
    if let Some(url) = &rec.moved_to {
        tx.execute(
            "UPDATE feeds SET url = ?2 WHERE id = ?1",
            params![feed_id, url],
        )?;
    }
    Ok(())
}

/// Polls' outcomes written to their feeds' rows, many in one statement: what
/// [`write_poll`] writes for each, without a lease. Each feed at most once.
fn write_polls(
    tx: &crate::store::db::Transaction<'_>,
    polls: &[&(i64, DateTime<Utc>, PollRecord)],
) -> crate::store::db::Result<()> {
    // Per row: id, outcome (0 success, 1 not modified, 2 failure, 3 gone), next, now,
    // interval, etag, last_modified, error, teasers, teasers_why, moved_to.
    const COLUMNS: [&str; 11] = [
        "CAST(? AS BIGINT)",
        "CAST(? AS BIGINT)",
        "CAST(? AS BIGINT)",
        "CAST(? AS BIGINT)",
        "CAST(? AS BIGINT)",
        "CAST(? AS TEXT)",
        "CAST(? AS TEXT)",
        "CAST(? AS TEXT)",
        "CAST(? AS BIGINT)",
        "CAST(? AS TEXT)",
        "CAST(? AS TEXT)",
    ];
    fn text(t: Option<&str>) -> Param<'_> {
        t.map_or(Param::Null, Param::Text)
    }
    let mut params = Vec::with_capacity(polls.len() * COLUMNS.len());
    for (feed_id, now, rec) in polls {
        let (kind, etag, last_modified, error) = match &rec.result {
            PollResult::Success {
                etag,
                last_modified,
            } => (0, etag.as_deref(), last_modified.as_deref(), None),
            PollResult::NotModified => (1, None, None, None),
            PollResult::Failure { error } => (2, None, None, Some(error.as_str())),
            PollResult::Gone { error } => (3, None, None, Some(error.as_str())),
        };
        params.extend([
            Param::Int(*feed_id),
            Param::Int(kind),
            Param::Int(to_ts(rec.next)),
            Param::Int(to_ts(*now)),
            Param::Int(rec.interval),
            text(etag),
            text(last_modified),
            text(error),
            rec.teasers
                .as_ref()
                .map_or(Param::Null, |(t, _)| Param::Int(i64::from(*t))),
            text(rec.teasers.as_ref().map(|(_, why)| why.as_str())),
            text(rec.moved_to.as_deref()),
        ]);
    }
    many::in_chunks(tx, COLUMNS.len(), &params, |k| {
        format!(
            "UPDATE feeds SET next_poll_at = v.column3, last_poll_at = v.column4, polls = polls + 1,
                 etag = CASE WHEN v.column2 = 0 THEN v.column6 ELSE etag END,
                 last_modified = CASE WHEN v.column2 = 0 THEN v.column7 ELSE last_modified END,
                 last_success_at = CASE WHEN v.column2 <= 1 THEN v.column4 ELSE last_success_at END,
                 error_count = CASE WHEN v.column2 <= 1 THEN 0 ELSE error_count + 1 END,
                 interval_secs = CASE WHEN v.column2 = 3 THEN interval_secs ELSE v.column5 END,
                 last_error = CASE WHEN v.column2 >= 2 THEN v.column8 ELSE last_error END,
                 last_error_at = CASE WHEN v.column2 >= 2 THEN v.column4 ELSE last_error_at END,
                 disabled = CASE WHEN v.column2 = 3 THEN v.column8 ELSE disabled END,
                 disabled_at = CASE WHEN v.column2 = 3 THEN v.column4 ELSE disabled_at END,
                 teasers = COALESCE(v.column9, teasers),
                 teasers_why = CASE WHEN v.column9 IS NULL THEN teasers_why ELSE v.column10 END,
                 url = COALESCE(v.column11, url)
             FROM (VALUES {}) AS v WHERE feeds.id = v.column1",
            many::values(k, &COLUMNS)
        )
    })?;
    Ok(())
}

const FEED_SELECT: &str =
    "SELECT f.id, f.name, f.url, f.etag, f.last_modified, f.next_poll_at, f.last_poll_at,
    f.last_success_at, f.last_error, f.error_count, f.disabled, f.polls,
    f.disabled_at, f.interval_secs,
    (SELECT COUNT(*) FROM article_feeds af WHERE af.feed_id = f.id), f.teasers, f.teasers_why
    FROM feeds f";

fn feed_from_row(r: &crate::store::db::Row) -> crate::store::db::Result<FeedState> {
    Ok(FeedState {
        id: r.get(0)?,
        name: r.get(1)?,
        url: r.get(2)?,
        etag: r.get(3)?,
        last_modified: r.get(4)?,
        next_poll_at: from_ts(r.get(5)?),
        last_poll_at: r.get::<_, Option<i64>>(6)?.map(from_ts),
        last_success_at: r.get::<_, Option<i64>>(7)?.map(from_ts),
        last_error: r.get(8)?,
        error_count: r.get(9)?,
        disabled: r.get(10)?,
        polls: r.get::<_, i64>(11)? as u64,
        articles: r.get::<_, i64>(14)? as u64,
        disabled_at: r.get::<_, Option<i64>>(12)?.map(from_ts),
        interval_secs: r.get(13)?,
        teasers: match (
            r.get::<_, Option<bool>>(15)?,
            r.get::<_, Option<String>>(16)?,
        ) {
            (Some(t), why) => Some((t, why.unwrap_or_default())),
            (None, _) => None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(url: &str) -> FeedConfig {
        FeedConfig {
            name: "f".into(),
            url: url.into(),
            interval: None,
            tags: Vec::new(),
            fulltext: None,
        }
    }

    #[test]
    fn several_polls_recorded_together_each_reach_their_feed() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open_in(dir.path()).unwrap();
        let feeds: Vec<FeedConfig> = (0..3)
            .map(|i| FeedConfig {
                name: format!("f{i}"),
                ..feed(&format!("http://a.example/{i}"))
            })
            .collect();
        s.sync_feeds(&feeds).unwrap();
        let id = |s: &Store, n: &str| s.feed_state(n).unwrap().unwrap().id;
        let now = Utc::now();
        let rec = |result| PollRecord {
            result,
            next: now + chrono::Duration::minutes(15),
            interval: 900,
            moved_to: None,
            teasers: None,
        };
        let polls = vec![
            (id(&s, "f0"), now, rec(PollResult::NotModified)),
            (
                id(&s, "f1"),
                now,
                rec(PollResult::Failure {
                    error: "HTTP 500".into(),
                }),
            ),
            (
                id(&s, "f2"),
                now,
                rec(PollResult::Success {
                    etag: Some("\"v2\"".into()),
                    last_modified: None,
                }),
            ),
        ];
        assert!(s.record_polls(&polls).iter().all(Result::is_ok));
        let st = |n: &str| s.feed_state(n).unwrap().unwrap();
        assert_eq!((st("f0").polls, st("f0").error_count), (1, 0));
        assert_eq!(st("f1").error_count, 1);
        assert_eq!(st("f1").last_error.as_deref(), Some("HTTP 500"));
        assert_eq!(st("f2").etag.as_deref(), Some("\"v2\""));
    }

    #[test]
    fn a_move_a_410_and_a_new_configured_url() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open_in(dir.path()).unwrap();
        s.sync_feeds(&[feed("http://a.example/feed")]).unwrap();
        let id = s.feed_state("f").unwrap().unwrap().id;
        let now = Utc::now();
        let rec = |result, moved_to: Option<&str>| PollRecord {
            result,
            next: now + chrono::Duration::minutes(15),
            interval: 900,
            moved_to: moved_to.map(str::to_string),
            teasers: None,
        };
        s.record_poll(
            id,
            now,
            &rec(PollResult::NotModified, Some("http://b.example/feed")),
        )
        .unwrap();
        let st = s.feed_state("f").unwrap().unwrap();
        assert_eq!(st.url, "http://b.example/feed");
        assert_eq!(st.interval_secs, Some(900));
        // The configuration did not change: the move stands across a resync.
        s.sync_feeds(&[feed("http://a.example/feed")]).unwrap();
        assert_eq!(
            s.feed_state("f").unwrap().unwrap().url,
            "http://b.example/feed"
        );

        let gone = PollResult::Gone {
            error: "HTTP 410 Gone".into(),
        };
        s.record_poll(id, now, &rec(gone, None)).unwrap();
        let st = s.feed_state("f").unwrap().unwrap();
        assert_eq!(st.disabled.as_deref(), Some("HTTP 410 Gone"));
        assert!(st.disabled_at.is_some());
        assert!(
            s.due_feeds(now + chrono::Duration::days(9))
                .unwrap()
                .is_empty()
        );

        // A new URL in the configuration starts the feed afresh.
        s.sync_feeds(&[feed("http://c.example/feed")]).unwrap();
        let st = s.feed_state("f").unwrap().unwrap();
        assert_eq!(
            (st.url.as_str(), st.disabled, st.error_count),
            ("http://c.example/feed", None, 0)
        );
        assert_eq!(s.due_feeds(now).unwrap(), vec!["f".to_string()]);
    }
}
