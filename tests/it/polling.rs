//! Polling as a good network citizen (contract §6), against a real loopback server:
//! conditional GET, compression, backoff, Retry-After, 301/302, 410, the adaptive
//! interval, per-host and global limits, and charsets given only by HTTP.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use vigie::store::feeds::FeedState;

use crate::support::http::{HttpServer, Route};
use crate::support::*;

const RULES: &str = "[[watch]]\nname = \"p\"\nquery = 'Palmyre'\n";

fn config(dir: &Path, poll: &str, feeds: &[(&str, String)]) -> std::path::PathBuf {
    let main = format!(
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n[poll]\ntimeout = \"5s\"\n{poll}\n{}{DIGEST_TOML}",
        feeds_toml(feeds)
    );
    write_config(dir, &main, RULES)
}

fn state(dir: &Path, name: &str) -> FeedState {
    open_store(&dir.join("vigie.toml"))
        .feed_state(name)
        .unwrap()
        .unwrap()
}

/// A feed of `n` items whose ids and links start with `tag` (the same link in two feeds
/// would be one article).
fn feed_xml(tag: &str, n: usize) -> String {
    let items: Vec<FeedItem> = (0..n)
        .map(|i| {
            FeedItem::new(
                &format!("{tag}-{i}"),
                &format!("Article {i}"),
                &format!("http://example.org/{tag}/{i}"),
                "texte",
            )
        })
        .collect();
    rss("f", &items, "UTF-8")
}

fn line<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_default()
}

