//! Shared test support: real servers on loopback, feed builders, and a runner for the
//! `vigie` binary itself.

#![allow(dead_code)]

pub mod http;
pub mod pg;
pub mod receiver;
pub mod smtp;

use std::path::{Path, PathBuf};
use std::process::Output;

/// The contract's example watch: the Islamic State near Palmyra, alerting at once.
pub const PALMYRA_FRONT: &str = r#"
[entity.daech]
names = ["Etat islamique", "Islamic State", "Daech", "Daesh", "ISIS", "EI"]

[[watch]]
name = "palmyra-front"
query = 'Palmyre AND (@daech OR offensive)'
alert = "immediate"
to = ["duty@example.org"]
"#;

/// The shared corpora folder, from `VIGIE_CORPORA`: the tests that read real feeds and
/// articles are ignored by a plain `cargo test` and run by `.ci/run` with it set. Unset or
/// not a folder fails the test (it does not skip).
pub fn corpora() -> PathBuf {
    let Some(dir) = std::env::var_os("VIGIE_CORPORA") else {
        panic!(
            "VIGIE_CORPORA is not set: run `VIGIE_CORPORA=../shared/corpora cargo test --test it corpora -- --ignored`"
        );
    };
    let dir = PathBuf::from(dir);
    assert!(
        dir.is_dir(),
        "VIGIE_CORPORA names {}, which is not a folder (from {})",
        dir.display(),
        std::env::current_dir().unwrap().display()
    );
    dir
}

/// `vigie rules test --json FILE` must succeed; its output, one JSON object per line.
pub async fn rules_test_json(cfg: &Path, file: &Path) -> Vec<serde_json::Value> {
    let out = vigie(cfg, &["rules", "test", "--json", &file.to_string_lossy()]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

/// The reference article (French press on Syria, February 2017).
pub fn seed_article() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed-article.txt");
    std::fs::read_to_string(path).expect("seed article fixture")
}

pub struct FeedItem {
    pub guid: Option<String>,
    pub title: String,
    pub link: String,
    pub description: String,
    pub date: Option<chrono::DateTime<chrono::Utc>>,
}

impl FeedItem {
    pub fn new(guid: &str, title: &str, link: &str, description: &str) -> FeedItem {
        FeedItem {
            guid: Some(guid.into()),
            title: title.into(),
            link: link.into(),
            description: description.into(),
            date: Some(chrono::Utc::now()),
        }
    }
}

pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An RSS 2.0 document with these items.
pub fn rss(title: &str, items: &[FeedItem], encoding: &str) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"{encoding}\"?>\n<rss version=\"2.0\"><channel><title>{}</title><link>http://example.org/</link><description>test</description>\n",
        xml_escape(title)
    );
    for it in items {
        s.push_str("<item>");
        s.push_str(&format!("<title>{}</title>", xml_escape(&it.title)));
        s.push_str(&format!("<link>{}</link>", xml_escape(&it.link)));
        if let Some(g) = &it.guid {
            s.push_str(&format!(
                "<guid isPermaLink=\"false\">{}</guid>",
                xml_escape(g)
            ));
        }
        if let Some(d) = it.date {
            s.push_str(&format!("<pubDate>{}</pubDate>", d.to_rfc2822()));
        }
        s.push_str(&format!(
            "<description>{}</description>",
            xml_escape(&it.description)
        ));
        s.push_str("</item>\n");
    }
    s.push_str("</channel></rss>\n");
    s
}

/// Encode text as ISO-8859-1 (every char of the seed article is in Latin-1).
pub fn latin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("char outside Latin-1"))
        .collect()
}

/// Write `vigie.toml` and `rules.toml` into `dir`; returns the configuration's path.
///
/// In a PostgreSQL run of the suite, a configuration without `[store]` gets one naming a
/// fresh database of its own: every test runs on both backends.
pub fn write_config(dir: &Path, main: &str, rules: &str) -> PathBuf {
    let cfg = dir.join("vigie.toml");
    let store = if main.contains("[store]") {
        String::new()
    } else {
        pg::store_toml(dir)
    };
    std::fs::write(&cfg, format!("{main}{store}")).unwrap();
    std::fs::write(dir.join("rules.toml"), rules).unwrap();
    cfg
}

/// [`write_config`] for a test about the SQLite file itself: never a PostgreSQL store.
pub fn write_sqlite_config(dir: &Path, main: &str, rules: &str) -> PathBuf {
    let cfg = dir.join("vigie.toml");
    std::fs::write(&cfg, main).unwrap();
    std::fs::write(dir.join("rules.toml"), rules).unwrap();
    cfg
}

