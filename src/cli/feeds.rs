//! CLI, `vigie feeds …`. `feeds list`: one line per configured feed — status (ok / new /
//! failing / disabled: reason), last success, next poll, interval, articles, last error.
//! `feeds import FILE.opml`: the file's feeds not configured yet (same URL once
//! canonical) appended as `[[feed]]` entries with unique names, only if the configuration
//! still loads with them. `feeds export`: OPML 2.0 on stdout.
//! Invariants: the configuration decides which feeds are listed (state of feeds no longer
//! configured is not shown); no network; times are shown relative to the `now` passed
//! in, so the rendering is pure.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use chrono::{DateTime, Utc};

use super::fail;
use crate::config::{self, Config, FeedConfig, Fulltext};
use crate::parse::opml::{OpmlFeed, slug};
use crate::store::feeds::FeedState;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum FeedsCmdError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing the list: {0}")]
    Io(#[from] std::io::Error),
}

/// `vigie feeds list`: read the state database and print the table to `out`.
pub fn list(cfg: &Config, out: &mut impl Write, now: DateTime<Utc>) -> Result<(), FeedsCmdError> {
    let mut store = Store::open_config(&cfg.state_dir, cfg.store.as_ref())?;
    store.sync_feeds(&cfg.feeds)?;
    let states: Vec<FeedState> = store
        .feed_states()?
        .into_iter()
        .filter(|s| cfg.feed(&s.name).is_some())
        .collect();
    write_table(out, &states, now)?;
    let outcomes = store.page_outcomes()?;
    let lines: Vec<(String, String)> = states
        .iter()
        .filter_map(|s| {
            let feed = cfg.feed(&s.name)?;
            let line = fulltext_line(
                cfg.fulltext_of(feed),
                s.teasers.as_ref(),
                outcomes.get(&s.id).map_or(&[][..], Vec::as_slice),
            )?;
            Some((s.name.clone(), line))
        })
        .collect();
    if !lines.is_empty() {
        writeln!(
            out,
            "\nfull text (article pages read for feeds that carry teasers):"
        )?;
        let width = lines
            .iter()
            .map(|(n, _)| n.chars().count())
            .max()
            .unwrap_or(0);
        for (name, line) in lines {
            writeln!(out, "  {name:<width$}  {line}")?;
        }
    }
    Ok(())
}

/// A feed's full-text line: what its `fulltext` setting decided and why, and how its
/// articles' pages went (read, or the causes of the fallbacks to the feed's text, with
/// their counts). `None` for a feed with nothing to say (`never`, no page ever tried).
pub fn fulltext_line(
    mode: Fulltext,
    teasers: Option<&(bool, String)>,
    outcomes: &[(String, u64)],
) -> Option<String> {
    let decided = match (mode, teasers) {
        (Fulltext::Never, _) if outcomes.is_empty() => return None,
        (Fulltext::Never, _) => "never".to_string(),
        (Fulltext::Always, _) => "always".to_string(),
        (Fulltext::Auto, None) => "auto: not judged yet".to_string(),
        (Fulltext::Auto, Some((true, why))) => format!("auto: teasers, pages read ({why})"),
        (Fulltext::Auto, Some((false, why))) => {
            format!("auto: whole articles, no page read ({why})")
        }
    };
    let read = outcomes
        .iter()
        .filter(|(o, _)| o == "ok")
        .map(|(_, n)| n)
        .sum::<u64>();
    let fallbacks: Vec<String> = outcomes
        .iter()
        .filter(|(o, _)| o != "ok")
        .map(|(o, n)| format!("{o}: {n}"))
        .collect();
    let failed: u64 = outcomes
        .iter()
        .filter(|(o, _)| o != "ok")
        .map(|(_, n)| n)
        .sum();
    let mut line = decided;
    if read + failed > 0 {
        line.push_str(&format!("; {read} article(s) on their page"));
        if failed > 0 {
            line.push_str(&format!(
                ", {failed} on the feed's text ({})",
                fallbacks.join(", ")
            ));
        }
    }
    Some(line)
}

/// A feed's status word: `ok`, `new` (never polled), `failing (N in a row)`, or
/// `disabled: reason`.
pub fn status(s: &FeedState) -> String {
    if let Some(why) = &s.disabled {
        format!("disabled: {why}")
    } else if s.error_count > 0 {
        format!("failing ({} in a row)", s.error_count)
    } else if s.last_poll_at.is_none() {
        "new".into()
    } else {
        "ok".into()
    }
}

