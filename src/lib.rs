//! vigie: a news-feed monitor and alerting daemon.
//!
//! The pipeline, in the order data flows:
//! `config → fetch → parse → identify → stories → store → match → deliver`, one module
//! per stage, `ingest` running one poll through them, the daemon (scheduler, signals,
//! reload) on top and the CLI as a thin shell over this library. A module only imports
//! modules declared above it (`tools/layout/check.py` checks that there is no cycle).
//! Pure stages (parse, folding, rules, identity and stories, scheduling decisions,
//! rendering) take their inputs, the current time included, as arguments and do no I/O.
//! The map of the tree, with what flows in and out of each folder: `docs/architecture.md`.
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

// The watch language, first because the configuration is written in it: text folding,
// the gazetteer, queries compiled into one matcher. Pure; the match stage applies it.
pub mod rules;
// Config: vigie.toml and its rule files → a validated `Config` (every fault collected).
pub mod config;
// Fetch: a feed's (or a page's) URL → its bytes, politely (contract §6).
pub mod fetch;
// Parse: bytes → items (charset, feed formats, HTML to text; OPML feed lists).
pub mod parse;
// Identify: an item → its identity (guid, canonical link, hash) and Message-IDs.
pub mod identify;
// Stories: an article's text → its fingerprint and the story it belongs to.
pub mod stories;
// Store: articles, stories, matches, the outbox and digests, in a SQLite file or a
// PostgreSQL database several instances share (one interface: SQL written once).
pub mod store;
// Deliver: the outbox → emails (alerts, flood summaries, digests), with its policies.
pub mod deliver;
// Ingest: one poll of some feeds through every stage above, and its scheduling decisions.
pub mod ingest;
// Daemon: the loop that polls due feeds and delivers, with reload, housekeeping, health.
pub mod daemon;
// The command line: argument definitions and one file per command group.
pub mod cli;
