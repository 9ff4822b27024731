//! The Atom feeds of watches and digests (issue 27, contract §5): the daemon polls loopback
//! feeds into alerts, then serves `/feeds/watch/NAME.atom?token=T` (and a digest's), read
//! here with feed-rs and checked field by field and against RFC 4287's required elements;
//! a story a second outlet reports later is updated in place; conditional GET and gzip;
//! anything not served — no token, a wrong one, an unpublished or unknown name, a hostile
//! path — is one 404, and the token never reaches the daemon's log; `vigie feeds url` and
//! `vigie check`. Every server is on 127.0.0.1.

mod rfc4287;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::http::{HttpServer, Route};
use crate::support::smtp::SmtpServer;
use crate::support::*;

const TOKEN: &str = "Zq8-feeds-token-4f1c9e";

const RULES: &str = r#"
[entity.daech]
names = ["Etat islamique", "Daech", "Daesh", "EI"]

[[watch]]
name = "palmyra-front"
query = 'Palmyre AND (@daech OR offensive)'
alert = "immediate"
to = ["duty@example.org"]
feed = true

[[watch]]
name = "geneve"
query = 'title:Genève'
digest = "matin"

[[watch]]
name = "hidden"
query = 'Palmyre'
alert = "immediate"
to = ["other@example.org"]
"#;

fn fixture(name: &str) -> (String, String) {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/stories/{name}.txt"));
    let raw = std::fs::read_to_string(path).unwrap();
    let (t, b) = raw.split_once("\n\n").unwrap();
    (t.trim().into(), b.trim().into())
}

/// A recent time, to the minute (items older than `backfill` would not alert), counted
/// from one instant for the whole run.
fn minutes_ago(m: i64) -> chrono::DateTime<chrono::Utc> {
    static NOW: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    let now = *NOW.get_or_init(|| chrono::Utc::now().timestamp());
    chrono::DateTime::from_timestamp(now - now % 60 - m * 60, 0).unwrap()
}

/// How the feed shows a time: in the digest's zone, Europe/Paris.
fn paris(t: chrono::DateTime<chrono::Utc>) -> String {
    let zone: chrono_tz::Tz = "Europe/Paris".parse().unwrap();
    t.with_timezone(&zone)
        .format("%-d %b %Y, %H:%M %Z")
        .to_string()
}

/// An item of the labelled stories, at `http://example.org/OUTLET/ID`, published `ago`
/// minutes ago.
fn item(outlet: &str, id: &str, name: &str, ago: i64) -> FeedItem {
    let (title, body) = fixture(name);
    let mut it = FeedItem::new(
        id,
        &title,
        &format!("http://example.org/{outlet}/{id}"),
        &body,
    );
    it.date = Some(minutes_ago(ago));
    it
}

fn publish(http: &HttpServer, outlet: &str, items: &[FeedItem]) {
    http.route(
        &format!("/{outlet}.xml"),
        Route::ok("application/rss+xml", rss(outlet, items, "UTF-8")),
    );
}

fn config(dir: &Path, http: &HttpServer, smtp: &SmtpServer, port: u16) -> PathBuf {
    std::fs::write(dir.join("feeds.token"), format!("{TOKEN}\n")).unwrap();
    let main = format!(
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n[server]\nlisten = \"127.0.0.1:{port}\"\n\
         [feeds]\ntoken_file = \"feeds.token\"\n[poll]\ninterval = \"1s\"\n{}\n{}\n\
         [[digest]]\nname = \"matin\"\nat = \"07:00\"\ntimezone = \"Europe/Paris\"\nto = [\"desk@example.org\"]\nfeed = true\n",
        feeds_toml(&[
            ("le-fil", http.url("/le-fil.xml")),
            ("la-depeche", http.url("/la-depeche.xml"))
        ]),
        smtp_toml(smtp.addr.port())
    );
    write_config(dir, &main, RULES)
}

