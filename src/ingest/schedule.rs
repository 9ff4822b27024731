//! Scheduling stage (pure): when a feed is polled next — after a fresh body, a 304 or a
//! failure. Invariants: an adaptive ("auto") interval stays within [5 min, 24 h]; a
//! failing feed's backoff grows exponentially, is spread by jitter and never exceeds 6 h,
//! except that a server's `Retry-After` is always honoured (up to a week); every wait is
//! at least one second. Time comes in as an argument and the jitter is a hash of
//! (feed, attempt), so every decision is reproducible. No I/O.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::Interval;

/// Bounds of an adaptive interval.
pub const AUTO_MIN_SECS: i64 = 5 * 60;
pub const AUTO_MAX_SECS: i64 = 24 * 3600;
/// An "auto" feed that gives no dates to learn from is polled hourly.
pub const AUTO_DEFAULT_SECS: i64 = 3600;
/// No backoff is longer than this (a server's Retry-After may be).
pub const BACKOFF_CAP_SECS: i64 = 6 * 3600;
/// A Retry-After further away than this is taken as a week: a misconfigured server must
/// not silence a feed for years.
pub const RETRY_AFTER_CAP_SECS: i64 = 7 * 86_400;
/// How many of the newest dated items the adaptive interval looks at.
const AUTO_WINDOW: usize = 20;

/// The interval, in seconds, a feed is polled at while healthy. `learned` is the
/// adaptive interval last computed for an "auto" feed, if any.
pub fn interval_secs(configured: Interval, learned: Option<i64>) -> i64 {
    match configured {
        Interval::Fixed(d) => (d.as_secs() as i64).max(1),
        Interval::Auto => learned
            .unwrap_or(AUTO_DEFAULT_SECS)
            .clamp(AUTO_MIN_SECS, AUTO_MAX_SECS),
    }
}

/// The adaptive interval from the publication dates a feed shows at `now`: half the
/// average gap between its recent items, counting the silence since the newest one, so
/// a feed that publishes every hour is polled every 30 minutes and a feed that has gone
/// quiet slows down by itself. Dates in the future (bad clocks) are ignored. With fewer
/// than two usable dates, `previous` stands (else one hour).
pub fn auto_interval(dates: &[DateTime<Utc>], now: DateTime<Utc>, previous: Option<i64>) -> i64 {
    let mut recent: Vec<i64> = dates
        .iter()
        .map(|d| d.timestamp())
        .filter(|t| *t <= now.timestamp() + 300)
        .collect();
    if recent.len() < 2 {
        return previous
            .unwrap_or(AUTO_DEFAULT_SECS)
            .clamp(AUTO_MIN_SECS, AUTO_MAX_SECS);
    }
    recent.sort_unstable_by(|a, b| b.cmp(a));
    recent.truncate(AUTO_WINDOW);
    let oldest = recent[recent.len() - 1];
    // n items from `oldest` up to now: n - 1 gaps, the silence after the newest
    // stretching the last one.
    let span = (now.timestamp() - oldest).max(1);
    let mean_gap = span / (recent.len() as i64 - 1);
    (mean_gap / 2).clamp(AUTO_MIN_SECS, AUTO_MAX_SECS)
}

/// How long a feed waits after its `failures`-th consecutive failed poll: its interval
/// doubled per failure, capped at 6 h, then shortened by up to 20 % of jitter so feeds
/// that failed together (one host down) do not come back together. Never sooner than a
/// server's `Retry-After`.
pub fn backoff_secs(
    feed_id: i64,
    failures: u32,
    interval: i64,
    retry_after: Option<Duration>,
) -> i64 {
    let base = interval
        .max(1)
        .saturating_mul(1i64 << failures.saturating_sub(1).min(30))
        .min(BACKOFF_CAP_SECS);
    let jitter = (mix(feed_id as u64, u64::from(failures)) % 1000) as i64; // 0..999 ‰
    let wait = base - base * jitter / 5000; // minus 0..20 %
    let floor = retry_after.map_or(0, |d| (d.as_secs() as i64).min(RETRY_AFTER_CAP_SECS));
    wait.max(floor).max(1)
}

