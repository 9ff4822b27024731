//! The command line (contract §1): a thin shell that parses arguments, loads the
//! configuration and calls the library. Exit status: 0 success, 1 runtime failure,
//! 2 bad usage or invalid configuration.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::config::{self, AlertMode, Config};
use crate::daemon;
use crate::poll::Outcome;
use crate::rules::{Document, Matcher};

#[derive(Parser, Debug)]
#[command(
    name = "vigie",
    version,
    about = "News-feed monitor and alerting daemon"
)]
pub struct Cli {
    /// Configuration file [default: $VIGIE_CONFIG, else /etc/vigie/vigie.toml, else ./config/vigie.toml]
    #[arg(short, long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the daemon: poll due feeds, store, match, deliver, until SIGTERM/SIGINT.
    Run,
    /// Validate the configuration and rules without touching the network.
    Check,
    /// Poll every feed (or the named ones) once, deliver what is due, and exit.
    Poll {
        /// Only this feed (repeatable).
        #[arg(long = "feed", value_name = "NAME")]
        feeds: Vec<String>,
    },
    /// Work with watch rules offline.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// Match feed files (RSS/Atom/JSON Feed) or text/HTML articles against the watches.
    Test {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(matches!(cli.command, Command::Run));
    let path = cli.config.clone().unwrap_or_else(config::default_path);
    let cfg = match config::load(&path) {
        Ok(c) => c,
        Err(diags) => {
            eprintln!("{diags}");
            eprintln!(
                "vigie: {} error{} in the configuration",
                diags.0.len(),
                if diags.0.len() == 1 { "" } else { "s" }
            );
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Check => check(&cfg),
        Command::Rules {
            command: RulesCommand::Test { json, files },
        } => rules_test(&cfg, json, &files),
        Command::Run => block_on(run(cfg)),
        Command::Poll { feeds } => block_on(poll(cfg, feeds)),
    }
}

fn init_logging(daemon: bool) {
    let default = if daemon { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}

fn block_on(f: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("vigie: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(f) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vigie: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn check(cfg: &Config) -> ExitCode {
    let matcher = match cfg.rules.compile() {
        Ok(m) => m,
        Err(errs) => {
            // Unreachable for a loaded configuration, which compiled its rules once.
            for e in errs {
                eprintln!("{e}");
            }
            return ExitCode::from(2);
        }
    };
    let immediate = cfg
        .rules
        .watches
        .iter()
        .filter(|w| w.alert == AlertMode::Immediate)
        .count();
    let mut recipients: Vec<&str> = cfg
        .rules
        .watches
        .iter()
        .flat_map(|w| w.to.iter())
        .chain(cfg.digests.iter().flat_map(|d| d.to.iter()))
        .chain(cfg.mail.admin.iter())
        .map(String::as_str)
        .collect();
    recipients.sort_unstable();
    recipients.dedup();
    println!("configuration {} is valid", cfg.path.display());
    println!("  feeds:      {}", cfg.feeds.len());
    println!(
        "  watches:    {} ({immediate} immediate, {} digest)",
        cfg.rules.watches.len(),
        cfg.rules.watches.len() - immediate
    );
    println!("  entities:   {}", cfg.rules.entities.len());
    println!("  patterns:   {}", matcher.pattern_count());
    println!("  digests:    {}", cfg.digests.len());
    println!("  recipients: {}", recipients.len());
    println!("  state:      {}", cfg.state_dir.display());
    ExitCode::SUCCESS
}

fn rules_test(cfg: &Config, json: bool, files: &[PathBuf]) -> ExitCode {
    let Ok(matcher) = cfg.rules.compile() else {
        return ExitCode::from(2);
    };
    let mut out = std::io::stdout().lock();
    let mut failed = false;
    for file in files {
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("vigie: {}: {e}", file.display());
                failed = true;
                continue;
            }
        };
        let name = file.file_name().map_or_else(
            || file.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let items = crate::parse::parse_any(&bytes, &name);
        for (i, item) in items.iter().enumerate() {
            let id = item
                .guid
                .clone()
                .or_else(|| item.link.clone())
                .unwrap_or_else(|| format!("{name}#{}", i + 1));
            if print_item_matches(&mut out, cfg, &matcher, item, &id, json).is_err() {
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::from(if failed { 1 } else { 0 })
}

fn print_item_matches(
    out: &mut impl Write,
    cfg: &Config,
    matcher: &Matcher,
    item: &crate::parse::Item,
    id: &str,
    json: bool,
) -> std::io::Result<()> {
    let doc = Document {
        title: &item.title,
        summary: &item.summary,
        content: &item.content,
    };
    let matches = matcher.match_document(&doc);
    if !json && !matches.is_empty() {
        let title = if item.title.is_empty() { "(untitled)" } else { &item.title };
        writeln!(out, "{id}  {title}")?;
    }
    for m in matches {
        let watch = &cfg.rules.watches[m.watch].name;
        if json {
            let line = JsonMatch {
                item: id,
                title: &item.title,
                watch,
                hits: &m.hits,
            };
            writeln!(out, "{}", serde_json::to_string(&line).unwrap_or_default())?;
        } else {
            let hits: Vec<String> = m
                .hits
                .iter()
                .map(|h| format!("«{}» {} {}..{}", h.text, field_name(h.field), h.start, h.end))
                .collect();
            writeln!(out, "  {watch}: {}", hits.join(", "))?;
        }
    }
    Ok(())
}

/// One line of `rules test --json`, fields in the contract's order.
#[derive(serde::Serialize)]
struct JsonMatch<'a> {
    item: &'a str,
    title: &'a str,
    watch: &'a str,
    hits: &'a [crate::rules::Hit],
}

fn field_name(f: crate::rules::Field) -> &'static str {
    match f {
        crate::rules::Field::Title => "title",
        crate::rules::Field::Summary => "summary",
        crate::rules::Field::Content => "content",
    }
}

async fn run(cfg: Config) -> anyhow::Result<()> {
    let rt = daemon::runtime(cfg).await?;
    daemon::run(rt, shutdown_signal(), Duration::from_secs(8)).await?;
    Ok(())
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn poll(cfg: Config, feeds: Vec<String>) -> anyhow::Result<()> {
    for f in &feeds {
        if cfg.feed(f).is_none() {
            anyhow::bail!("no feed named \"{f}\" in {}", cfg.path.display());
        }
    }
    let rt = daemon::runtime(cfg).await?;
    let (reports, delivered) = daemon::poll_once(&rt, &feeds).await?;
    let (mut new, mut matches, mut failed) = (0, 0, 0);
    let width = reports.iter().map(|r| r.name.len()).max().unwrap_or(0);
    for r in &reports {
        let line = match &r.outcome {
            Outcome::Updated(s) => {
                new += s.new;
                matches += s.matches;
                format!(
                    "ok           {} items, {} new, {} matches",
                    s.items, s.new, s.matches
                )
            }
            Outcome::NotModified => "not modified".to_string(),
            Outcome::Failed(cause) => {
                failed += 1;
                format!("failed       {cause}")
            }
            Outcome::Skipped(why) => format!("skipped      {why}"),
        };
        println!("{:width$}  {line}", r.name);
    }
    println!(
        "{} feeds, {failed} failed, {new} new articles, {matches} matches, {} alerts sent, {} to retry",
        reports.len(),
        delivered.sent,
        delivered.retried
    );
    Ok(())
}
