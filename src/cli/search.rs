//! CLI, `vigie search QUERY` and `vigie backtest`: questions asked of the stored articles.
//! Read-only but for the search index, which is brought up to date before a search.

use std::io::Write;
use std::process::ExitCode;

use super::fail;
use crate::config::{self, Config};
use crate::store::Store;

fn open_store(cfg: &Config) -> Result<Store, ExitCode> {
    Store::open_config(&cfg.state_dir, cfg.store.as_ref()).map_err(|e| fail(e, 1))
}

pub fn search(cfg: &Config, query: &str, limit: usize) -> ExitCode {
    let mut store = match open_store(cfg) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let now = chrono::Utc::now();
    let found = crate::store::search::catch_up(&mut store.conn, now)
        .and_then(|_| crate::store::search::search(&store.conn, query, limit));
    match found {
        Ok(found) => {
            let mut out = std::io::stdout().lock();
            for f in &found {
                let _ = writeln!(
                    out,
                    "{}  {:<20}  {}{}",
                    f.date.format("%Y-%m-%d %H:%M"),
                    f.feed,
                    f.title,
                    f.link
                        .as_deref()
                        .map(|l| format!("\n{:38}{l}", ""))
                        .unwrap_or_default()
                );
            }
            errln!(
                "{} article{}",
                found.len(),
                if found.len() == 1 { "" } else { "s" }
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(e, 1),
    }
}

pub fn backtest(cfg: &Config, since: &str, watch: Option<&str>) -> ExitCode {
    let window = match config::units::parse_duration(since) {
        Ok(d) => d,
        Err(e) => return fail(format!("--since: {e}"), 2),
    };
    if let Some(w) = watch
        && !cfg.rules.watches.iter().any(|x| x.name == w)
    {
        return fail(format!("no watch named \"{w}\""), 2);
    }
    let Ok(matcher) = cfg.matcher() else {
        return ExitCode::from(2);
    };
    let store = match open_store(cfg) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let since = chrono::Utc::now()
        - chrono::Duration::from_std(window).unwrap_or_else(|_| chrono::Duration::days(3650));
    match crate::cli::backtest::backtest(&store.conn, cfg, &matcher, since, watch) {
        Ok(results) => {
            let mut out = std::io::stdout().lock();
            for (name, hits) in results {
                let _ = writeln!(
                    out,
                    "{name}: {} article{} would have alerted",
                    hits.len(),
                    if hits.len() == 1 { "" } else { "s" }
                );
                for h in hits {
                    let _ = writeln!(
                        out,
                        "  {}  {}  {}  [{}]",
                        h.date.format("%Y-%m-%d %H:%M"),
                        h.feeds.join(", "),
                        h.title,
                        h.words.join(", ")
                    );
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(e, 1),
    }
}
