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
    /// Full-text search of stored articles, newest first.
    Search {
        /// Words, "phrases", prefix*, OR, NOT/-word; folded like the watches.
        #[arg(required = true, value_name = "QUERY")]
        query: Vec<String>,
        /// At most this many results.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Run the current watches against stored articles and list what would have alerted.
    Backtest {
        /// How far back, e.g. 24h, 7d.
        #[arg(long, default_value = "7d", value_name = "DURATION")]
        since: String,
        /// Only this watch.
        #[arg(long, value_name = "NAME")]
        watch: Option<String>,
    },
    /// Print the manual page (roff) generated from the command-line definition.
    #[command(hide = true)]
    Man,
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The feeds' state.
    Feeds {
        #[command(subcommand)]
        command: FeedsCommand,
    },
    /// Digests: build and send one now.
    Digest {
        #[command(subcommand)]
        command: DigestCommand,
    },
    /// The deliveries waiting to be sent (or given up on, with --failed); `retry` sends now.
    Outbox {
        /// List the deliveries given up on after 24 h of failures.
        #[arg(long)]
        failed: bool,
        #[command(subcommand)]
        command: Option<OutboxCommand>,
    },
}

#[derive(Subcommand, Debug)]
pub enum DigestCommand {
    /// Build the digest NAME now from everything waiting for it, and send it.
    Send {
        #[arg(value_name = "NAME")]
        name: String,
        /// Write the email(s) to standard output instead of sending; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum OutboxCommand {
    /// Retry now: failed deliveries get a fresh 24 h, waiting ones are tried at once.
    Retry,
}

#[derive(Subcommand, Debug)]
pub enum FeedsCommand {
    /// Each feed's status, last success, next poll, interval, articles and last error.
    List,
    /// Add the feeds of an OPML file to the configuration (duplicates skipped).
    Import {
        #[arg(value_name = "FILE.opml")]
        file: PathBuf,
        /// Print the [[feed]] entries instead of appending them to the configuration.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write the configured feeds as OPML 2.0 to standard output.
    Export,
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
    // Generated from the command-line definition; no configuration needed.
    match &cli.command {
        Command::Man => return crate::commands::man(),
        Command::Completions { shell } => return crate::commands::completions(*shell),
        _ => {}
    }
    init_logging(matches!(cli.command, Command::Run));
    let path = cli.config.clone().unwrap_or_else(config::default_path);
    let cfg = match config::load(&path) {
        Ok(c) => c,
        Err(diags) => {
            errln!("{diags}");
            errln!(
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
        Command::Feeds {
            command: FeedsCommand::Import { file, dry_run },
        } => crate::commands::feeds_import(&cfg, &file, dry_run),
        Command::Feeds {
            command: FeedsCommand::Export,
        } => crate::commands::feeds_export(&cfg),
        Command::Search { query, limit } => crate::commands::search(&cfg, &query.join(" "), limit),
        Command::Backtest { since, watch } => {
            crate::commands::backtest(&cfg, &since, watch.as_deref())
        }
        Command::Man | Command::Completions { .. } => ExitCode::SUCCESS,
        Command::Digest {
            command: DigestCommand::Send { name, dry_run },
        } => crate::deliver::commands::digest_send(&cfg, &name, dry_run),
        Command::Outbox { failed, command } => match command {
            Some(OutboxCommand::Retry) => crate::deliver::commands::retry(&cfg),
            None => crate::deliver::commands::list(&cfg, failed),
        },
        Command::Feeds {
            command: FeedsCommand::List,
        } => {
            match crate::feeds_cmd::list(&cfg, &mut std::io::stdout().lock(), chrono::Utc::now()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    errln!("vigie: {e}");
                    ExitCode::from(1)
                }
            }
        }
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
        // A closed stderr (a pipe whose reader went away) must not turn a log line into
        // a panic: tracing would otherwise report the failed write with eprintln!.
        .log_internal_errors(false)
        .init();
}

fn block_on(f: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    // Blocking threads run parsing, matching and SQLite (and the system's DNS lookups):
    // one per core keeps every core busy; more only add memory (each thread that
    // allocates keeps its own malloc arena) and time-slicing. Measured with
    // bench/poll/run.sh: on 2 cores, 2 threads poll faster and in less memory than 3 or 4,
    // and a current-thread runtime in less memory than two workers.
    let blocking = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(2);
    // The async side only waits: on sockets, timers and those blocking threads. One thread
    // does that, and each thread less is a malloc arena less (about 1 MB in a first poll).
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(blocking)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            errln!("vigie: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(f) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            errln!("vigie: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn check(cfg: &Config) -> ExitCode {
    let matcher = match cfg.matcher() {
        Ok(m) => m,
        Err(errs) => {
            // Unreachable for a loaded configuration: loading compiled its rules.
            for e in errs {
                errln!("{e}");
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
    outln!("configuration {} is valid", cfg.path.display());
    outln!("  feeds:      {}", cfg.feeds.len());
    outln!(
        "  watches:    {} ({immediate} immediate, {} digest)",
        cfg.rules.watches.len(),
        cfg.rules.watches.len() - immediate
    );
    outln!("  entities:   {}", cfg.rules.entities.len());
    outln!("  patterns:   {}", matcher.pattern_count());
    check_places(cfg, &matcher);
    outln!("  digests:    {}", cfg.digests.len());
    outln!("  recipients: {}", recipients.len());
    outln!("  state:      {}", cfg.state_dir.display());
    ExitCode::SUCCESS
}

/// `vigie check`'s places: what each `place:` and `within()` resolved to, so that the user sees
/// which Homs they got, and a warning on stderr for a name that another place of comparable size
/// also carries. Whether the gazetteer was loaded at all is shown too (it is only for rules
/// that need it).
fn check_places(cfg: &Config, matcher: &Matcher) {
    let places = matcher.places();
    // `get()` only after `is_loaded()`: asking must not load it.
    let loaded = match crate::gazetteer::is_loaded().then(crate::gazetteer::get) {
        Some(Ok(_)) => "gazetteer loaded".to_owned(),
        Some(Err(e)) => e.to_string(),
        None => "gazetteer not loaded".to_owned(),
    };
    if places.is_empty() {
        outln!("  places:     none ({loaded})");
        return;
    }
    outln!("  places:     {} ({loaded})", places.len());
    for report in places {
        let names: Vec<&str> = (report.watches.iter())
            .filter_map(|&w| cfg.rules.watches.get(w).map(|w| w.name.as_str()))
            .collect();
        let used_by = match names.as_slice() {
            [] => String::new(),
            [one] => format!(" [watch {one}]"),
            [first, rest @ ..] => format!(" [watches {first} and {} more]", rest.len()),
        };
        outln!("    {}{used_by}", report.describe());
        if let Some(warning) = report.warning() {
            errln!(
                "warning: watch \"{}\": {warning}",
                names.first().copied().unwrap_or_default()
            );
        }
    }
}

fn rules_test(cfg: &Config, json: bool, files: &[PathBuf]) -> ExitCode {
    let Ok(matcher) = cfg.matcher() else {
        return ExitCode::from(2);
    };
    let mut out = std::io::stdout().lock();
    let mut failed = false;
    for file in files {
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                errln!("vigie: {}: {e}", file.display());
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
        let title = if item.title.is_empty() {
            "(untitled)"
        } else {
            &item.title
        };
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
                .map(|h| {
                    format!(
                        "«{}» {} {}..{}",
                        h.text,
                        field_name(h.field),
                        h.start,
                        h.end
                    )
                })
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
    let ctl = daemon::Controls::new(Duration::from_secs(8));
    forward_sighup(ctl.reload_tx.clone());
    daemon::run(rt, ctl, shutdown_signal()).await?;
    Ok(())
}

/// SIGHUP asks the daemon to reload its configuration.
fn forward_sighup(tx: tokio::sync::mpsc::Sender<()>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::hangup()) {
            Ok(mut hup) => {
                tokio::spawn(async move {
                    while hup.recv().await.is_some() {
                        tracing::info!("SIGHUP: reloading the configuration");
                        if tx.send(()).await.is_err() {
                            return;
                        }
                    }
                });
            }
            Err(e) => tracing::warn!(error = %e, "cannot listen for SIGHUP"),
        }
    }
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
    use std::io::IsTerminal;
    for f in &feeds {
        if cfg.feed(f).is_none() {
            anyhow::bail!("no feed named \"{f}\" in {}", cfg.path.display());
        }
    }
    let rt = daemon::runtime(cfg).await?;
    let names: Vec<String> = if feeds.is_empty() {
        rt.config.feeds.iter().map(|f| f.name.clone()).collect()
    } else {
        feeds
    };
    let width = names.iter().map(String::len).max().unwrap_or(0);
    // On a terminal, a progress bar on stderr and each feed's line as it completes;
    // otherwise (a pipe, a log) the lines at the end, sorted by name.
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(names.len() as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} feeds  {elapsed}  {msg}")
        {
            bar.set_style(style);
        }
        bar
    });
    let reports = crate::poll::poll_feeds_with(&rt, &names, chrono::Utc::now(), |r| {
        if let Some(bar) = &bar {
            bar.inc(1);
            bar.set_message(r.name.clone());
            bar.suspend(|| outln!("{}", poll_line(r, width)));
        }
    })
    .await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let delivered =
        crate::deliver::deliver_due(&rt.store, &rt.mailer, &rt.config, chrono::Utc::now()).await?;
    let (mut new, mut matches, mut failed) = (0, 0, 0);
    for r in &reports {
        match &r.outcome {
            Outcome::Updated(s) => {
                new += s.new;
                matches += s.matches;
            }
            Outcome::Failed(_) => failed += 1,
            Outcome::NotModified | Outcome::Skipped(_) => {}
        }
        if bar.is_none() {
            outln!("{}", poll_line(r, width));
        }
    }
    outln!(
        "{} feeds, {failed} failed, {new} new articles, {matches} matches, {} alerts sent, {} to retry",
        reports.len(),
        delivered.sent,
        delivered.retried
    );
    Ok(())
}

/// One feed's summary line: its name, the outcome, new articles and matches.
fn poll_line(r: &crate::poll::FeedReport, width: usize) -> String {
    let line = match &r.outcome {
        Outcome::Updated(s) => format!(
            "ok           {} items, {} new, {} matches",
            s.items, s.new, s.matches
        ),
        Outcome::NotModified => "not modified".to_string(),
        Outcome::Failed(cause) => format!("failed       {cause}"),
        Outcome::Skipped(why) => format!("skipped      {why}"),
    };
    format!("{:width$}  {line}", r.name)
}
