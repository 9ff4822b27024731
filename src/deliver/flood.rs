//! Deliver stage, flood control (pure): an immediate watch that fires more than
//! [`LIMIT`] times in one clock hour (UTC) sends its first [`LIMIT`] alerts one by one
//! and folds the rest of that hour into one summary email, sent when the hour ends.
//! Invariants: the decision is taken once, when the delivery is queued (in the article's
//! transaction), from what the outbox already holds — so a crash or a restart never
//! changes which alerts were folded; a summary's Message-ID is derived from (watch,
//! hour, recipient), so a resend is the same message.

use chrono::{DateTime, Duration, DurationRound, Utc};

/// Single alerts per watch, recipient and clock hour; the rest are folded.
pub const LIMIT: usize = 20;

/// The clock hour an alert queued at `t` belongs to, as `[start, end)`.
pub fn window(t: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = t.duration_trunc(Duration::hours(1)).unwrap_or(t);
    (start, start + Duration::hours(1))
}

/// Whether the next alert of a window is folded, given how many single alerts that
/// window already queued for the same watch and recipient.
pub fn folds(singles_already: usize) -> bool {
    singles_already >= LIMIT
}

/// The Message-ID of the summary of `watch`'s flood hour starting at `start`.
pub fn summary_message_id(watch: &str, start: DateTime<Utc>, recipient: &str) -> String {
    crate::identify::message_id(watch, &format!("flood:{}", start.timestamp()), recipient)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_twenty_first_alert_of_an_hour_is_folded() {
        assert!(!folds(0));
        assert!(!folds(LIMIT - 1));
        assert!(folds(LIMIT));
        assert!(folds(LIMIT + 7));
    }

    #[test]
    fn windows_are_clock_hours() {
        let t = DateTime::parse_from_rfc3339("2017-02-27T14:59:59Z")
            .unwrap()
            .to_utc();
        let (s, e) = window(t);
        assert_eq!(s.to_rfc3339(), "2017-02-27T14:00:00+00:00");
        assert_eq!(e.to_rfc3339(), "2017-02-27T15:00:00+00:00");
        assert_eq!(window(e).0, e);
        assert_ne!(
            summary_message_id("w", s, "a@x.org"),
            summary_message_id("w", e, "a@x.org")
        );
    }
}