struct Got {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Got {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

/// A request as a reader makes it: these headers, no decompression by the client.
async fn request(method: reqwest::Method, url: &str, headers: &[(&str, &str)]) -> Got {
    vigie::fetch::install_crypto_provider();
    let client = reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .no_deflate()
        .build()
        .unwrap();
    let mut req = client.request(method, url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.expect("the daemon answers");
    Got {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        body: r.bytes().await.unwrap_or_default().to_vec(),
    }
}

async fn get(url: &str, headers: &[(&str, &str)]) -> Got {
    request(reqwest::Method::GET, url, headers).await
}

fn parse(got: &Got) -> feed_rs::model::Feed {
    feed_rs::parser::parse(got.body.as_slice()).unwrap_or_else(|e| panic!("{e}: {}", got.text()))
}

/// Read the feed at `url` until `done` holds (at most `secs` seconds).
async fn read_until(
    url: &str,
    secs: u64,
    done: impl Fn(&feed_rs::model::Feed) -> bool,
) -> (Got, feed_rs::model::Feed) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let got = get(url, &[]).await;
        if got.status == 200 {
            let feed = parse(&got);
            if done(&feed) || std::time::Instant::now() > deadline {
                return (got, feed);
            }
        } else if std::time::Instant::now() > deadline {
            panic!("{url}: {} {}", got.status, got.text());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn mails_to(smtp: &SmtpServer, to: &str) -> usize {
    smtp.messages()
        .iter()
        .filter(|m| m.to.iter().any(|t| t == to))
        .count()
}

fn rels<'a>(e: &'a feed_rs::model::Entry, rel: &str) -> Vec<&'a str> {
    e.links
        .iter()
        .filter(|l| l.rel.as_deref() == Some(rel))
        .map(|l| l.href.as_str())
        .collect()
}

fn content(e: &feed_rs::model::Entry) -> String {
    e.content
        .as_ref()
        .and_then(|c| c.body.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_feed_has_every_field_one_entry_per_story_updated_in_place() {
    let (http, smtp) = (HttpServer::start().await, SmtpServer::start().await);
    let dir = tempfile::tempdir().unwrap();
    publish(
        &http,
        "le-fil",
        &[
            item("le-fil", "a", "fr-palmyre-offensive.a", 50),
            item("le-fil", "g", "fr-geneve-delegations.a", 45),
        ],
    );
    publish(
        &http,
        "la-depeche",
        &[item("la-depeche", "m", "fr-bourse-lundi.a", 55)],
    );
    let port = free_port();
    let cfg = config(dir.path(), &http, &smtp, port);
    // Debug logging: the most the daemon ever says about a request.
    let d = spawn_vigie_logging(&cfg, &["run"], "debug");
    assert!(
        eventually(30, || mails_to(&smtp, "duty@example.org") == 1).await,
        "{}",
        d.log()
    );

    // The URL to give a reader.
    let out = vigie(&cfg, &["feeds", "url", "palmyra-front"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let url = stdout(&out).trim().to_string();
    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(
        url,
        format!("{base}/feeds/watch/palmyra-front.atom?token={TOKEN}")
    );

    let (first, feed) = read_until(&url, 10, |f| f.entries.len() == 1).await;
    assert_eq!(first.status, 200);
    assert_eq!(
        first.header("content-type").as_deref(),
        Some("application/atom+xml; charset=utf-8")
    );
    let doc = first.text();
    assert_eq!(rfc4287::breaches(&doc), Vec::<String>::new(), "{doc}");
    assert_eq!(feed.feed_type, feed_rs::model::FeedType::Atom);
    assert_eq!(feed.title.as_ref().unwrap().content, "vigie: palmyra-front");
    assert!(feed.id.starts_with("urn:uuid:"), "{}", feed.id);
    let selfs: Vec<&str> = feed
        .links
        .iter()
        .filter(|l| l.rel.as_deref() == Some("self"))
        .map(|l| l.href.as_str())
        .collect();
    assert_eq!(selfs, [url.as_str()]);
    assert_eq!(feed.entries.len(), 1);
    let a = &feed.entries[0];
    assert!(a.id.starts_with("urn:uuid:"), "{}", a.id);
    assert_eq!(
        a.title.as_ref().unwrap().content,
        "Syrie : l'armée progresse vers Palmyre"
    );
    assert_eq!(rels(a, "alternate"), ["http://example.org/le-fil/a"]);
    assert_eq!(rels(a, "related"), ["http://example.org/le-fil/a"]);
    let authors: Vec<&str> = a.authors.iter().filter_map(|p| p.name.as_deref()).collect();
    assert_eq!(authors, ["le-fil"]);
    assert_eq!(a.published, Some(minutes_ago(50)));
    let html = content(a);
    // The email's excerpt, its hits marked; the watch and its words; the outlet, its time.
    assert!(
        html.contains("<mark><strong>Palmyre</strong></mark>"),
        "{html}"
    );
    assert!(
        html.contains("<mark><strong>Daech</strong></mark>"),
        "{html}"
    );
    assert!(html.contains("Watch “palmyra-front” matched:"), "{html}");
    for word in [
        "<strong>Daech</strong>",
        "<strong>EI</strong>",
        "<strong>Palmyre</strong>",
    ] {
        assert!(html.contains(word), "{word} in {html}");
    }
    let outlet = format!(
        "<a href=\"http://example.org/le-fil/a\">le-fil</a> · {}",
        paris(minutes_ago(50))
    );
    assert!(html.contains(&outlet), "{outlet} in {html}");
    let summary = &a.summary.as_ref().unwrap().content;
    assert!(
        summary.contains("Palmyre") && !summary.contains('<'),
        "{summary}"
    );
    let categories: Vec<&str> = a.categories.iter().map(|c| c.term.as_str()).collect();
    assert_eq!(categories, ["palmyra-front"]);
    let updated_before = a.updated.unwrap();
    assert_eq!(feed.updated, Some(updated_before));

    // Conditional GET: the validators bring a 304; gzip when asked, the same document.
    let etag = first.header("etag").expect("an ETag");
    let last_modified = first.header("last-modified").expect("a Last-Modified");
    assert!(etag.starts_with("W/\""), "{etag}");
    assert_eq!(get(&url, &[("If-None-Match", &etag)]).await.status, 304);
    assert_eq!(
        get(&url, &[("If-Modified-Since", &last_modified)])
            .await
            .status,
        304
    );
    let zipped = get(&url, &[("Accept-Encoding", "gzip")]).await;
    assert_eq!(zipped.header("content-encoding").as_deref(), Some("gzip"));
    assert_eq!(zipped.header("vary").as_deref(), Some("Accept-Encoding"));
    let mut unzipped = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(zipped.body.as_slice()),
        &mut unzipped,
    )
    .unwrap();
    assert_eq!(unzipped, doc);
    assert_eq!(zipped.header("etag"), Some(etag.clone()));
    assert!(first.header("content-encoding").is_none());
    assert_eq!(request(reqwest::Method::HEAD, &url, &[]).await.status, 200);

    // A second outlet reports the story, and a new story alerts: the first entry is updated
    // in place (the same id, both outlets, a later `updated`), the new one comes first.
    // (Past this second, so that the new sighting's time differs from the first's.)
    tokio::time::sleep(Duration::from_millis(1100)).await;
    publish(
        &http,
        "la-depeche",
        &[
            item("la-depeche", "m", "fr-bourse-lundi.a", 55),
            item("la-depeche", "b", "fr-palmyre-offensive.b", 30),
        ],
    );
    publish(
        &http,
        "le-fil",
        &[
            item("le-fil", "a", "fr-palmyre-offensive.a", 50),
            item("le-fil", "g", "fr-geneve-delegations.a", 45),
            item("le-fil", "u", "fr-palmyre-unesco.a", 20),
        ],
    );
    let (second, feed) = read_until(&url, 30, |f| {
        f.entries.len() == 2
            && f.entries
                .iter()
                .any(|e| e.id == feed.entries[0].id && rels(e, "related").len() == 2)
    })
    .await;
    assert_eq!(rfc4287::breaches(&second.text()), Vec::<String>::new());
    let ids: Vec<&str> = feed.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(
        ids[1], a.id,
        "the first story keeps its id, after the newer one"
    );
    assert_eq!(
        feed.entries[0].title.as_ref().unwrap().content,
        "Palmyre : l'Unesco s'alarme de nouvelles destructions"
    );
    let again = &feed.entries[1];
    assert_eq!(again.title, a.title);
    assert_eq!(rels(again, "alternate"), ["http://example.org/le-fil/a"]);
    assert_eq!(
        rels(again, "related"),
        [
            "http://example.org/le-fil/a",
            "http://example.org/la-depeche/b"
        ]
    );
    let contributors: Vec<&str> = again
        .contributors
        .iter()
        .filter_map(|p| p.name.as_deref())
        .collect();
    assert_eq!(contributors, ["la-depeche"]);
    let outlet = format!(">la-depeche</a> · {}", paris(minutes_ago(30)));
    assert!(
        content(again).contains(&outlet),
        "{outlet} in {}",
        content(again)
    );
    assert!(
        again.updated.unwrap() > updated_before,
        "{:?} then {:?}",
        updated_before,
        again.updated
    );
    // The copy alerted no one; the new story did.
    assert!(eventually(10, || mails_to(&smtp, "duty@example.org") == 2).await);
    assert_eq!(mails_to(&smtp, "duty@example.org"), 2);
    // The old validators no longer hold.
    assert_eq!(get(&url, &[("If-None-Match", &etag)]).await.status, 200);
    assert_ne!(second.header("etag"), Some(etag));

    // The digest's feed: what was queued for it, though not sent yet.
    let out = vigie(&cfg, &["feeds", "url", "matin"]).await;
    let digest_url = stdout(&out).trim().to_string();
    assert_eq!(
        digest_url,
        format!("{base}/feeds/digest/matin.atom?token={TOKEN}")
    );
    let (got, digest) = read_until(&digest_url, 10, |f| f.entries.len() == 1).await;
    assert_eq!(rfc4287::breaches(&got.text()), Vec::<String>::new());
    assert_eq!(
        digest.title.as_ref().unwrap().content,
        "vigie: digest matin"
    );
    let g = &digest.entries[0];
    assert!(
        g.title
            .as_ref()
            .unwrap()
            .content
            .starts_with("Genève : l'opposition syrienne")
    );
    assert!(
        content(g).contains("Watch “geneve” matched: <strong>Genève</strong>"),
        "{}",
        content(g)
    );
    assert_eq!(mails_to(&smtp, "desk@example.org"), 0);

    // Everything not served is one 404, whatever the reason.
    let bad = [
        format!("{base}/feeds/watch/palmyra-front.atom"),
        format!("{base}/feeds/watch/palmyra-front.atom?token="),
        format!("{base}/feeds/watch/palmyra-front.atom?token=wrong-{TOKEN}"),
        format!(
            "{base}/feeds/watch/palmyra-front.atom?token={}",
            &TOKEN[..TOKEN.len() - 1]
        ),
        format!("{base}/feeds/watch/palmyra-front.atom?tok=x&token%3D{TOKEN}"),
        format!("{base}/feeds/watch/hidden.atom?token={TOKEN}"),
        format!("{base}/feeds/watch/geneve.atom?token={TOKEN}"),
        format!("{base}/feeds/watch/nobody.atom?token={TOKEN}"),
        format!("{base}/feeds/watch/matin.atom?token={TOKEN}"),
        format!("{base}/feeds/digest/palmyra-front.atom?token={TOKEN}"),
        format!("{base}/feeds/watch/..%2F..%2Fetc%2Fpasswd.atom?token={TOKEN}"),
        format!("{base}/feeds/watch/%ff%fe.atom?token={TOKEN}"),
        format!("{base}/feeds/watch/palmyra-front?token={TOKEN}"),
        format!(
            "{base}/feeds/../feeds/watch/palmyra-front.atom?token=%00%ff{}",
            "x".repeat(4000)
        ),
        format!(
            "{base}/feeds/watch/{}.atom?token={TOKEN}",
            "a%2F".repeat(3000)
        ),
    ];
    let mut bodies = std::collections::BTreeSet::new();
    for u in &bad {
        let got = get(u, &[]).await;
        assert_eq!(got.status, 404, "{u}");
        bodies.insert(got.text());
    }
    let posted = request(reqwest::Method::POST, &url, &[]).await;
    assert_eq!(posted.status, 404);
    bodies.insert(posted.text());
    assert_eq!(bodies.len(), 1, "one body for every refusal: {bodies:?}");
    // The daemon is still well, and its log names neither the token nor a wrong one.
    assert_eq!(get(&format!("{base}/healthz"), &[]).await.status, 200);
    let log = d.log();
    assert!(
        log.contains("Atom feed request"),
        "requests are logged (by path)"
    );
    assert!(!log.contains(TOKEN) && !log.contains("wrong-"), "{log}");
    assert!(!log.contains(&TOKEN[..TOKEN.len() - 1]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_url_and_check_say_what_is_published_and_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let rules = "[[watch]]\nname = \"matin\"\nquery = 'Palmyre'\nalert = \"immediate\"\nfeed = true\n\
                 [[watch]]\nname = \"quiet\"\nquery = 'Alep'\ndigest = \"matin\"\n";
    let main = |feeds: &str| {
        format!(
            "rules = [\"rules.toml\"]\n[server]\nlisten = \"0.0.0.0:9477\"\n{feeds}\
             [[digest]]\nname = \"matin\"\nat = \"07:00\"\nfeed = true\n"
        )
    };
    // Without a token, `vigie check` refuses, at each feed = true.
    let cfg = write_config(dir.path(), &main(""), rules);
    let out = vigie(&cfg, &["check"]).await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(
            "digest \"matin\" sets feed = true, but [feeds] has no `token_file` nor `token_env`"
        ),
        "{err}"
    );
    assert!(
        err.contains("rules.toml:1:1: watch \"matin\" sets feed = true"),
        "{err}"
    );

    let cfg = write_config(
        dir.path(),
        &main(
            "[feeds]\ntoken_env = \"VIGIE_TEST_FEEDS_TOKEN\"\nbase_url = \"https://news.example.org/vigie/\"\n",
        ),
        rules,
    );
    let out = vigie(&cfg, &["check"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(
            "atom feeds: 2 (watch matin, digest matin) at https://news.example.org/vigie/feeds/…"
        ),
        "{}",
        stdout(&out)
    );
    // A name that is both a watch and a digest is never guessed.
    let out = vigie(&cfg, &["feeds", "url", "matin"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("\"matin\" is both a watch and a digest: add --watch or --digest"),
        "{}",
        stderr(&out)
    );
    let out = vigie(&cfg, &["feeds", "url", "quiet"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("the watch \"quiet\" is not published: add `feed = true` to it"));
    let out = vigie(&cfg, &["feeds", "url", "nobody"]).await;
    assert!(stderr(&out).contains("no watch or digest named \"nobody\""));
    // The token is read where the configuration says; unset, it is named, never guessed.
    let out = vigie(&cfg, &["feeds", "url", "--digest", "matin"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("environment variable VIGIE_TEST_FEEDS_TOKEN is not set"),
        "{}",
        stderr(&out)
    );
    let with_token = tokio::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args([
            "-c",
            &cfg.to_string_lossy(),
            "feeds",
            "url",
            "--digest",
            "matin",
        ])
        .env("VIGIE_TEST_FEEDS_TOKEN", "a+b/c")
        .output()
        .await
        .unwrap();
    assert!(with_token.status.success(), "{}", stderr(&with_token));
    assert_eq!(
        stdout(&with_token).trim(),
        "https://news.example.org/vigie/feeds/digest/matin.atom?token=a%2Bb%2Fc"
    );
    // Without base_url, an address that listens everywhere is shown as loopback, with a note.
    let cfg = write_config(
        dir.path(),
        &main("[feeds]\ntoken_env = \"VIGIE_TEST_FEEDS_TOKEN\"\n"),
        rules,
    );
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args([
            "-c",
            &cfg.to_string_lossy(),
            "feeds",
            "url",
            "--watch",
            "matin",
        ])
        .env("VIGIE_TEST_FEEDS_TOKEN", "t")
        .output()
        .await
        .unwrap();
    assert_eq!(
        stdout(&out).trim(),
        "http://127.0.0.1:9477/feeds/watch/matin.atom?token=t"
    );
    assert!(
        stderr(&out).contains("[server] listen is 0.0.0.0:9477"),
        "{}",
        stderr(&out)
    );
}
