//! The command line (contract §1): a thin shell that parses arguments, loads the
//! configuration and calls the library. In: argv and the environment; out: an exit
//! status — 0 success, 1 runtime failure, 2 bad usage or invalid configuration — with
//! each error as one sentence on stderr. The definition is in `args`, each command group
//! in a file of its own; nothing here decides what the library does.

mod args;
pub mod backtest;
mod check;
mod feeds;
mod meta;
mod outbox;
mod published;
mod rules;
mod run;
mod search;
mod store;
mod stories;
mod variants;

use std::process::ExitCode;

use clap::Parser;

pub use args::{
    ChannelsCommand, Cli, Command, DigestCommand, FeedsCommand, OutboxCommand, RulesCommand,
    StoreCommand,
};

use crate::config;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Generated from the command-line definition; no configuration needed.
    match &cli.command {
        Command::Man => return meta::man(),
        Command::Completions { shell } => return meta::completions(*shell),
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
        Command::Check => check::check(&cfg),
        Command::Rules {
            command: RulesCommand::Test { json, files },
        } => rules::rules_test(&cfg, json, &files),
        Command::Rules {
            command: RulesCommand::Variants { since, watch },
        } => variants::variants(&cfg, &since, watch.as_deref()),
        Command::Run => block_on(run::run(cfg)),
        Command::Poll { feeds } => block_on(run::poll(cfg, feeds)),
        Command::Feeds {
            command: FeedsCommand::Import { file, dry_run },
        } => feeds::import(&cfg, &file, dry_run),
        Command::Feeds {
            command: FeedsCommand::Export,
        } => feeds::export(&cfg),
        Command::Feeds {
            command:
                FeedsCommand::Url {
                    name,
                    watch,
                    digest,
                },
        } => published::url(&cfg, &name, watch, digest),
        Command::Stories { files } => stories::stories(&cfg, &files),
        Command::Search { query, limit } => search::search(&cfg, &query.join(" "), limit),
        Command::Backtest { since, watch } => search::backtest(&cfg, &since, watch.as_deref()),
        Command::Man | Command::Completions { .. } => ExitCode::SUCCESS,
        Command::Digest {
            command: DigestCommand::Send { name, dry_run },
        } => outbox::digest_send(&cfg, &name, dry_run),
        Command::Channels {
            command: ChannelsCommand::Test { name },
        } => outbox::channel_test(&cfg, &name),
        Command::Store {
            command:
                StoreCommand::Copy {
                    to,
                    password_file,
                    password_env,
                },
        } => store::copy(&cfg, to, password_file, password_env),
        Command::Outbox { failed, command } => match command {
            Some(OutboxCommand::Retry) => outbox::retry(&cfg),
            None => outbox::list(&cfg, failed),
        },
        Command::Feeds {
            command: FeedsCommand::List,
        } => match feeds::list(&cfg, &mut std::io::stdout().lock(), chrono::Utc::now()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                errln!("vigie: {e}");
                ExitCode::from(1)
            }
        },
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

/// The async runtime every command runs on.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    // Blocking threads run parsing, matching and the store (and the system's DNS lookups):
    // one per core keeps every core busy; more only add memory (each thread that
    // allocates keeps its own malloc arena) and time-slicing. Measured with
    // bench/poll/run.sh: on 2 cores, 2 threads poll faster and in less memory than 3 or 4,
    // and a current-thread runtime in less memory than two workers.
    let blocking = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(2);
    // The async side only waits: on sockets, timers and those blocking threads. One thread
    // does that, and each thread less is a malloc arena less (about 1 MB in a first poll).
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(blocking)
        .build()
        .map_err(|e| fail(format!("cannot start the async runtime: {e}"), 1))
}

fn block_on(f: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    match rt.block_on(f) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("{e:#}"), 1),
    }
}

/// One sentence on stderr and the exit status that goes with it.
fn fail(msg: impl std::fmt::Display, code: u8) -> ExitCode {
    errln!("vigie: {msg}");
    ExitCode::from(code)
}
