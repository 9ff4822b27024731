//! Deliver stage, digest calendar (pure): when a digest is due. A schedule is a cron
//! expression (an `at = "HH:MM"` is the cron `M H * * *`) read in the digest's IANA time
//! zone, so "07:00 Europe/Paris" stays 07:00 across daylight-saving changes.
//! Invariants: the current time is always an argument; several scheduled times missed
//! while the daemon was down collapse into the latest one, so a restart sends one digest
//! that covers everything since the previous one, never a burst of them.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;

use crate::config::Schedule;
use crate::config::units::{CalendarError, parse_cron, parse_zone};

/// A digest's schedule in its time zone.
#[derive(Debug, Clone)]
pub struct Calendar {
    cron: Cron,
    pub zone: Tz,
}

impl Calendar {
    pub fn new(schedule: &Schedule, timezone: &str) -> Result<Calendar, CalendarError> {
        let cron = match schedule {
            Schedule::At { hour, minute } => parse_cron(&format!("{minute} {hour} * * *"))?,
            Schedule::Cron(expr) => parse_cron(expr)?,
        };
        Ok(Calendar {
            cron,
            zone: parse_zone(timezone)?,
        })
    }

    /// The digest due at `now`: the latest scheduled time in `(after, now]`, where
    /// `after` is when the previous digest was scheduled. `None` when nothing is due.
    pub fn due(&self, after: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let latest = self
            .cron
            .find_previous_occurrence(&now.with_timezone(&self.zone), true)
            .ok()?
            .with_timezone(&Utc);
        (latest > after).then_some(latest)
    }

    /// The first scheduled time strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&t.with_timezone(&self.zone), false)
            .ok()
            .map(|n| n.with_timezone(&Utc))
    }
}

/// When the previous digest counts as scheduled. A digest that has run counts from its
/// last scheduled time. One that never ran counts from just before its oldest waiting
/// item, so that item goes out at the first scheduled time after it was queued — at
/// start-up if that time has already passed; with nothing waiting, nothing is due.
pub fn previous_run(
    last: Option<DateTime<Utc>>,
    oldest_waiting: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    match (last, oldest_waiting) {
        (Some(last), _) => last,
        (None, Some(oldest)) => oldest - chrono::Duration::seconds(1),
        (None, None) => now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn morning() -> Calendar {
        Calendar::new(&Schedule::At { hour: 7, minute: 0 }, "Europe/Paris").unwrap()
    }

    #[test]
    fn a_daily_digest_is_due_once_its_local_time_has_passed() {
        let c = morning();
        // 07:00 in Paris is 06:00 UTC in winter, 05:00 UTC in summer.
        assert_eq!(
            c.due(t("2017-02-26T06:00:00Z"), t("2017-02-27T05:59:00Z")),
            None
        );
        assert_eq!(
            c.due(t("2017-02-26T06:00:00Z"), t("2017-02-27T06:00:00Z")),
            Some(t("2017-02-27T06:00:00Z"))
        );
        assert_eq!(
            c.due(t("2017-07-01T05:00:00Z"), t("2017-07-02T05:30:00Z")),
            Some(t("2017-07-02T05:00:00Z"))
        );
        // Already sent today: nothing more is due.
        assert_eq!(
            c.due(t("2017-02-27T06:00:00Z"), t("2017-02-27T18:00:00Z")),
            None
        );
        assert_eq!(
            c.next_after(t("2017-02-27T06:00:00Z")),
            Some(t("2017-02-28T06:00:00Z"))
        );
    }

    #[test]
    fn days_missed_while_down_collapse_into_the_latest() {
        let c = morning();
        assert_eq!(
            c.due(t("2017-02-20T06:00:00Z"), t("2017-02-27T09:00:00Z")),
            Some(t("2017-02-27T06:00:00Z"))
        );
    }

    #[test]
    fn cron_schedules_respect_weekdays() {
        let c = Calendar::new(&Schedule::Cron("30 17 * * 1-5".into()), "UTC").unwrap();
        // 2017-02-25 is a Saturday: the latest is Friday's.
        assert_eq!(
            c.due(t("2017-02-20T00:00:00Z"), t("2017-02-26T12:00:00Z")),
            Some(t("2017-02-24T17:30:00Z"))
        );
    }

    #[test]
    fn bad_expressions_and_zones_are_refused() {
        assert!(parse_cron("0 7 * *").is_err());
        assert!(parse_cron("0 0 7 * * *").is_err());
        assert!(parse_cron("61 7 * * *").is_err());
        assert!(parse_cron("0 7 * * mon-fri").is_ok());
        assert!(parse_zone("Europe/Paris").is_ok());
        assert!(parse_zone("Paris").is_err());
    }

    #[test]
    fn a_digest_that_never_ran_counts_from_its_oldest_waiting_item() {
        let now = t("2017-02-27T09:00:00Z");
        assert_eq!(previous_run(None, None, now), now);
        let oldest = t("2017-02-26T22:00:00Z");
        let c = morning();
        let after = previous_run(None, Some(oldest), now);
        assert_eq!(c.due(after, now), Some(t("2017-02-27T06:00:00Z")));
    }
}
