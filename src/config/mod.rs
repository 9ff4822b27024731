//! Config stage: the validated configuration (`vigie.toml` plus its rule files).
//! Invariant: a `Config` only exists when every file parsed and every cross-reference
//! (digests, feeds, entities, queries) checked out; otherwise every fault is reported.

pub mod diag;
mod load;
pub mod pgurl;
mod rulefile;
mod sections;
pub mod units;
mod walk;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use load::{load, load_str};

use crate::rules::{EntityDef, Matcher, WatchDef};

/// A named list of aliases (`[entity.NAME] names = [...]`); with `spelling = "any"` each name
/// is stored as `~name` (any spelling, like `~` in a query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    pub name: String,
    pub names: Vec<String>,
}

/// Where the configuration is read from when `-c` is not given (contract §1).
pub fn default_path() -> PathBuf {
    if let Some(p) = std::env::var_os("VIGIE_CONFIG") {
        return PathBuf::from(p);
    }
    let etc = Path::new("/etc/vigie/vigie.toml");
    if etc.exists() {
        return etc.to_path_buf();
    }
    PathBuf::from("config/vigie.toml")
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The main configuration file, and the folder relative paths start from.
    pub path: PathBuf,
    pub dir: PathBuf,
    pub state_dir: PathBuf,
    /// On a feed's first poll, items older than this are stored without alerting.
    pub backfill: Duration,
    pub retention: Duration,
    /// Copies of one story are looked for among the articles first seen this long ago
    /// at most (contract §4).
    pub story_window: Duration,
    pub poll: PollConfig,
    pub feeds: Vec<FeedConfig>,
    pub server: Option<ServerConfig>,
    pub mail: MailConfig,
    pub digests: Vec<DigestConfig>,
    /// Alert channels besides email (`[[channel]]`), named by recipients as `channel:NAME`.
    pub channels: Vec<ChannelConfig>,
    /// `[store]`: a PostgreSQL database instead of the SQLite file in `state_dir`.
    pub store: Option<StoreConfig>,
    /// `[feeds]`: the token and the public address of the Atom feeds the daemon serves for
    /// the watches and digests that say `feed = true`.
    pub atom: AtomConfig,
    pub rules: Rules,
    /// Every file the configuration was read from (for reload watching).
    pub files: Vec<PathBuf>,
    /// The watches as loading compiled them (to validate them): compiling once is
    /// enough, and with `place:` rules it is the costly part of loading.
    pub compiled: Option<std::sync::Arc<Matcher>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Fixed(Duration),
    /// Adapt to how often the feed publishes.
    Auto,
}

/// Whether a feed's items are matched on their article pages (contract §2, §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fulltext {
    /// For feeds whose items are teasers, judged from their own recent items.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone)]
pub struct PollConfig {
    pub interval: Interval,
    /// The default of every feed's `fulltext`.
    pub fulltext: Fulltext,
    pub concurrency: usize,
    pub per_host: usize,
    pub timeout: Duration,
    pub max_body: u64,
}

