//! Stories stage, events: a piece put back in a feed days after it was written. Pure.
//!
//! Invariants: only the item's address and its publication time are read. Many outlets date
//! an article's address on the day it is first written (`…-20241018_…`, `/2020/04/21/`,
//! `/2020/apr/21/`); an item whose address is dated more than [`REPRINT_DAYS`] before its
//! publication is an earlier piece — a portrait, a feature, a column, an archive — brought
//! back to the front page beside today's reports. It is not a report of today's event, so it
//! is a story of its own, like an explainer. An address without a date, or an item without a
//! publication time, is never a reprint: the rule only ever keeps pieces apart. Its cost: a
//! live page or a report updated for days, first seen more than [`REPRINT_DAYS`] after its
//! address's date, is a story of its own too — one more alert, never a hidden one.

use chrono::{DateTime, NaiveDate, Utc};

/// An address dated more than this many days before the item's publication is an earlier
/// piece. The event step looks 48 hours back; one more day covers time zones and an address
/// dated the evening before a morning's report.
pub const REPRINT_DAYS: i64 = 3;

/// Whether the item at `link`, published at `published` and first seen at `seen`, is an
/// earlier piece put back. A publication time after `seen` is a feed's error and counts as
/// `seen`, as for the article's time in its story.
pub fn reprinted(
    link: Option<&str>,
    published: Option<DateTime<Utc>>,
    seen: DateTime<Utc>,
) -> bool {
    let (Some(link), Some(published)) = (link, published) else {
        return false;
    };
    let published = published.min(seen);
    address_date(link)
        .is_some_and(|written| (published.date_naive() - written).num_days() > REPRINT_DAYS)
}

/// The date an address's path spells: the last year, month (number or English
/// abbreviation) and day joined by `-` or `/` (`/2020/04/21/`, `/2020/apr/21/`,
/// `2024-10-18`); failing one, the last run of eight digits alone (`-20241018_`). A date
/// with separators wins because eight digits may be an article's number instead.
fn address_date(link: &str) -> Option<NaiveDate> {
    // The path only: a host or a query says nothing of when the page was written. A
    // relative address (`/2024/10/18/…`) is read against a placeholder host, parsed once.
    static BASE: std::sync::LazyLock<Option<url::Url>> =
        std::sync::LazyLock::new(|| url::Url::parse("http://host.invalid/").ok());
    let url = url::Url::options()
        .base_url(BASE.as_ref())
        .parse(link)
        .ok()?;
    let path = url.path();
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
    let (mut separated, mut bare) = (None, None);
    for (k, &(_, run)) in runs.iter().enumerate() {
        let digits = run.bytes().all(|b| b.is_ascii_digit());
        if digits && run.len() == 8 {
            bare = date(&run[..4], &run[4..6], &run[6..]).or(bare);
        } else if digits
            && run.len() == 4
            && let [(s1, month), (s2, day)] = runs.get(k + 1..k + 3).unwrap_or_default()
            && s1 == s2
            && matches!(s1, '-' | '/')
        {
            separated = date(run, month, day).or(separated);
        }
    }
    separated.or(bare)
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn date(year: &str, month: &str, day: &str) -> Option<NaiveDate> {
    let year: i32 = year.parse().ok().filter(|y| (2000..2100).contains(y))?;
    if !(1..=2).contains(&day.len()) {
        return None;
    }
    let month = match month.parse::<u32>() {
        Ok(m) if (1..=2).contains(&month.len()) => m,
        Ok(_) => return None,
        Err(_) => 1 + MONTHS.iter().position(|m| month.eq_ignore_ascii_case(m))? as u32,
    };
    NaiveDate::from_ymd_opt(year, month, day.parse().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(day: &str) -> DateTime<Utc> {
        format!("{day}T12:00:00Z").parse().unwrap()
    }

    /// Published at noon on `day` (if any), seen long after.
    fn put_back(link: &str, day: Option<&str>) -> bool {
        reprinted(Some(link), day.map(time), time("2030-01-01"))
    }

    #[test]
    fn a_portrait_written_in_october_and_put_back_in_february_is_a_reprint() {
        let link = "https://www.liberation.fr/portraits/violette-dorange-la-bleue-20241018_PLNTW5NJZFEVNNRQIN6HMI7POU/";
        assert!(put_back(link, Some("2025-02-09")));
        assert!(!put_back(link, Some("2024-10-19")));
    }

    #[test]
    fn the_days_report_is_not_a_reprint() {
        let figaro = "https://www.lefigaro.fr/conjoncture/eliminons-le-gaspillage-trump-demande-d-arreter-la-production-du-penny-20250210";
        assert!(!put_back(figaro, Some("2025-02-10")));
        // Published two days after its address's date: a late report, still news.
        assert!(!put_back(figaro, Some("2025-02-12")));
        assert!(put_back(figaro, Some("2025-02-14")));
    }

    #[test]
    fn dated_paths_with_slashes_dashes_and_month_names() {
        let cnn = "https://edition.cnn.com/2020/04/21/world/coronavirus-reopening/index.html";
        assert!(put_back(cnn, Some("2020-04-26")));
        assert!(!put_back(cnn, Some("2020-04-22")));
        let guardian = "https://www.theguardian.com/world/2020/apr/21/virus-live";
        assert!(put_back(guardian, Some("2020-04-30")));
        assert!(!put_back(guardian, Some("2020-04-21")));
        let dashed = "https://example.org/news/2024-10-18/portrait";
        assert!(put_back(dashed, Some("2025-02-09")));
        assert!(put_back("/news/2024-10-18/portrait", Some("2025-02-09")));
        let short = "https://www.aljazeera.com/news/2025/2/1/a-report";
        assert!(put_back(short, Some("2025-02-09")));
        assert!(!put_back(short, Some("2025-02-02")));
    }

    #[test]
    fn a_date_with_separators_outweighs_an_article_number_of_eight_digits() {
        // 20150312 reads as a date, but the path's own date says today.
        let link = "https://example.org/2025/02/10/a-report-20150312.html";
        assert!(!put_back(link, Some("2025-02-10")));
    }

    #[test]
    fn a_publication_time_in_the_future_counts_as_the_time_seen() {
        let link = "https://example.org/2025/02/08/a-report";
        let seen = time("2025-02-09");
        assert!(!reprinted(Some(link), Some(time("2031-01-01")), seen));
        assert!(reprinted(
            Some(link),
            Some(time("2031-01-01")),
            time("2025-02-20")
        ));
    }

    #[test]
    fn no_date_no_time_or_digits_that_are_no_date_are_never_a_reprint() {
        for link in [
            "https://www.bfmtv.com/international/guerre-en-ukraine_VN-202502050432.html",
            "https://example.org/a/12345678",
            "https://20241018.example.org/a",
            "https://example.org/a?d=20241018",
            "https://example.org/2024/10-18/a",
            "https://example.org/2024/100/18/a",
            "https://example.org/2024/10/180/a",
            "ünïcode/2024/ʼ/18",
            "",
        ] {
            assert!(!put_back(link, Some("2025-02-10")), "{link}");
        }
        // Month 13 of 2025: no date, even a year later.
        assert!(!put_back(
            "https://example.org/a/20251340",
            Some("2026-02-10")
        ));
        assert!(!put_back("https://example.org/2024/10/18/a", None));
        let seen = time("2030-01-01");
        assert!(!reprinted(None, Some(time("2025-02-10")), seen));
    }
}
