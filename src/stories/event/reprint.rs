//! Stories stage, events: a piece put back in a feed days after it was written. Pure.
//!
//! Invariants: only the item's address and its publication time are read. Many outlets date
//! an article's address on the day it is first written (`…-20241018_…`, `/2020/04/21/`,
//! `/2020/apr/21/`); an item whose address is dated more than [`REPRINT_DAYS`] before its
//! publication is an earlier piece — a portrait, a feature, a column, an archive — brought
//! back to the front page beside today's reports. It is not a report of today's event, so it
//! is a story of its own, like an explainer. An address without a date, or an item without a
//! publication time, is never a reprint: the rule only ever keeps pieces apart.

use chrono::{DateTime, NaiveDate, Utc};

/// An address dated more than this many days before the item's publication is an earlier
/// piece. The event step looks 48 hours back; one more day covers time zones and an address
/// dated the evening before a morning's report.
pub const REPRINT_DAYS: i64 = 3;

/// Whether the item at `link`, published at `published`, is an earlier piece put back.
pub fn reprinted(link: Option<&str>, published: Option<DateTime<Utc>>) -> bool {
    let (Some(link), Some(published)) = (link, published) else {
        return false;
    };
    address_date(link)
        .is_some_and(|written| (published.date_naive() - written).num_days() > REPRINT_DAYS)
}

/// The last date an address's path spells: eight digits alone (`20241018`), or a year, a
/// month (number or English abbreviation) and a day joined by `-` or `/`.
fn address_date(link: &str) -> Option<NaiveDate> {
    // The path only: a host or a query says nothing of when the page was written.
    let rest = link.split_once("://").map_or(link, |(_, r)| r);
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    let path = path.split(['?', '#']).next().unwrap_or_default();
    // Runs of letters and digits, each with the character that comes before it.
    let mut runs: Vec<(char, &str)> = Vec::new();
    let mut start = None;
    for (i, c) in path.char_indices().chain([(path.len(), '/')]) {
        match (c.is_ascii_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                let before = path[..s].chars().next_back().unwrap_or('/');
                runs.push((before, &path[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    let mut found = None;
    for (k, &(_, run)) in runs.iter().enumerate() {
        let digits = run.bytes().all(|b| b.is_ascii_digit());
        if digits && run.len() == 8 {
            found = date(&run[..4], &run[4..6], &run[6..]).or(found);
        } else if digits
            && run.len() == 4
            && let [(s1, month), (s2, day)] = runs.get(k + 1..k + 3).unwrap_or_default()
            && s1 == s2
            && matches!(s1, '-' | '/')
        {
            found = date(run, month, day).or(found);
        }
    }
    found
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn date(year: &str, month: &str, day: &str) -> Option<NaiveDate> {
    let year: i32 = year.parse().ok().filter(|y| (2000..2100).contains(y))?;
    let month = match month.parse::<u32>() {
        Ok(m) if month.len() == 2 => m,
        Ok(_) => return None,
        Err(_) => 1 + MONTHS.iter().position(|m| month.eq_ignore_ascii_case(m))? as u32,
    };
    if day.is_empty() || day.len() > 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(year, month, day.parse().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: &str) -> Option<DateTime<Utc>> {
        Some(format!("{day}T12:00:00Z").parse().unwrap())
    }

    #[test]
    fn a_portrait_written_in_october_and_put_back_in_february_is_a_reprint() {
        let link = "https://www.liberation.fr/portraits/violette-dorange-la-bleue-20241018_PLNTW5NJZFEVNNRQIN6HMI7POU/";
        assert!(reprinted(Some(link), at("2025-02-09")));
        assert!(!reprinted(Some(link), at("2024-10-19")));
    }

    #[test]
    fn the_days_report_is_not_a_reprint() {
        let figaro = "https://www.lefigaro.fr/conjoncture/eliminons-le-gaspillage-trump-demande-d-arreter-la-production-du-penny-20250210";
        assert!(!reprinted(Some(figaro), at("2025-02-10")));
        // Published the day after its address's date: a late report, still news.
        assert!(!reprinted(Some(figaro), at("2025-02-12")));
        assert!(reprinted(Some(figaro), at("2025-02-14")));
    }

    #[test]
    fn dated_paths_with_slashes_dashes_and_month_names() {
        let cnn = "https://edition.cnn.com/2020/04/21/world/coronavirus-reopening/index.html";
        assert!(reprinted(Some(cnn), at("2020-04-26")));
        assert!(!reprinted(Some(cnn), at("2020-04-22")));
        let guardian = "https://www.theguardian.com/world/2020/apr/21/virus-live";
        assert!(reprinted(Some(guardian), at("2020-04-30")));
        assert!(!reprinted(Some(guardian), at("2020-04-21")));
        let dashed = "https://example.org/news/2024-10-18/portrait";
        assert!(reprinted(Some(dashed), at("2025-02-09")));
    }

    #[test]
    fn no_date_no_time_or_digits_that_are_no_date_are_never_a_reprint() {
        let bfm = "https://www.bfmtv.com/international/guerre-en-ukraine_VN-202502050432.html";
        assert!(!reprinted(Some(bfm), at("2025-02-10")));
        assert!(!reprinted(
            Some("https://example.org/a/12345678"),
            at("2025-02-10")
        ));
        assert!(!reprinted(
            Some("https://example.org/a/20251340"),
            at("2026-02-10")
        ));
        assert!(!reprinted(
            Some("https://20241018.example.org/a"),
            at("2025-02-10")
        ));
        assert!(!reprinted(
            Some("https://example.org/a?d=20241018"),
            at("2025-02-10")
        ));
        assert!(!reprinted(Some("https://example.org/2024/10/18/a"), None));
        assert!(!reprinted(None, at("2025-02-10")));
        assert!(!reprinted(Some("/2024-1-18/a"), at("2025-02-10")));
        assert!(!reprinted(
            Some("https://example.org/2024/10-18/a"),
            at("2025-02-10")
        ));
        assert!(!reprinted(Some("ünïcode/2024/ʼ/18"), at("2025-02-10")));
    }
}