/// `[[feed]]` entries for (name, url) pairs, reading no article page: the items these
/// tests publish link to hosts that are not on loopback, and a test never sends a request
/// anywhere else.
pub fn feeds_toml(feeds: &[(&str, String)]) -> String {
    feeds
        .iter()
        .map(|(n, u)| format!("[[feed]]\nname = \"{n}\"\nurl = \"{u}\"\nfulltext = \"never\"\n"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `[[feed]]` entries that leave `fulltext` to `[poll]` (default "auto"), for feeds whose
/// items link to pages served on loopback.
pub fn page_feeds_toml(feeds: &[(&str, String)]) -> String {
    feeds
        .iter()
        .map(|(n, u)| format!("[[feed]]\nname = \"{n}\"\nurl = \"{u}\"\n"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A digest for the matches of watches that alert by digest (the default): a
/// configuration with feeds must have one. Not due while a test runs (07:00, queued
/// items wait for the next one).
pub const DIGEST_TOML: &str =
    "\n[[digest]]\nname = \"daily\"\nat = \"07:00\"\nto = [\"desk@example.org\"]\n";

/// A `[mail]` section delivering to an SMTP server on loopback.
pub fn smtp_toml(port: u16) -> String {
    format!(
        "[mail]\nfrom = \"vigie <vigie@example.org>\"\ntransport = \"smtp\"\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\n"
    )
}

/// Run the `vigie` binary with `args` and the configuration `cfg`.
pub async fn vigie(cfg: &Path, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
        .arg("-c")
        .arg(cfg)
        .args(args)
        .env_remove("VIGIE_CONFIG")
        .env("RUST_LOG", "info")
        .output()
        .await
        .expect("run vigie")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A `vigie` process running in the background, its stderr collected as it comes.
pub struct Running {
    pub child: tokio::process::Child,
    pub log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Running {
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Send a signal by name (TERM, HUP, KILL) with kill(1).
    pub async fn signal(&self, sig: &str) {
        let pid = self.child.id().expect("running");
        let ok = tokio::process::Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(pid.to_string())
            .status()
            .await
            .expect("kill");
        assert!(ok.success());
    }
}

pub fn spawn_vigie(cfg: &Path, args: &[&str]) -> Running {
    spawn_vigie_logging(cfg, args, "info")
}

/// As [`spawn_vigie`], with this `RUST_LOG` filter.
pub fn spawn_vigie_logging(cfg: &Path, args: &[&str], filter: &str) -> Running {
    spawn_vigie_env(cfg, args, filter, &[])
}

/// As [`spawn_vigie_logging`], with these environment variables set too.
pub fn spawn_vigie_env(cfg: &Path, args: &[&str], filter: &str, env: &[(&str, &str)]) -> Running {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
        .arg("-c")
        .arg(cfg)
        .args(args)
        .env_remove("VIGIE_CONFIG")
        .env("RUST_LOG", filter)
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn vigie");
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let stderr = child.stderr.take().expect("piped stderr");
    let l = log.clone();
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut g = l.lock().unwrap();
            g.push_str(&line);
            g.push('\n');
        }
    });
    Running { child, log }
}

/// Wait until `cond` holds, checking every 100 ms, for at most `secs` seconds.
pub async fn eventually(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    cond()
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Run `vigie poll` and return its output and its peak resident memory in kB: the
/// `VmHWM` of the `vigie` process itself, sampled from /proc/PID/status while it runs
/// (measuring the test process instead would count the test servers and the other tests
/// running in parallel).
pub async fn poll_measured(cfg: &Path) -> (std::process::Output, u64) {
    vigie_measured(cfg, &["poll"]).await
}

/// Run `vigie ARGS` and return its output and its peak resident memory in kB (see
/// [`poll_measured`]).
pub async fn vigie_measured(cfg: &Path, args: &[&str]) -> (std::process::Output, u64) {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
        .arg("-c")
        .arg(cfg)
        .args(args)
        .env_remove("VIGIE_CONFIG")
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run vigie");
    let status = format!("/proc/{}/status", child.id().expect("pid"));
    let done = tokio::spawn(child.wait_with_output());
    let mut peak = 0;
    // VmHWM is the process's own high-water mark: the last reading before it exits is
    // its peak (minus at most one sampling period of growth, while it shuts down).
    while !done.is_finished() {
        if let Some(kb) = std::fs::read_to_string(&status).ok().and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        }) {
            peak = peak.max(kb);
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    (done.await.unwrap().expect("vigie output"), peak)
}

/// The store of the configuration at `cfg`, whichever backend it names, for a test to look
/// into.
pub fn open_store(cfg: &Path) -> vigie::store::Store {
    let config = vigie::config::load(cfg).expect("the test's configuration loads");
    vigie::store::Store::open_config(&config.state_dir, config.store.as_ref())
        .expect("open the store")
}