/// A feed may be polled at `now` unless it is waiting out a backoff or a Retry-After:
/// `vigie poll` ignores intervals but not those (contract §1).
pub fn in_backoff(error_count: u32, next_poll_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    error_count > 0 && next_poll_at > now
}

/// splitmix64 of two numbers: a well-spread, stable hash for the jitter.
fn mix(a: u64, b: u64) -> u64 {
    let mut z = a
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(b)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + h * 3600, 0).unwrap()
    }

    #[test]
    fn a_fixed_interval_is_the_configured_one() {
        let i = Interval::Fixed(Duration::from_secs(300));
        assert_eq!(interval_secs(i, Some(9999)), 300);
        assert_eq!(interval_secs(Interval::Auto, None), AUTO_DEFAULT_SECS);
        assert_eq!(interval_secs(Interval::Auto, Some(10)), AUTO_MIN_SECS);
    }

    #[test]
    fn auto_follows_the_publishing_rate_within_bounds() {
        let now = t(100);
        // Hourly items, the newest just now: polled every 30 minutes.
        let hourly: Vec<_> = (0..10).map(|i| t(100 - i)).collect();
        assert_eq!(auto_interval(&hourly, now, None), 1800);
        // A burst of items a minute apart: never below 5 minutes.
        let burst: Vec<_> = (0..20)
            .map(|i| now - chrono::Duration::minutes(i))
            .collect();
        assert_eq!(auto_interval(&burst, now, None), AUTO_MIN_SECS);
        // Weekly items: never above a day.
        let weekly: Vec<_> = (0..5).map(|i| t(100 - 168 * i)).collect();
        assert_eq!(auto_interval(&weekly, now, None), AUTO_MAX_SECS);
        // A feed that went quiet slows down: hourly items, the newest two days old.
        let quiet: Vec<_> = (0..10).map(|i| t(52 - i)).collect();
        assert!(auto_interval(&quiet, now, None) > 3 * 3600);
        // Nothing to learn from: the previous value stands.
        assert_eq!(auto_interval(&[t(1)], now, Some(7200)), 7200);
        assert_eq!(auto_interval(&[], now, None), AUTO_DEFAULT_SECS);
        // Future dates (wrong clocks) do not make a feed look busy.
        let future: Vec<_> = (0..10).map(|i| t(200 + i)).collect();
        assert_eq!(auto_interval(&future, now, Some(7200)), 7200);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_caps_at_six_hours() {
        let mut prev = 0;
        for n in 1..=5 {
            let b = backoff_secs(7, n, 600, None);
            let base = 600 << (n - 1);
            assert!(b <= base && b >= base * 8 / 10, "failure {n}: {b}");
            assert!(b > prev);
            prev = b;
        }
        for n in [7, 10, 40, u32::MAX] {
            let b = backoff_secs(7, n, 600, None);
            assert!(
                (BACKOFF_CAP_SECS * 8 / 10..=BACKOFF_CAP_SECS).contains(&b),
                "{b}"
            );
        }
        // Jitter spreads feeds that fail together.
        let spread: std::collections::BTreeSet<_> =
            (0..50).map(|id| backoff_secs(id, 3, 600, None)).collect();
        assert!(spread.len() > 20, "{spread:?}");
    }

    #[test]
    fn retry_after_is_a_floor_capped_at_a_week() {
        assert_eq!(
            backoff_secs(1, 1, 60, Some(Duration::from_secs(7200))),
            7200
        );
        assert_eq!(
            backoff_secs(1, 1, 60, Some(Duration::from_secs(10 * 365 * 86_400))),
            RETRY_AFTER_CAP_SECS
        );
        // A short Retry-After does not shorten the backoff.
        assert!(backoff_secs(1, 3, 600, Some(Duration::from_secs(1))) >= 1920);
    }

    #[test]
    fn only_a_failing_feed_waits() {
        assert!(in_backoff(1, t(2), t(1)));
        assert!(!in_backoff(1, t(1), t(2)));
        assert!(!in_backoff(0, t(2), t(1)));
    }
}
