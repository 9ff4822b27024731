//! Whole articles (contract §2 `fulltext`, §6): a feed that carries only teasers has its
//! articles' pages fetched from a real server on loopback, and the watches match the
//! article — not the teaser, and not the page's boilerplate. The page is the reference
//! article inside a news site's furniture (`tests/fixtures/pages/seed-page.html`):
//! navigation, a cookie banner, two «Lire aussi» boxes between paragraphs naming other
//! cities, a most-read sidebar, comments, a paywall banner and a footer.

use std::time::Duration;

use crate::end_to_end::decoded_body;
use crate::support::http::{HttpServer, Route, Stream};
use crate::support::smtp::SmtpServer;
use crate::support::*;

const PAGE: &str = include_str!("../fixtures/pages/seed-page.html");
const TITLE: &str = "Syrie : l'armée progresse vers Palmyre";
/// What the feed carries of the article: its first sentence.
const TEASER: &str = "Les forces gouvernementales syriennes poursuivaient, hier, leur offensive contre le groupe terroriste autoproclamé «Etat islamique» (Daech/EI) près de Palmyre.";

/// A watch on a word of the article's body (absent from the teaser), and one on words
/// found only in each kind of boilerplate of the page.
const RULES: &str = r#"
[[watch]]
name = "bayarat"
query = '"al-Bayarat"'
alert = "immediate"
to = ["duty@example.org"]

[[watch]]
name = "related-boxes"
query = 'Tombouctou OR Samarcande'
alert = "immediate"
to = ["duty@example.org"]

[[watch]]
name = "sidebar"
query = 'Messine'
alert = "immediate"
to = ["duty@example.org"]

[[watch]]
name = "comments"
query = 'Trébizonde'
alert = "immediate"
to = ["duty@example.org"]

[[watch]]
name = "furniture"
query = 'Gibraltar OR Zanzibar OR Ouagadougou OR Valparaiso OR Partager'
alert = "immediate"
to = ["duty@example.org"]
"#;

fn html(body: &str) -> Route {
    Route::ok("text/html; charset=utf-8", body.to_string())
}

/// A short article page about something else.
fn other_page(words: &str) -> Route {
    html(&format!(
        "<html><head><title>Marchés</title></head><body><article><h1>Marchés</h1><p>{}</p></article></body></html>",
        words.repeat(12)
    ))
}