pub fn write_table(
    out: &mut impl Write,
    states: &[FeedState],
    now: DateTime<Utc>,
) -> std::io::Result<()> {
    let mut rows = vec![[
        "NAME".to_string(),
        "STATUS".into(),
        "LAST SUCCESS".into(),
        "NEXT POLL".into(),
        "INTERVAL".into(),
        "ARTICLES".into(),
        "LAST ERROR".into(),
    ]];
    for s in states {
        let next = if s.disabled.is_some() {
            "-".into()
        } else if s.next_poll_at <= now {
            "due".into()
        } else {
            relative(s.next_poll_at, now)
        };
        let last_error = match (&s.last_error, s.error_count) {
            (Some(e), n) if n > 0 || s.disabled.is_some() => e.clone(),
            (Some(e), _) => format!("(recovered) {e}"),
            (None, _) => "-".into(),
        };
        rows.push([
            s.name.clone(),
            status(s),
            s.last_success_at
                .map_or_else(|| "never".into(), |t| relative(t, now)),
            next,
            s.interval_secs.map_or_else(|| "-".into(), human_secs),
            s.articles.to_string(),
            last_error,
        ]);
    }
    let mut widths = [0usize; 7];
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    for r in &rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i == r.len() - 1 {
                line.push_str(c);
            } else if i == 5 {
                line.push_str(&format!("{c:>w$}  ", w = widths[i]));
            } else {
                line.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// "3m ago", "in 2h", "just now".
fn relative(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (t - now).num_seconds();
    if secs.abs() < 5 {
        "just now".into()
    } else if secs < 0 {
        format!("{} ago", human_secs(-secs))
    } else {
        format!("in {}", human_secs(secs))
    }
}

/// The largest whole unit: "45s", "12m", "3h", "2d".
fn human_secs(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// Append the OPML file's new feeds to the configuration, after checking that the
/// configuration with them still loads; `dry_run` prints the entries instead.
pub fn import(cfg: &Config, file: &Path, dry_run: bool) -> ExitCode {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => return fail(format!("{}: {e}", file.display()), 1),
    };
    let incoming = match crate::parse::opml::parse(&bytes) {
        Ok(f) => f,
        Err(e) => return fail(format!("{}: {e}", file.display()), 2),
    };
    let (added, skipped) = plan_import(&cfg.feeds, &incoming);
    let entries = to_toml(&added);
    if dry_run {
        out!("{entries}");
    } else if !added.is_empty() {
        let old = match std::fs::read_to_string(&cfg.path) {
            Ok(t) => t,
            Err(e) => return fail(format!("{}: {e}", cfg.path.display()), 1),
        };
        let new = format!(
            "{}\n# Imported from {} on {}\n{entries}",
            old.trim_end(),
            file.display(),
            chrono::Utc::now().format("%Y-%m-%d")
        );
        let mut read = |p: &Path| {
            std::fs::read_to_string(p).map_err(|e| {
                crate::config::diag::Diagnostics(vec![
                    crate::config::diag::SourceFile::new(p, String::new()).diag(0, e.to_string()),
                ])
            })
        };
        if let Err(d) = config::load_str(&cfg.path, new.clone(), &mut read) {
            return fail(
                format!(
                    "the configuration would not be valid with these feeds; nothing written:\n{d}"
                ),
                2,
            );
        }
        let tmp = cfg.path.with_extension("toml.tmp");
        if let Err(e) = std::fs::write(&tmp, &new).and_then(|()| std::fs::rename(&tmp, &cfg.path)) {
            return fail(format!("{}: {e}", cfg.path.display()), 1);
        }
    }
    errln!(
        "{} feed{} {}, {} skipped (already configured or not an http(s) URL)",
        added.len(),
        if added.len() == 1 { "" } else { "s" },
        if dry_run { "to add" } else { "added" },
        skipped.len()
    );
    ExitCode::SUCCESS
}

pub fn export(cfg: &Config) -> ExitCode {
    out!(
        "{}",
        crate::parse::opml::export(&cfg.feeds, chrono::Utc::now())
    );
    ExitCode::SUCCESS
}

/// New `[[feed]]` entries for the OPML feeds not already configured (same URL, after
/// canonicalisation), with unique names; returns them and the skipped duplicates.
pub fn plan_import(
    existing: &[FeedConfig],
    incoming: &[OpmlFeed],
) -> (Vec<FeedConfig>, Vec<OpmlFeed>) {
    let canon = |u: &str| crate::identify::canonical_link(u).unwrap_or_else(|| u.to_string());
    let mut urls: std::collections::HashSet<String> =
        existing.iter().map(|f| canon(&f.url)).collect();
    let mut names: std::collections::HashSet<String> =
        existing.iter().map(|f| f.name.clone()).collect();
    let (mut added, mut skipped) = (Vec::new(), Vec::new());
    for f in incoming {
        let valid =
            url::Url::parse(&f.xml_url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        if !valid || !urls.insert(canon(&f.xml_url)) {
            skipped.push(f.clone());
            continue;
        }
        let mut base = slug(&f.title);
        if base.is_empty() {
            base = url::Url::parse(&f.xml_url)
                .ok()
                .and_then(|u| u.host_str().map(slug))
                .unwrap_or_else(|| "feed".into());
        }
        let mut name = base.clone();
        let mut n = 2;
        while names.contains(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        names.insert(name.clone());
        let tags: Vec<String> = f
            .folders
            .iter()
            .map(|d| slug(d))
            .filter(|t| !t.is_empty())
            .collect();
        added.push(FeedConfig {
            name,
            url: f.xml_url.clone(),
            interval: None,
            tags,
            fulltext: None,
        });
    }
    (added, skipped)
}

/// TOML `[[feed]]` tables for these feeds.
pub fn to_toml(feeds: &[FeedConfig]) -> String {
    let mut out = String::new();
    for f in feeds {
        out.push_str(&format!(
            "\n[[feed]]\nname = {}\nurl = {}\n",
            toml_str(&f.name),
            toml_str(&f.url)
        ));
        if !f.tags.is_empty() {
            let tags: Vec<String> = f.tags.iter().map(|t| toml_str(t)).collect();
            out.push_str(&format!("tags = [{}]\n", tags.join(", ")));
        }
    }
    out
}

fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn state(name: &str) -> FeedState {
        let now = Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap();
        FeedState {
            id: 1,
            name: name.into(),
            url: "http://127.0.0.1/f".into(),
            etag: None,
            last_modified: None,
            next_poll_at: now + chrono::Duration::minutes(12),
            last_poll_at: Some(now - chrono::Duration::minutes(3)),
            last_success_at: Some(now - chrono::Duration::minutes(3)),
            last_error: None,
            error_count: 0,
            disabled: None,
            disabled_at: None,
            interval_secs: Some(900),
            polls: 4,
            articles: 312,
            teasers: None,
        }
    }

    #[test]
    fn the_full_text_line_says_what_was_decided_and_how_pages_went() {
        let why = (
            true,
            "median 24 words an item over 50 items (under 150)".to_string(),
        );
        let outcomes = vec![
            ("ok".to_string(), 12),
            ("HTTP 403".to_string(), 2),
            ("timed out".to_string(), 1),
        ];
        let line = fulltext_line(Fulltext::Auto, Some(&why), &outcomes).unwrap();
        assert_eq!(
            line,
            "auto: teasers, pages read (median 24 words an item over 50 items (under 150)); \
             12 article(s) on their page, 3 on the feed's text (HTTP 403: 2, timed out: 1)"
        );
        let whole = (false, "median 600 words".to_string());
        assert!(
            fulltext_line(Fulltext::Auto, Some(&whole), &[])
                .unwrap()
                .starts_with("auto: whole articles")
        );
        assert_eq!(fulltext_line(Fulltext::Never, None, &[]), None);
        assert_eq!(
            fulltext_line(Fulltext::Always, None, &[]).as_deref(),
            Some("always")
        );
    }

    #[test]
    fn the_table_shows_every_state_a_feed_can_be_in() {
        let now = Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap();
        let ok = state("lemonde");
        let mut failing = state("flaky");
        failing.error_count = 3;
        failing.last_error = Some("HTTP 503".into());
        let mut gone = state("old-blog");
        gone.disabled = Some("HTTP 410 Gone from http://127.0.0.1/f on 2025-02-27".into());
        gone.last_error = gone.disabled.clone();
        let mut new = state("fresh");
        new.last_poll_at = None;
        new.last_success_at = None;
        new.next_poll_at = now - chrono::Duration::seconds(1);
        let mut out = Vec::new();
        write_table(&mut out, &[ok, failing, gone, new], now).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("NAME"));
        assert!(
            lines[1].contains("ok") && lines[1].contains("3m ago") && lines[1].contains("in 12m")
        );
        assert!(lines[1].contains("312") && lines[1].contains("15m"));
        assert!(lines[2].contains("failing (3 in a row)") && lines[2].ends_with("HTTP 503"));
        assert!(lines[3].contains("disabled: HTTP 410 Gone"), "{}", lines[3]);
        assert!(lines[4].contains("new") && lines[4].contains("never") && lines[4].contains("due"));
        // Columns line up: every row's STATUS starts where the header's does.
        let col = lines[0].find("STATUS").unwrap();
        assert!(
            lines[1..]
                .iter()
                .all(|l| l[col..].starts_with(|c: char| c != ' '))
        );
    }

    const OPML: &str = include_str!("../../tests/fixtures/opml/sample.opml");

    #[test]
    fn import_skips_duplicates_and_invalid_urls_and_names_uniquely() {
        let existing = vec![FeedConfig {
            name: "bbc-world".into(),
            url: "https://example.org/other".into(),
            interval: None,
            tags: vec![],
            fulltext: None,
        }];
        let (added, skipped) = plan_import(
            &existing,
            &crate::parse::opml::parse(OPML.as_bytes()).unwrap(),
        );
        let names: Vec<&str> = added.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, vec!["le-monde-international", "bbc-world-2"]);
        assert_eq!(added[0].tags, vec!["presse-francaise"]);
        assert_eq!(skipped.len(), 2);
        let toml = to_toml(&added);
        assert!(toml.contains("name = \"le-monde-international\""));
        assert!(toml.contains("tags = [\"presse-francaise\"]"));
    }
}
