//! Config stage: the units a user writes as strings — durations ("90s", "15m", "6h",
//! "7d"), sizes ("10MB"), cron expressions and IANA time zones. Pure parsing, shared by
//! the configuration (which validates) and the stages that use the values (delivery's
//! digest calendar); every failure says what was expected.

use std::time::Duration;

use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

const MINUTE: u64 = 60;
const HOUR: u64 = 3600;
const DAY: u64 = 86_400;

/// The ranges of the configuration's durations and sizes, checked when it is loaded.
pub mod ranges {
    use std::ops::RangeInclusive;
    use std::time::Duration;

    use super::{DAY, HOUR, MINUTE};

    const fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }
    /// How far back a first poll stores without alerting: up to ten years.
    pub const BACKFILL: RangeInclusive<Duration> = secs(0)..=secs(3650 * DAY);
    /// How long articles are kept: an hour to a century.
    pub const RETENTION: RangeInclusive<Duration> = secs(HOUR)..=secs(36_500 * DAY);
    /// How far back copies of a story are looked for: a minute to a year.
    pub const STORY_WINDOW: RangeInclusive<Duration> = secs(MINUTE)..=secs(365 * DAY);
    /// A feed's interval: a second to thirty days.
    pub const INTERVAL: RangeInclusive<Duration> = secs(1)..=secs(30 * DAY);
    /// One fetch's timeout: a second to an hour.
    pub const TIMEOUT: RangeInclusive<Duration> = secs(1)..=secs(HOUR);
    /// A body's cap: a kilobyte to a gigabyte.
    pub const MAX_BODY: RangeInclusive<u64> = 1_000..=1_000_000_000;
}

/// A duration the way the configuration writes it, in its largest whole unit ("3650d",
/// "1h", "90s").
pub fn show_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0s".into(),
        s if s % DAY == 0 => format!("{}d", s / DAY),
        s if s % HOUR == 0 => format!("{}h", s / HOUR),
        s if s % MINUTE == 0 => format!("{}m", s / MINUTE),
        s => format!("{s}s"),
    }
}

/// Parse a duration such as `"90s"`, `"15m"`, `"6h"`, `"7d"` (also `"500ms"`, `"2w"`,
/// and compound forms like `"1h30m"`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("expected a duration such as \"90s\", \"15m\", \"6h\" or \"7d\"".into());
    }
    let mut total: u64 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!(
                "invalid duration \"{s}\": expected a number followed by ms, s, m, h, d or w"
            ));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("invalid duration \"{s}\": number too large"))?;
        rest = rest[digits..].trim_start();
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = rest[unit_len..].trim_start();
        let millis: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "" => {
                return Err(format!(
                    "invalid duration \"{s}\": missing unit (ms, s, m, h, d or w)"
                ));
            }
            other => {
                return Err(format!(
                    "invalid duration \"{s}\": unknown unit \"{other}\" (expected ms, s, m, h, d or w)"
                ));
            }
        };
        total = n
            .checked_mul(millis)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("invalid duration \"{s}\": too large"))?;
    }
    Ok(Duration::from_millis(total))
}

/// Parse a size such as `"10MB"`, `"512KB"`, `"1GB"` or a plain number of bytes.
/// KB/MB/GB are powers of 1000; KiB/MiB/GiB powers of 1024.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(format!(
            "invalid size \"{s}\": expected a number followed by B, KB, MB or GB"
        ));
    }
    let n: u64 = t[..digits]
        .parse()
        .map_err(|_| format!("invalid size \"{s}\": number too large"))?;
    let factor: u64 = match t[digits..].trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "KB" | "K" => 1_000,
        "MB" | "M" => 1_000_000,
        "GB" | "G" => 1_000_000_000,
        "KIB" => 1 << 10,
        "MIB" => 1 << 20,
        "GIB" => 1 << 30,
        other => {
            return Err(format!(
                "invalid size \"{s}\": unknown unit \"{other}\" (expected B, KB, MB or GB)"
            ));
        }
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("invalid size \"{s}\": too large"))
}

#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("invalid cron expression \"{0}\": {1}")]
    Cron(String, String),
    #[error("unknown time zone \"{0}\" (expected an IANA name such as \"Europe/Paris\")")]
    Zone(String),
}

/// Parse a five-field cron expression (minute hour day month weekday; `@daily` and the
/// like are accepted too). Seconds and years are refused: digests are per minute.
pub fn parse_cron(expr: &str) -> Result<Cron, CalendarError> {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(expr)
        .map_err(|e| CalendarError::Cron(expr.to_string(), e.to_string()))
}

/// Parse an IANA time zone name.
pub fn parse_zone(name: &str) -> Result<Tz, CalendarError> {
    name.parse::<Tz>()
        .map_err(|_| CalendarError::Zone(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_the_contract_writes_them() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("6h"), Ok(Duration::from_secs(21_600)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
    }

    #[test]
    fn bad_durations_say_why() {
        assert!(parse_duration("15").unwrap_err().contains("missing unit"));
        assert!(
            parse_duration("15 minutes")
                .unwrap_err()
                .contains("unknown unit \"minutes\"")
        );
        assert_eq!(parse_duration("15 m"), Ok(Duration::from_secs(900)));
        assert!(
            parse_duration("fast")
                .unwrap_err()
                .contains("expected a number")
        );
        assert!(parse_duration("").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("1MiB"), Ok(1_048_576));
        assert_eq!(parse_size("512"), Ok(512));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("10XB").is_err());
    }
}