fn line<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teaser_feed_is_matched_on_its_article_pages_not_their_boilerplate() {
    let http = HttpServer::start().await;
    let smtp = SmtpServer::start().await;
    http.route("/articles/palmyre", html(PAGE));
    http.route(
        "/articles/ble",
        other_page("Les marchés céréaliers s'envolent à Chicago après la sécheresse. "),
    );
    let link = http.url("/articles/palmyre");
    let feed = rss(
        "El Watan - International",
        &[
            FeedItem::new("seed-1", TITLE, &link, TEASER),
            FeedItem::new(
                "ble-1",
                "Le prix du blé au plus haut",
                &http.url("/articles/ble"),
                "Les marchés céréaliers s'envolent à Chicago.",
            ),
        ],
        "UTF-8",
    );
    http.route("/feed.xml", Route::ok("application/rss+xml", feed));
    let dir = tempfile::tempdir().unwrap();
    // No `fulltext` anywhere: "auto" decides from the feed's own items.
    let main = format!(
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n{}\n{}",
        page_feeds_toml(&[("elwatan", http.url("/feed.xml"))]),
        smtp_toml(smtp.addr.port())
    );
    let cfg = write_config(dir.path(), &main, RULES);

    let first = vigie(&cfg, &["poll"]).await;
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        line(&stdout(&first), "elwatan").contains("2 new"),
        "{}",
        stdout(&first)
    );
    let msgs = smtp.messages();
    assert_eq!(msgs.len(), 1, "one alert, for al-Bayarat only: {msgs:#?}");
    let subject = msgs[0].header("Subject").unwrap();
    assert!(
        subject.contains("bayarat") && subject.contains("Palmyre"),
        "{subject}"
    );
    // The excerpt comes from the article's text, the hit marked there.
    let body = decoded_body(&msgs[0].data);
    assert!(
        body.contains("[al-Bayarat]"),
        "no highlighted hit in:\n{body}"
    );
    assert_eq!(http.hits("/articles/palmyre"), 1);

    // Polled again: nothing new, no page fetched again, no second alert.
    let second = vigie(&cfg, &["poll"]).await;
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(http.hits("/articles/palmyre"), 1);
    assert_eq!(http.hits("/articles/ble"), 1);
    assert_eq!(smtp.messages().len(), 1);

    // What was decided, and why, is shown; the stored article is searchable by its body.
    let list = stdout(&vigie(&cfg, &["feeds", "list"]).await);
    let ft = list
        .lines()
        .skip_while(|l| !l.starts_with("full text"))
        .find(|l| l.trim_start().starts_with("elwatan"))
        .unwrap_or_default();
    assert!(
        ft.contains("auto: teasers") && ft.contains("2 article(s) on their page"),
        "{list}"
    );
    let found = vigie(&cfg, &["search", "Kallabiyeh"]).await;
    assert!(stdout(&found).contains(TITLE), "{}", stdout(&found));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_of_whole_articles_has_no_page_fetched() {
    let http = HttpServer::start().await;
    http.route("/articles/palmyre", html(PAGE));
    let feed = rss(
        "Full text",
        &[FeedItem::new(
            "seed-1",
            TITLE,
            &http.url("/articles/palmyre"),
            &seed_article(),
        )],
        "UTF-8",
    );
    http.route("/feed.xml", Route::ok("application/rss+xml", feed));
    let dir = tempfile::tempdir().unwrap();
    let main = format!(
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n{}",
        page_feeds_toml(&[("full", http.url("/feed.xml"))])
    );
    let cfg = write_config(dir.path(), &main, RULES);
    let out = vigie(&cfg, &["poll"]).await;
    assert!(
        line(&stdout(&out), "full").contains("1 matches"),
        "{}",
        stdout(&out)
    );
    assert_eq!(http.hits("/articles/palmyre"), 0);
    let list = stdout(&vigie(&cfg, &["feeds", "list"]).await);
    assert!(list.contains("auto: whole articles"), "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_that_cannot_be_had_cost_only_their_own_article() {
    let http = HttpServer::start().await;
    http.route("/a/good", html(PAGE));
    http.route("/a/forbidden", Route::status(403));
    http.route(
        "/a/hangs",
        Route {
            delay: Some(Duration::from_secs(30)),
            ..html(PAGE)
        },
    );
    http.route(
        "/a/huge",
        Route {
            status: 200,
            headers: vec![("Content-Type".into(), "text/html".into())],
            stream: Some(Stream::Zeros {
                len: 50_000_000,
                content_length: false,
            }),
            ..Route::default()
        },
    );
    http.route(
        "/a/report",
        Route::ok(
            "application/pdf",
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n".to_vec(),
        ),
    );
    let item =
        |path: &str| FeedItem::new(path, &format!("Palmyre {path}"), &http.url(path), TEASER);
    let all = [
        "/a/good",
        "/a/forbidden",
        "/a/hangs",
        "/a/huge",
        "/a/report",
    ];
    http.route(
        "/all.xml",
        Route::ok("application/rss+xml", rss("all", &all.map(item), "UTF-8")),
    );
    http.route(
        "/good.xml",
        Route::ok(
            "application/rss+xml",
            rss("good", &[item("/a/good")], "UTF-8"),
        ),
    );
    let rules = "[[watch]]\nname = \"p\"\nquery = 'Palmyre'\n";
    let config = |dir: &std::path::Path, feed: &str| {
        write_config(
            dir,
            &format!(
                "state_dir = \"state\"\nrules = [\"rules.toml\"]\n[poll]\ntimeout = \"2s\"\nfulltext = \"always\"\n{}{DIGEST_TOML}",
                page_feeds_toml(&[("news", http.url(feed))])
            ),
            rules,
        )
    };
    let base_dir = tempfile::tempdir().unwrap();
    let (base, base_peak) = poll_measured(&config(base_dir.path(), "/good.xml")).await;
    assert!(
        line(&stdout(&base), "news").contains("1 new"),
        "{}",
        stdout(&base)
    );

    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "/all.xml");
    let started = std::time::Instant::now();
    let (out, peak) = poll_measured(&cfg).await;
    let (s, e) = (stdout(&out), stderr(&out));
    eprintln!(
        "pages poll: {:?}, peak RSS {peak} kB (good page alone: {base_peak} kB)",
        started.elapsed()
    );
    assert!(out.status.success(), "{e}");
    // Every article stored and matched, on its page or on the feed's teaser.
    assert!(line(&s, "news").contains("5 new, 5 matches"), "{s}\n{e}");
    for (path, cause) in [
        ("/a/forbidden", "HTTP 403"),
        ("/a/hangs", "timed out"),
        ("/a/huge", "larger than max_body"),
        ("/a/report", "not HTML (application/pdf)"),
    ] {
        assert!(
            e.lines().any(|l| l.contains("article page not used")
                && l.contains(&http.url(path))
                && l.contains(cause)),
            "{path}: {cause} not logged:\n{e}"
        );
    }
    let list = stdout(&vigie(&cfg, &["feeds", "list"]).await);
    assert!(
        list.contains("always; 1 article(s) on their page, 4 on the feed's text"),
        "{list}"
    );
    for cause in [
        "HTTP 403: 1",
        "timed out: 1",
        "larger than max_body: 1",
        "not HTML (application/pdf): 1",
    ] {
        assert!(list.contains(cause), "{cause}: {list}");
    }
    let growth_mb = peak.saturating_sub(base_peak) / 1024;
    assert!(
        growth_mb < 100,
        "peak RSS grew by {growth_mb} MB ({base_peak} kB → {peak} kB)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_carried_by_two_feeds_is_fetched_once() {
    let http = HttpServer::start().await;
    http.route(
        "/articles/palmyre",
        Route {
            // Long enough for both feeds' items to ask for it at once.
            delay: Some(Duration::from_millis(300)),
            ..html(PAGE)
        },
    );
    let link = http.url("/articles/palmyre");
    for (path, guid, text) in [
        ("/a.xml", "a-1", TEASER),
        (
            "/b.xml",
            "b-1",
            "L'armée syrienne avance vers Palmyre, selon l'agence SANA.",
        ),
    ] {
        let feed = rss(path, &[FeedItem::new(guid, TITLE, &link, text)], "UTF-8");
        http.route(path, Route::ok("application/rss+xml", feed));
    }
    let dir = tempfile::tempdir().unwrap();
    let main = format!(
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n[poll]\nfulltext = \"always\"\n{}",
        page_feeds_toml(&[("a", http.url("/a.xml")), ("b", http.url("/b.xml"))])
    );
    let cfg = write_config(dir.path(), &main, RULES);
    let out = vigie(&cfg, &["poll"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(http.hits("/articles/palmyre"), 1, "{}", stderr(&out));
    // And not again when both feeds are polled another time.
    vigie(&cfg, &["poll"]).await;
    assert_eq!(http.hits("/articles/palmyre"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_its_page_is_on_the_way_the_alert_comes_once_after_restart() {
    let http = HttpServer::start().await;
    let smtp = SmtpServer::start().await;
    let slow = Route {
        delay: Some(Duration::from_secs(20)),
        ..html(PAGE)
    };
    http.route("/articles/palmyre", slow);
    let feed = rss(
        "El Watan",
        &[FeedItem::new(
            "seed-1",
            TITLE,
            &http.url("/articles/palmyre"),
            TEASER,
        )],
        "UTF-8",
    );
    http.route("/feed.xml", Route::ok("application/rss+xml", feed));
    let dir = tempfile::tempdir().unwrap();
    let main = format!(
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n[poll]\ntimeout = \"30s\"\n{}\n{}",
        page_feeds_toml(&[("elwatan", http.url("/feed.xml"))]),
        smtp_toml(smtp.addr.port())
    );
    let cfg = write_config(dir.path(), &main, RULES);

    let mut first = spawn_vigie(&cfg, &["run"]);
    assert!(
        eventually(20, || http.hits("/articles/palmyre") == 1).await,
        "the page was never asked for:\n{}",
        first.log()
    );
    first.signal("KILL").await;
    let _ = first.child.wait().await;
    assert!(smtp.messages().is_empty());

    http.route("/articles/palmyre", html(PAGE));
    let mut second = spawn_vigie(&cfg, &["run"]);
    assert!(
        eventually(30, || !smtp.messages().is_empty()).await,
        "no alert after the restart:\n{}",
        second.log()
    );
    // Time for a second alert to arrive, were there one.
    tokio::time::sleep(Duration::from_secs(2)).await;
    second.signal("TERM").await;
    let _ = second.child.wait().await;
    let msgs = smtp.messages();
    assert_eq!(msgs.len(), 1, "{msgs:#?}");
    assert!(msgs[0].header("Subject").unwrap().contains("bayarat"));
    assert_eq!(http.hits("/articles/palmyre"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_test_on_a_web_page_matches_what_the_daemon_would() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "rules = [\"rules.toml\"]\n", RULES);
    let page = dir.path().join("page.html");
    std::fs::write(&page, PAGE).unwrap();
    let lines = rules_test_json(&cfg, &page).await;
    let watches: Vec<&str> = lines.iter().filter_map(|l| l["watch"].as_str()).collect();
    assert_eq!(watches, vec!["bayarat"], "{lines:#?}");
    assert_eq!(lines[0]["title"], TITLE);
}
