//! vigie: a news-feed monitor and alerting daemon.
//!
//! The pipeline, in the order data flows:
//! `config → fetch → parse → identify → store → match → deliver`, with the daemon
//! (scheduler, signals) on top and the CLI as a thin shell over this library.
//! Pure stages (parse, folding, rules, identity, rendering) take their inputs, the
//! current time included, as arguments and do no I/O.
#![forbid(unsafe_code)]

/// `println!` for command output that never panics: when stdout is closed (`vigie poll |
/// head -1`) the rest of the output is dropped instead.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `eprintln!` that never panics (see `outln!`): errors still reach a live stderr.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// `print!` that never panics (see `outln!`).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

pub mod backtest;
pub mod charset;
pub mod cli;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod deliver;
pub mod diag;
pub mod feed_health;
pub mod feeds_cmd;
pub mod fetch;
pub mod fold;
pub mod gazetteer;
pub mod html;
pub mod identify;
pub mod ingest;
pub mod maintenance;
pub mod metrics;
pub mod opml;
pub mod parse;
pub mod poll;
pub mod reload;
pub mod rules;
pub mod schedule;
pub mod server;
pub mod store;
pub mod stories;
pub mod systemd;
