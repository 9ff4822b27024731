//! A feed that fails (404, malformed XML, connection refused) costs that feed one
//! failed poll, reported with its name and cause; the other feeds are processed.

use crate::support::http::{HttpServer, Route};
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_broken_feed_does_not_stop_the_others() {
    let http = HttpServer::start().await;
    http.route(
        "/good.xml",
        Route::ok(
            "application/rss+xml",
            rss(
                "ok",
                &[FeedItem::new(
                    "g1",
                    "Palmyre libérée",
                    "http://example.org/g1",
                    "texte",
                )],
                "UTF-8",
            ),
        ),
    );
    http.route(
        "/broken.xml",
        Route::ok(
            "application/rss+xml",
            "<rss version=\"2.0\"><channel><item><title>x</ti",
        ),
    );
    // A port that nobody listens on: bind, note it, close.
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let main = format!(
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n[poll]\ntimeout = \"5s\"\n{}",
        feeds_toml(&[
            ("missing", http.url("/missing.xml")),
            ("broken", http.url("/broken.xml")),
            ("refused", format!("http://127.0.0.1:{refused}/feed.xml")),
            ("good", http.url("/good.xml")),
        ])
    );
    let rules = "[[watch]]\nname = \"p\"\nquery = 'Palmyre'\nalert = \"immediate\"\nto = [\"a@example.org\"]\n";
    let cfg = write_config(dir.path(), &main, rules);
    let out = vigie(&cfg, &["poll"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let s = stdout(&out);
    let line = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        line("missing").contains("failed") && line("missing").contains("404"),
        "{s}"
    );
    assert!(
        line("broken").contains("failed") && line("broken").contains("feed"),
        "{s}"
    );
    assert!(
        line("refused").contains("failed") && line("refused").to_lowercase().contains("connect"),
        "{s}"
    );
    assert!(line("good").contains("1 new, 1 matches"), "{s}");
    // Logged with the feed's name and cause too.
    let e = stderr(&out);
    assert!(e.contains("feed=missing") && e.contains("404"), "{e}");
    // The good feed's alert went out (to .eml files: no mail section).
    let mails: Vec<_> = std::fs::read_dir(dir.path().join("state/mail"))
        .unwrap()
        .collect();
    assert_eq!(mails.len(), 1);
}
