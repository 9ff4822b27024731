//! Operator commands behind the CLI: OPML import/export, search, backtest, and the man
//! page and shell completions generated from the command-line definition. Each one is
//! a thin layer over the library; errors become one sentence on stderr and an exit code.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::config::{self, Config};
use crate::store::Store;

fn fail(msg: impl std::fmt::Display, code: u8) -> ExitCode {
    errln!("vigie: {msg}");
    ExitCode::from(code)
}

pub fn man() -> ExitCode {
    let mut out = std::io::stdout().lock();
    match clap_mangen::Man::new(Cli::command()).render(&mut out) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`vigie man | head`): nothing more to say.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => fail(e, 1),
    }
}

pub fn completions(shell: clap_complete::Shell) -> ExitCode {
    // Generated into memory first: the generator panics on a failed write, and a closed
    // stdout (`vigie completions bash | head`) must not be a panic.
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "vigie", &mut buf);
    let _ = std::io::stdout().lock().write_all(&buf);
    ExitCode::SUCCESS
}

/// Append the OPML file's new feeds to the configuration, after checking that the
/// configuration with them still loads; `dry_run` prints the entries instead.
pub fn feeds_import(cfg: &Config, file: &Path, dry_run: bool) -> ExitCode {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => return fail(format!("{}: {e}", file.display()), 1),
    };
    let incoming = match crate::opml::parse(&bytes) {
        Ok(f) => f,
        Err(e) => return fail(format!("{}: {e}", file.display()), 2),
    };
    let (added, skipped) = crate::opml::plan_import(&cfg.feeds, &incoming);
    let entries = crate::opml::to_toml(&added);
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
                crate::diag::Diagnostics(vec![
                    crate::diag::SourceFile::new(p, String::new()).diag(0, e.to_string()),
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

pub fn feeds_export(cfg: &Config) -> ExitCode {
    out!("{}", crate::opml::export(&cfg.feeds, chrono::Utc::now()));
    ExitCode::SUCCESS
}

fn open_store(cfg: &Config) -> Result<Store, ExitCode> {
    Store::open_in(&cfg.state_dir).map_err(|e| fail(e, 1))
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
    match crate::backtest::backtest(&store.conn, cfg, &matcher, since, watch) {
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
