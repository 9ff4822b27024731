//! CLI: the command-line definition (contract §1), from which clap parses the arguments
//! and generates the man page and shell completions. Declarations only.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

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
    /// Which items of these files (feeds or article files, one outlet each) would make one
    /// story, with each other or with the store's recent stories, and why.
    Stories {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
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
    /// The store: `copy --to postgres://…` copies this SQLite store into PostgreSQL.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Alert channels: `test NAME` sends a test message and prints the server's answer.
    Channels {
        #[command(subcommand)]
        command: ChannelsCommand,
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
pub enum StoreCommand {
    /// Copy the SQLite store of `state_dir` into an empty PostgreSQL database.
    Copy {
        /// The target: a `postgres://` URL or libpq parameters (`host=… dbname=…`); default,
        /// `[store] url` and its password.
        #[arg(long, value_name = "URL")]
        to: Option<String>,
        /// Read the database password from this file.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// Read the database password from this environment variable.
        #[arg(long, value_name = "VAR")]
        password_env: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ChannelsCommand {
    /// Send a test message to the channel NAME of `[[channel]]` and print the server's answer.
    Test {
        #[arg(value_name = "NAME")]
        name: String,
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
    /// Print the URL of the Atom feed of the watch or digest NAME (`feed = true`), token
    /// included, to give a feed reader.
    Url {
        name: String,
        /// NAME is a watch (when a digest has that name too).
        #[arg(long, conflicts_with = "digest")]
        watch: bool,
        /// NAME is a digest (when a watch has that name too).
        #[arg(long)]
        digest: bool,
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
    /// For each ~name of the watches, the spellings found in the stored articles, with counts.
    Variants {
        /// How far back, e.g. 7d, 30d.
        #[arg(long, default_value = "30d", value_name = "DURATION")]
        since: String,
        /// Only the ~names of this watch.
        #[arg(long, value_name = "NAME")]
        watch: Option<String>,
    },
}