fn header<'a>(req: &'a [(String, String)], name: &str) -> Option<&'a str> {
    req.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_get_sends_validators_back_and_a_304_stores_nothing() {
    let http = HttpServer::start().await;
    let mut etag = Route::ok("application/rss+xml", feed_xml("t1", 3));
    etag.etag = Some("\"v1\"".into());
    http.route("/etag.xml", etag);
    let mut lm = Route::ok("application/rss+xml", feed_xml("t2", 2));
    lm.last_modified = Some("Tue, 07 Feb 2017 10:00:00 GMT".into());
    http.route("/lm.xml", lm);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        "",
        &[("etag", http.url("/etag.xml")), ("lm", http.url("/lm.xml"))],
    );
    let first = vigie(&cfg, &["poll"]).await;
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        line(&stdout(&first), "etag").contains("3 new"),
        "{}",
        stdout(&first)
    );
    assert_eq!(state(dir.path(), "etag").etag.as_deref(), Some("\"v1\""));

    let second = vigie(&cfg, &["poll"]).await;
    let out = stdout(&second);
    assert!(line(&out, "etag").contains("not modified"), "{out}");
    assert!(line(&out, "lm").contains("not modified"), "{out}");
    let reqs = http.requests("/etag.xml");
    assert_eq!(header(&reqs[0], "if-none-match"), None);
    assert_eq!(header(&reqs[1], "if-none-match"), Some("\"v1\""));
    let reqs = http.requests("/lm.xml");
    assert_eq!(
        header(&reqs[1], "if-modified-since"),
        Some("Tue, 07 Feb 2017 10:00:00 GMT")
    );
    // Every request names vigie and accepts the three compressions.
    let ua = header(&reqs[0], "user-agent").unwrap();
    assert!(ua.starts_with("vigie/"), "{ua}");
    let ae = header(&reqs[0], "accept-encoding").unwrap();
    assert!(
        ae.contains("gzip") && ae.contains("br") && ae.contains("deflate"),
        "{ae}"
    );
    // The 304 stored nothing: same articles, the feed counted as healthy.
    let s = state(dir.path(), "etag");
    assert_eq!((s.articles, s.error_count, s.polls), (3, 0, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_brotli_and_deflate_bodies_are_decoded() {
    use flate2::write::{GzEncoder, ZlibEncoder};
    let compress = |enc: &str, body: &[u8]| -> Vec<u8> {
        match enc {
            "gzip" => {
                let mut w = GzEncoder::new(Vec::new(), flate2::Compression::default());
                w.write_all(body).unwrap();
                w.finish().unwrap()
            }
            "deflate" => {
                let mut w = ZlibEncoder::new(Vec::new(), flate2::Compression::default());
                w.write_all(body).unwrap();
                w.finish().unwrap()
            }
            _ => {
                let mut out = Vec::new();
                let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                w.write_all(body).unwrap();
                drop(w);
                out
            }
        }
    };
    let http = HttpServer::start().await;
    for (path, enc) in [("/gz", "gzip"), ("/zl", "deflate"), ("/br", "br")] {
        let body = feed_xml(path, 4);
        let mut r = Route::ok("application/rss+xml", compress(enc, body.as_bytes()));
        r.headers.push(("Content-Encoding".into(), enc.into()));
        http.route(path, r);
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        "",
        &[
            ("gz", http.url("/gz")),
            ("zl", http.url("/zl")),
            ("br", http.url("/br")),
        ],
    );
    let out = vigie(&cfg, &["poll"]).await;
    let s = stdout(&out);
    for name in ["gz", "zl", "br"] {
        assert!(line(&s, name).contains("4 items, 4 new"), "{name}: {s}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_feed_backs_off_exponentially_and_vigie_poll_waits_it_out() {
    let http = HttpServer::start().await;
    http.route("/down.xml", Route::status(500));
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        "interval = \"10m\"",
        &[("down", http.url("/down.xml"))],
    );
    let first = vigie(&cfg, &["poll"]).await;
    assert!(line(&stdout(&first), "down").contains("HTTP 500"));
    let s1 = state(dir.path(), "down");
    let wait1 = (s1.next_poll_at - Utc::now()).num_seconds();
    // First failure: the interval, less up to 20 % of jitter.
    assert!((470..=600).contains(&wait1), "{wait1}");
    assert_eq!(s1.error_count, 1);

    // `vigie poll` ignores intervals, but not a backoff: no request is made.
    let second = vigie(&cfg, &["poll"]).await;
    let l = line(&stdout(&second), "down").to_string();
    assert!(
        l.contains("skipped") && l.contains("after 1 failed poll") && l.contains("HTTP 500"),
        "{l}"
    );
    assert_eq!(http.hits("/down.xml"), 1);

    // The daemon's view: once the wait is over the feed is polled again, and the next
    // wait is about twice as long, up to six hours.
    let config = vigie::config::load(&cfg).unwrap();
    let rt = vigie::daemon::runtime(config).await.unwrap();
    let mut prev = wait1;
    for n in 2..=7u32 {
        let s = state(dir.path(), "down");
        let now = s.next_poll_at + chrono::Duration::seconds(1);
        let due = rt.store.call(move |st| st.due_feeds(now)).await.unwrap();
        assert_eq!(due, vec!["down".to_string()]);
        vigie::ingest::poll_feeds(&rt, &due, now).await;
        let s = state(dir.path(), "down");
        let wait = (s.next_poll_at - now).num_seconds();
        assert_eq!(s.error_count, n);
        assert!(wait <= 6 * 3600, "failure {n}: {wait}");
        if wait < 6 * 3600 * 8 / 10 {
            assert!(wait > prev * 3 / 2, "failure {n}: {wait} after {prev}");
        }
        prev = wait;
    }
    assert!(prev >= 6 * 3600 * 8 / 10, "{prev}");
    assert_eq!(http.hits("/down.xml"), 7);

    // Recovery resets the count and the interval.
    http.route(
        "/down.xml",
        Route::ok("application/rss+xml", feed_xml("t4", 1)),
    );
    let s = state(dir.path(), "down");
    let now = s.next_poll_at + chrono::Duration::seconds(1);
    vigie::ingest::poll_feeds(&rt, &["down".to_string()], now).await;
    let s = state(dir.path(), "down");
    assert_eq!(s.error_count, 0);
    assert_eq!((s.next_poll_at - now).num_seconds(), 600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_on_429_and_503_is_honoured() {
    let http = HttpServer::start().await;
    let mut r429 = Route::status(429);
    r429.headers.push(("Retry-After".into(), "7200".into()));
    http.route("/busy.xml", r429);
    let mut r503 = Route::status(503);
    let when = (Utc::now() + chrono::Duration::hours(3)).to_rfc2822();
    r503.headers.push(("Retry-After".into(), when));
    http.route("/maint.xml", r503);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        "interval = \"5m\"",
        &[
            ("busy", http.url("/busy.xml")),
            ("maint", http.url("/maint.xml")),
        ],
    );
    let out = vigie(&cfg, &["poll"]).await;
    let s = stdout(&out);
    assert!(
        line(&s, "busy").contains("HTTP 429") && line(&s, "busy").contains("retry after 7200s"),
        "{s}"
    );
    assert!(line(&s, "maint").contains("HTTP 503"), "{s}");
    let busy = (state(dir.path(), "busy").next_poll_at - Utc::now()).num_seconds();
    assert!((7100..=7200).contains(&busy), "{busy}");
    let maint = (state(dir.path(), "maint").next_poll_at - Utc::now()).num_seconds();
    assert!((3 * 3600 - 120..=3 * 3600).contains(&maint), "{maint}");
    // A second `vigie poll` leaves both alone.
    let again = vigie(&cfg, &["poll"]).await;
    let s = stdout(&again);
    assert!(line(&s, "busy").contains("skipped"), "{s}");
    assert!(line(&s, "maint").contains("skipped"), "{s}");
    assert_eq!((http.hits("/busy.xml"), http.hits("/maint.xml")), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_301_moves_the_feed_and_a_302_does_not() {
    let http = HttpServer::start().await;
    http.route("/old.xml", Route::redirect(301, "/new.xml"));
    http.route(
        "/new.xml",
        Route::ok("application/rss+xml", feed_xml("t5", 2)),
    );
    http.route("/tmp.xml", Route::redirect(302, &http.url("/other.xml")));
    http.route(
        "/other.xml",
        Route::ok("application/rss+xml", feed_xml("t6", 1)),
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        "",
        &[
            ("moved", http.url("/old.xml")),
            ("temp", http.url("/tmp.xml")),
        ],
    );
    let first = vigie(&cfg, &["poll"]).await;
    let s = stdout(&first);
    assert!(line(&s, "moved").contains("2 new"), "{s}");
    assert!(line(&s, "temp").contains("1 new"), "{s}");
    let e = stderr(&first);
    assert!(
        e.contains("moved permanently") && e.contains("feed=moved"),
        "{e}"
    );
    assert!(
        !e.lines()
            .any(|l| l.contains("moved") && l.contains("feed=temp")),
        "{e}"
    );
    assert_eq!(state(dir.path(), "moved").url, http.url("/new.xml"));
    assert_eq!(state(dir.path(), "temp").url, http.url("/tmp.xml"));

    vigie(&cfg, &["poll"]).await;
    assert_eq!(
        http.hits("/old.xml"),
        1,
        "the moved feed is polled at its new URL"
    );
    assert_eq!(http.hits("/new.xml"), 2);
    assert_eq!(
        http.hits("/tmp.xml"),
        2,
        "a temporary redirect keeps the URL"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_410_disables_the_feed_and_feeds_list_says_so() {
    let http = HttpServer::start().await;
    http.route("/gone.xml", Route::status(410));
    http.route(
        "/ok.xml",
        Route::ok("application/rss+xml", feed_xml("t7", 2)),
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        "",
        &[
            ("gone", http.url("/gone.xml")),
            ("fine", http.url("/ok.xml")),
        ],
    );
    let first = vigie(&cfg, &["poll"]).await;
    let s = stdout(&first);
    assert!(
        line(&s, "gone").contains("410") && line(&s, "gone").contains("disabled"),
        "{s}"
    );
    let e = stderr(&first);
    assert!(
        e.contains("WARN") && e.contains("feed=gone") && e.contains("410"),
        "{e}"
    );

    let list = vigie(&cfg, &["feeds", "list"]).await;
    assert!(list.status.success(), "{}", stderr(&list));
    let l = stdout(&list);
    assert!(line(&l, "gone").contains("disabled: HTTP 410 Gone"), "{l}");
    assert!(line(&l, "fine").contains("ok"), "{l}");

    // Never polled again, by `vigie poll` or the daemon.
    let again = vigie(&cfg, &["poll"]).await;
    assert!(line(&stdout(&again), "gone").contains("skipped      disabled"));
    assert_eq!(http.hits("/gone.xml"), 1);
    let store = open_store(&cfg);
    let due = store
        .due_feeds(Utc::now() + chrono::Duration::days(30))
        .unwrap();
    assert_eq!(due, vec!["fine".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_interval_follows_the_publishing_rate() {
    let now = Utc::now();
    let dated = |every: chrono::Duration| -> String {
        let items: Vec<FeedItem> = (0..10)
            .map(|i| {
                let mut it = FeedItem::new(&format!("{i}"), "t", &format!("http://e.org/{i}"), "x");
                it.date = Some(now - every * i);
                it
            })
            .collect();
        rss("f", &items, "UTF-8")
    };
    let http = HttpServer::start().await;
    http.route(
        "/hourly.xml",
        Route::ok("application/rss+xml", dated(chrono::Duration::hours(1))),
    );
    http.route(
        "/busy.xml",
        Route::ok("application/rss+xml", dated(chrono::Duration::minutes(1))),
    );
    http.route(
        "/weekly.xml",
        Route::ok("application/rss+xml", dated(chrono::Duration::days(7))),
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        "interval = \"auto\"",
        &[
            ("hourly", http.url("/hourly.xml")),
            ("busy", http.url("/busy.xml")),
            ("weekly", http.url("/weekly.xml")),
        ],
    );
    vigie(&cfg, &["poll"]).await;
    let interval = |n: &str| state(dir.path(), n).interval_secs.unwrap();
    assert!(
        (1700..=1900).contains(&interval("hourly")),
        "{}",
        interval("hourly")
    );
    assert_eq!(interval("busy"), 300);
    assert_eq!(interval("weekly"), 86_400);
    let next = (state(dir.path(), "hourly").next_poll_at - Utc::now()).num_seconds();
    assert!((1600..=1900).contains(&next), "{next}");
    let list = stdout(&vigie(&cfg, &["feeds", "list"]).await);
    assert!(line(&list, "weekly").contains("1d"), "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_host_and_global_limits_hold() {
    let http = HttpServer::start().await;
    let mut feeds = Vec::new();
    for i in 0..6 {
        let mut r = Route::ok("application/rss+xml", feed_xml("t8", 1));
        r.delay = Some(Duration::from_millis(300));
        let path = format!("/slow{i}.xml");
        http.route(&path, r);
        feeds.push((format!("slow{i}"), http.url(&path)));
    }
    let feeds: Vec<(&str, String)> = feeds.iter().map(|(n, u)| (n.as_str(), u.clone())).collect();
    // Every feed is on one host (127.0.0.1): per_host = 2 caps requests in flight at 2.
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "concurrency = 32\nper_host = 2", &feeds);
    let out = vigie(&cfg, &["poll"]).await;
    assert!(
        stdout(&out).contains("6 feeds, 0 failed"),
        "{}",
        stdout(&out)
    );
    assert!(http.max_concurrent() <= 2, "{}", http.max_concurrent());
    // And the global limit, when it is the smaller one.
    let http2 = HttpServer::start().await;
    for i in 0..6 {
        let mut r = Route::ok("application/rss+xml", feed_xml("t9", 1));
        r.delay = Some(Duration::from_millis(300));
        http2.route(&format!("/slow{i}.xml"), r);
    }
    let feeds2: Vec<(String, String)> = (0..6)
        .map(|i| (format!("slow{i}"), http2.url(&format!("/slow{i}.xml"))))
        .collect();
    let feeds2: Vec<(&str, String)> = feeds2
        .iter()
        .map(|(n, u)| (n.as_str(), u.clone()))
        .collect();
    let dir2 = tempfile::tempdir().unwrap();
    let cfg2 = config(dir2.path(), "concurrency = 1\nper_host = 8", &feeds2);
    let out = vigie(&cfg2, &["poll"]).await;
    assert!(
        stdout(&out).contains("6 feeds, 0 failed"),
        "{}",
        stdout(&out)
    );
    assert_eq!(http2.max_concurrent(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charsets_from_http_declaration_or_sniffing_are_decoded() {
    let http = HttpServer::start().await;
    let doc = |decl: &str, title: &[u8]| -> Vec<u8> {
        let mut v = format!("<?xml version=\"1.0\"{decl}?><rss version=\"2.0\"><channel><title>c</title><item><guid>1</guid><title>").into_bytes();
        v.extend_from_slice(title);
        v.extend_from_slice(b"</title></item></channel></rss>");
        v
    };
    // KOI8-R named only by the Content-Type header.
    http.route(
        "/koi8.xml",
        Route::ok(
            "text/xml; charset=koi8-r",
            doc("", b"\xf0\xc1\xcc\xd8\xcd\xc9\xd2\xc1"),
        ),
    );
    // The header wins over a wrong declaration.
    http.route(
        "/override.xml",
        Route::ok(
            "application/rss+xml; charset=\"windows-1251\"",
            doc(
                " encoding=\"iso-8859-1\"",
                b"\xcf\xe0\xeb\xfc\xec\xe8\xf0\xe0",
            ),
        ),
    );
    // Declared in the prolog only.
    http.route(
        "/latin1.xml",
        Route::ok(
            "application/rss+xml",
            doc(" encoding=\"ISO-8859-1\"", b"Gen\xe8ve"),
        ),
    );
    // Declared nowhere, not UTF-8: windows-1252.
    http.route(
        "/sniffed.xml",
        Route::ok(
            "application/rss+xml",
            doc("", b"\x93Alep\x94 \x96 d\xe9j\xe0"),
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        "",
        &[
            ("koi8", http.url("/koi8.xml")),
            ("override", http.url("/override.xml")),
            ("latin1", http.url("/latin1.xml")),
            ("sniffed", http.url("/sniffed.xml")),
        ],
    );
    let out = vigie(&cfg, &["poll"]).await;
    assert!(
        stdout(&out).contains("4 feeds, 0 failed"),
        "{}",
        stdout(&out)
    );
    let store = open_store(&cfg);
    let db = store.conn();
    let title = |feed: &str| -> String {
        db.query_row(
            "SELECT a.title FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE f.name = ?1",
            [feed],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(title("koi8"), "Пальмира");
    assert_eq!(title("override"), "Пальмира");
    assert_eq!(title("latin1"), "Genève");
    assert_eq!(title("sniffed"), "“Alep” – déjà");
}