impl Default for PollConfig {
    fn default() -> Self {
        PollConfig {
            interval: Interval::Fixed(Duration::from_secs(15 * 60)),
            fulltext: Fulltext::Auto,
            concurrency: 32,
            per_host: 2,
            timeout: Duration::from_secs(30),
            max_body: 10_000_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeedConfig {
    pub name: String,
    pub url: String,
    pub interval: Option<Interval>,
    pub tags: Vec<String>,
    /// Overrides `[poll] fulltext`.
    pub fulltext: Option<Fulltext>,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: String,
}

/// `[feeds]`: how the Atom feeds of watches and digests are reached. The token is not here,
/// only where to read it (as for the SMTP password): the configuration's `Debug` cannot
/// show it.
#[derive(Debug, Clone, Default)]
pub struct AtomConfig {
    /// `token_file` or `token_env`; required as soon as a watch or digest says `feed = true`.
    pub token: Option<PasswordSource>,
    /// The address readers use (a reverse proxy's, `https://news.example.org/vigie`), in
    /// place of `http://` + `[server] listen`; no trailing slash.
    pub base_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct MailConfig {
    pub from: String,
    pub admin: Vec<String>,
    pub transport: Transport,
    /// Time zone in which immediate alerts show publication times (IANA name).
    pub timezone: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Transport {
    /// Each email written as an `.eml` file in this folder.
    Maildir {
        dir: PathBuf,
    },
    Smtp(SmtpConfig),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    None,
    StartTls,
    Tls,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    /// Where the password is read from at send time; the secret itself is never kept
    /// in the configuration, so it cannot reach a log line through `Debug`.
    pub password: Option<PasswordSource>,
}

/// `[store]`: the shared PostgreSQL database. The password is not here, only where to read it.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `postgres://…` (or `postgresql://…`).
    pub url: String,
    pub password: Option<PasswordSource>,
}

/// Where a recipient entry sends: an email address, or a channel of `[[channel]]`.
pub fn channel_of(recipient: &str) -> Option<&str> {
    recipient.strip_prefix("channel:")
}

/// The service a channel speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    /// JSON signed as Standard Webhooks specifies.
    Webhook,
    /// An ntfy topic.
    Ntfy,
    /// A Slack incoming webhook (also Mattermost and Discord's Slack-compatible endpoint).
    Slack,
    /// Telegram's Bot API `sendMessage`.
    Telegram,
    /// A Matrix room, through the client-server API.
    Matrix,
}

impl ChannelKind {
    pub fn name(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
            ChannelKind::Ntfy => "ntfy",
            ChannelKind::Slack => "slack",
            ChannelKind::Telegram => "telegram",
            ChannelKind::Matrix => "matrix",
        }
    }
}

/// One `[[channel]]`. The credential is not here, only where to read it (as for the SMTP
/// password): the configuration's `Debug` cannot show it.
#[derive(Debug, Clone)]
pub struct ChannelConfig {
    pub name: String,
    pub kind: ChannelKind,
    /// The webhook's, ntfy topic's or Slack hook's URL; Telegram's API base; Matrix's
    /// homeserver.
    pub url: String,
    /// Telegram: the chat to post to.
    pub chat_id: Option<String>,
    /// Matrix: the room id (`!abc:example.org`).
    pub room: Option<String>,
    /// The signing secret (`whsec_…`), ntfy access token, Telegram bot token or Matrix access
    /// token.
    pub secret: Option<PasswordSource>,
}

#[derive(Debug, Clone)]
pub enum PasswordSource {
    File(PathBuf),
    Env(String),
}

impl PasswordSource {
    /// The secret itself, read when it is needed (a file's final newline dropped); the
    /// error names the file or variable, never the value.
    pub fn read(&self) -> Result<String, String> {
        match self {
            PasswordSource::File(p) => std::fs::read_to_string(p)
                .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
                .map_err(|e| format!("cannot read {}: {e}", p.display())),
            PasswordSource::Env(var) => {
                std::env::var(var).map_err(|_| format!("environment variable {var} is not set"))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// Every day at this local time.
    At {
        hour: u32,
        minute: u32,
    },
    Cron(String),
}

#[derive(Debug, Clone)]
pub struct DigestConfig {
    pub name: String,
    pub schedule: Schedule,
    pub timezone: String,
    pub to: Vec<String>,
    /// Also published as an Atom feed (`/feeds/digest/NAME.atom`).
    pub feed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertMode {
    Immediate,
    Digest,
}

/// Which feeds a watch applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedSelector {
    All,
    Name(String),
    Tag(String),
}

impl FeedSelector {
    pub fn parse(s: &str) -> FeedSelector {
        match s {
            "*" => FeedSelector::All,
            _ => match s.strip_prefix("tag:") {
                Some(tag) => FeedSelector::Tag(tag.to_string()),
                None => FeedSelector::Name(s.to_string()),
            },
        }
    }
}

#[derive(Debug, Clone)]
pub struct Watch {
    pub name: String,
    pub query: String,
    /// Empty means every feed.
    pub feeds: Vec<FeedSelector>,
    pub alert: AlertMode,
    pub digest: Option<String>,
    pub to: Vec<String>,
    /// Also published as an Atom feed (`/feeds/watch/NAME.atom`).
    pub feed: bool,
}

impl Watch {
    /// Whether this watch applies to articles of the feed named `feed` with `tags`.
    pub fn applies_to(&self, feed: &str, tags: &[String]) -> bool {
        self.feeds.is_empty()
            || self.feeds.iter().any(|sel| match sel {
                FeedSelector::All => true,
                FeedSelector::Name(n) => n == feed,
                FeedSelector::Tag(t) => tags.iter().any(|x| x == t),
            })
    }
}

#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub entities: Vec<Entity>,
    pub watches: Vec<Watch>,
}

impl Rules {
    /// Compile the watches into one matcher, collecting every fault. Loading does this
    /// once; everything after it uses [`Config::matcher`].
    pub fn compile(&self) -> Result<Matcher, Vec<crate::rules::RuleError>> {
        let defs: Vec<WatchDef> = self
            .watches
            .iter()
            .map(|w| WatchDef {
                name: w.name.clone(),
                query: w.query.clone(),
            })
            .collect();
        let entities: Vec<EntityDef> = self
            .entities
            .iter()
            .map(|e| EntityDef {
                name: e.name.clone(),
                names: e.names.clone(),
            })
            .collect();
        Matcher::build(&entities, &defs)
    }
}

impl Config {
    /// The compiled watches: those loading compiled, else compiled now (a `Config`
    /// built by hand).
    pub fn matcher(&self) -> Result<std::sync::Arc<Matcher>, Vec<crate::rules::RuleError>> {
        match &self.compiled {
            Some(m) => Ok(m.clone()),
            None => self.rules.compile().map(std::sync::Arc::new),
        }
    }

    pub fn feed(&self, name: &str) -> Option<&FeedConfig> {
        self.feeds.iter().find(|f| f.name == name)
    }

    pub fn interval_of(&self, feed: &FeedConfig) -> Interval {
        feed.interval.unwrap_or(self.poll.interval)
    }

    pub fn fulltext_of(&self, feed: &FeedConfig) -> Fulltext {
        feed.fulltext.unwrap_or(self.poll.fulltext)
    }

    /// Whether any watch or digest is published as an Atom feed.
    pub fn publishes_feeds(&self) -> bool {
        self.rules.watches.iter().any(|w| w.feed) || self.digests.iter().any(|d| d.feed)
    }
}
