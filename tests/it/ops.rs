//! Operator commands: OPML import/export, search, backtest, man page and completions.

use std::path::{Path, PathBuf};

use crate::support::http::{HttpServer, Route};
use crate::support::*;

/// The shared corpora folder: `VIGIE_CORPORA`, else `../shared/corpora`. A missing
/// folder fails the test (it does not skip).
fn corpora() -> PathBuf {
    let dir = std::env::var_os("VIGIE_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora"));
    assert!(dir.is_dir(), "corpora folder {} is missing", dir.display());
    dir
}

fn urls_of(opml: &str) -> Vec<String> {
    let mut v: Vec<String> = vigie::parse::opml::parse(opml.as_bytes())
        .expect("valid OPML")
        .into_iter()
        .map(|f| f.xml_url)
        .collect();
    v.sort();
    v
}

/// Run by `.ci/run` with the corpora: a real OPML file (ROME's test suite) imported into
/// a configuration, checked, exported, and read back to the same feeds.
#[tokio::test]
#[ignore = "needs the shared corpora: VIGIE_CORPORA=../shared/corpora"]
async fn corpora_opml_round_trip() {
    let source = corpora().join("rome/rome-opml/src/test/resources/opml_2.0.xml");
    let original = std::fs::read_to_string(&source).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n",
        "",
    );
    let out = vigie(&cfg, &["feeds", "import", source.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let want = urls_of(&original);
    assert!(want.len() > 10);
    assert!(
        stderr(&out).contains(&format!("{} feeds added", want.len())),
        "{}",
        stderr(&out)
    );
    let check = vigie(&cfg, &["check"]).await;
    assert!(check.status.success(), "{}", stderr(&check));
    assert!(
        stdout(&check).contains(&format!("feeds:      {}", want.len())),
        "{}",
        stdout(&check)
    );
    // Importing again adds nothing.
    let again = vigie(&cfg, &["feeds", "import", source.to_str().unwrap()]).await;
    assert!(
        stderr(&again).contains(&format!("0 feeds added, {} skipped", want.len())),
        "{}",
        stderr(&again)
    );
    let export = vigie(&cfg, &["feeds", "export"]).await;
    assert!(export.status.success());
    assert_eq!(urls_of(&stdout(&export)), want);
}

const RULES: &str = "[[watch]]\nname = \"palmyre\"\nquery = 'Palmyre'\nalert = \"digest\"\n";

async fn polled_store(http: &HttpServer, dir: &Path) -> PathBuf {
    let feed = rss(
        "t",
        &[
            FeedItem::new(
                "seed",
                "Syrie : offensive vers Palmyre",
                "http://ex.org/seed",
                &seed_article(),
            ),
            FeedItem::new(
                "ble",
                "Le prix du blé s'envole",
                "http://ex.org/ble",
                "Marchés céréaliers à Chicago.",
            ),
        ],
        "UTF-8",
    );
    http.route("/f.xml", Route::ok("application/rss+xml", feed));
    let main = format!(
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n{}{DIGEST_TOML}",
        feeds_toml(&[("fil", http.url("/f.xml"))])
    );
    let cfg = write_config(dir, &main, RULES);
    let out = vigie(&cfg, &["poll"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_is_folded_like_the_watches() {
    let http = HttpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = polled_store(&http, dir.path()).await;
    for q in ["GENEVE", "genève", "\"etat islamique\"", "syri*", "l'ONU"] {
        let out = vigie(&cfg, &["search", q]).await;
        assert!(out.status.success(), "{q}: {}", stderr(&out));
        let s = stdout(&out);
        assert!(
            s.contains("Syrie : offensive vers Palmyre"),
            "{q}: {s}{}",
            stderr(&out)
        );
        assert!(!s.contains("blé"), "{q}: {s}");
    }
    let out = vigie(&cfg, &["search", "BLE", "OR", "Palmyre"]).await;
    let s = stdout(&out);
    assert_eq!(s.lines().filter(|l| l.contains("fil")).count(), 2, "{s}");
    let none = vigie(&cfg, &["search", "Tombouctou"]).await;
    assert!(none.status.success());
    assert!(stdout(&none).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backtest_lists_what_a_new_watch_would_have_caught() {
    let http = HttpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = polled_store(&http, dir.path()).await;
    let rules = format!(
        "{RULES}\n[[watch]]\nname = \"cereales\"\nquery = 'blé OR céréal*'\nalert = \"digest\"\n"
    );
    std::fs::write(dir.path().join("rules.toml"), rules).unwrap();
    let out = vigie(&cfg, &["backtest", "--since", "7d", "--watch", "cereales"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let s = stdout(&out);
    assert!(
        s.starts_with("cereales: 1 article would have alerted"),
        "{s}"
    );
    assert!(
        s.contains("Le prix du blé s'envole") && s.contains("blé"),
        "{s}"
    );
    assert!(!s.contains("palmyre:"), "{s}");
    let all = stdout(&vigie(&cfg, &["backtest"]).await);
    assert!(
        all.contains("palmyre: 1 article") && all.contains("cereales: 1 article"),
        "{all}"
    );
    let bad = vigie(&cfg, &["backtest", "--watch", "nope"]).await;
    assert_eq!(bad.status.code(), Some(2));
}

#[tokio::test]
async fn man_page_and_completions_come_from_the_cli_definition() {
    let missing = Path::new("/nonexistent/vigie.toml");
    let man = vigie(missing, &["man"]).await;
    assert!(man.status.success(), "{}", stderr(&man));
    let s = stdout(&man);
    assert!(s.contains(".TH vigie") && s.contains("backtest"), "{s}");
    let bash = vigie(missing, &["completions", "bash"]).await;
    assert!(bash.status.success());
    assert!(stdout(&bash).contains("_vigie()"));
}

/// `vigie check | head -0` and the like: a closed stdout or stderr ends the output, not
/// the process with a panic.
#[tokio::test]
async fn a_closed_output_pipe_is_not_a_panic() {
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/vigie.toml");
    for args in [
        &["check"][..],
        &["man"][..],
        &["feeds", "export"][..],
        &["completions", "bash"][..],
    ] {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
            .arg("-c")
            .arg(&cfg)
            .args(args)
            .env_remove("VIGIE_CONFIG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading ends before vigie writes anything.
        drop(child.stdout.take());
        drop(child.stderr.take());
        let status = child.wait().await.unwrap();
        assert_eq!(status.code(), Some(0), "vigie {args:?}");
    }
}
