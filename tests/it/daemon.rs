//! The daemon as operators live with it: reload without restart, clean shutdown on
//! SIGTERM, /healthz and /metrics.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::http::{HttpServer, Route};
use crate::support::smtp::SmtpServer;
use crate::support::*;

const PALMYRE: &str = "[[watch]]\nname = \"palmyre\"\nquery = 'Palmyre'\nalert = \"immediate\"\nto = [\"duty@example.org\"]\n";

fn publish(http: &HttpServer, items: &[(&str, &str)]) {
    let items: Vec<FeedItem> = items
        .iter()
        .map(|(id, title)| FeedItem::new(id, title, &format!("http://example.org/{id}"), "texte"))
        .collect();
    http.route(
        "/feed.xml",
        Route::ok("application/rss+xml", rss("fil", &items, "UTF-8")),
    );
}

fn config(dir: &Path, http: &HttpServer, smtp: &SmtpServer, extra: &str) -> std::path::PathBuf {
    let main = format!(
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n{extra}\n[poll]\ninterval = \"1s\"\ntimeout = \"30s\"\n{}\n{}",
        feeds_toml(&[("fil", http.url("/feed.xml"))]),
        smtp_toml(smtp.addr.port())
    );
    write_config(dir, &main, PALMYRE)
}

fn subjects(smtp: &SmtpServer) -> Vec<String> {
    smtp.messages()
        .iter()
        .filter_map(|m| m.header("Subject"))
        .collect()
}

async fn stop(mut d: Running) -> std::process::ExitStatus {
    d.signal("TERM").await;
    let started = Instant::now();
    let status = tokio::time::timeout(Duration::from_secs(10), d.child.wait())
        .await
        .expect("exits within 10 s of SIGTERM")
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_reload_without_restart_and_a_bad_change_keeps_the_old_watches() {
    let (http, smtp) = (HttpServer::start().await, SmtpServer::start().await);
    let dir = tempfile::tempdir().unwrap();
    publish(&http, &[("a", "Palmyre : premier article")]);
    let cfg = config(dir.path(), &http, &smtp, "");
    let d = spawn_vigie(&cfg, &["run"]);
    assert!(
        eventually(20, || subjects(&smtp).len() == 1).await,
        "first alert: {}",
        d.log()
    );

    // The rule file gains a watch: reloaded without a restart…
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, format!("{PALMYRE}\n[[watch]]\nname = \"alep\"\nquery = 'Alep'\nalert = \"immediate\"\nto = [\"duty@example.org\"]\n")).unwrap();
    assert!(
        eventually(5, || d.log().contains("configuration reloaded")).await,
        "{}",
        d.log()
    );
    // …and the next new article fires it within 5 s.
    publish(
        &http,
        &[
            ("a", "Palmyre : premier article"),
            ("b", "Alep sous les bombes"),
        ],
    );
    assert!(
        eventually(5, || subjects(&smtp)
            .iter()
            .any(|s| s.contains("alep: Alep sous les bombes")))
        .await,
        "{:?}\n{}",
        subjects(&smtp),
        d.log()
    );

    // An invalid change is logged, and the running watches keep firing.
    std::fs::write(
        &rules,
        "[[watch]]\nname = \"palmyre\"\nquery = '(Palmyre'\n",
    )
    .unwrap();
    assert!(
        eventually(5, || d.log().contains("new configuration is invalid")).await,
        "{}",
        d.log()
    );
    assert!(
        d.log().contains("rules.toml:3:10"),
        "the fault is located: {}",
        d.log()
    );
    publish(
        &http,
        &[
            ("a", "Palmyre : premier article"),
            ("b", "Alep sous les bombes"),
            ("c", "Palmyre, encore"),
        ],
    );
    assert!(
        eventually(5, || subjects(&smtp)
            .iter()
            .any(|s| s.contains("palmyre: Palmyre, encore")))
        .await,
        "{:?}",
        subjects(&smtp)
    );

    // SIGHUP reloads too (here: the still-invalid file is reported again).
    let before = d.log().matches("new configuration is invalid").count();
    d.signal("HUP").await;
    assert!(
        eventually(5, || d
            .log()
            .matches("new configuration is invalid")
            .count()
            > before)
        .await
    );

    let status = stop(d).await;
    assert_eq!(status.code(), Some(0));
    assert_eq!(subjects(&smtp).len(), 3, "{:?}", subjects(&smtp));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_poll_exits_cleanly_and_nothing_is_sent_twice() {
    let (http, smtp) = (HttpServer::start().await, SmtpServer::start().await);
    let dir = tempfile::tempdir().unwrap();
    publish(&http, &[("a", "Palmyre reprise")]);
    // A second feed that answers only after the grace period: the poll is in flight.
    let mut slow = Route::ok("application/rss+xml", rss("slow", &[], "UTF-8"));
    slow.delay = Some(Duration::from_secs(60));
    http.route("/slow.xml", slow);
    let main = format!(
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n[poll]\ninterval = \"1s\"\ntimeout = \"90s\"\n{}\n{}",
        feeds_toml(&[
            ("fil", http.url("/feed.xml")),
            ("slow", http.url("/slow.xml"))
        ]),
        smtp_toml(smtp.addr.port())
    );
    let cfg = write_config(dir.path(), &main, PALMYRE);
    let d = spawn_vigie(&cfg, &["run"]);
    assert!(
        eventually(20, || http.hits("/slow.xml") == 1
            && http.hits("/feed.xml") == 1)
        .await
    );
    // Let the fast feed's article be stored before stopping.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = stop(d).await;
    assert_eq!(status.code(), Some(0));

    let store = open_store(&cfg);
    assert!(store.integrity_ok().unwrap());
    drop(store);

    // After a restart the alert goes out once, whether or not it went before.
    http.route(
        "/slow.xml",
        Route::ok("application/rss+xml", rss("slow", &[], "UTF-8")),
    );
    for _ in 0..2 {
        let out = vigie(&cfg, &["poll"]).await;
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let ids: Vec<String> = smtp
        .messages()
        .iter()
        .filter_map(|m| m.header("Message-ID"))
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
}

pub(crate) async fn get(url: &str) -> (u16, String) {
    vigie::fetch::install_crypto_provider();
    let r = reqwest::get(url).await.expect("GET");
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

fn counter(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_both_ways_and_metrics_move() {
    let (http, smtp) = (HttpServer::start().await, SmtpServer::start().await);
    let dir = tempfile::tempdir().unwrap();
    publish(&http, &[("a", "Palmyre reprise")]);
    let port = free_port();
    let cfg = config(
        dir.path(),
        &http,
        &smtp,
        &format!("[server]\nlisten = \"127.0.0.1:{port}\"\n"),
    );
    let d = spawn_vigie(&cfg, &["run"]);
    let base = format!("http://127.0.0.1:{port}");
    assert!(
        eventually(20, || subjects(&smtp).len() == 1).await,
        "{}",
        d.log()
    );
    let (code, body) = get(&format!("{base}/healthz")).await;
    assert_eq!((code, body.lines().next()), (200, Some("ok")), "{body}");
    assert!(body.contains("role: leader"), "{body}");

    let (status, first) = get(&format!("{base}/metrics")).await;
    assert_eq!(status, 200);
    assert!(
        counter(&first, "vigie_articles_stored_total") >= 1.0,
        "{first}"
    );
    assert!(counter(&first, "vigie_matches_total") >= 1.0, "{first}");
    assert!(
        first.contains("vigie_poll_duration_seconds_bucket"),
        "{first}"
    );
    assert!(
        first.contains("vigie_deliveries{state=\"sent\"} 1"),
        "{first}"
    );
    let polls = |m: &str| {
        counter(m, "vigie_polls_total{outcome=\"ok\"}")
            + counter(m, "vigie_polls_total{outcome=\"not_modified\"}")
    };
    let before = polls(&first);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, second) = get(&format!("{base}/metrics")).await;
    assert!(
        polls(&second) > before,
        "polls did not move: {before} then {}",
        polls(&second)
    );

    // A SQLite file that cannot be written (held by another writer) is unhealthy… (a
    // PostgreSQL run has no such file; its health is the database's answer, seen above.)
    if !pg::backend_is_postgres() {
        let db = rusqlite::Connection::open(dir.path().join("state/vigie.db")).unwrap();
        db.execute_batch("BEGIN EXCLUSIVE").unwrap();
        let (code, body) = get(&format!("{base}/healthz")).await;
        assert_eq!(code, 503, "{body}");
        assert!(body.contains("database"), "{body}");
        // …and healthy again once it is released.
        db.execute_batch("ROLLBACK").unwrap();
        let mut healthy = false;
        for _ in 0..30 {
            if get(&format!("{base}/healthz")).await.0 == 200 {
                healthy = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        assert!(healthy);
    }
    assert_eq!(get(&format!("{base}/nope")).await.0, 404);
    assert_eq!(stop(d).await.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_added_and_removed_by_a_reload_take_effect_without_restart() {
    let (http, smtp) = (HttpServer::start().await, SmtpServer::start().await);
    let dir = tempfile::tempdir().unwrap();
    publish(&http, &[("a", "Palmyre : premier article")]);
    let other = rss(
        "autre",
        &[FeedItem::new(
            "b",
            "Palmyre vue d'ailleurs",
            "http://example.org/b",
            "texte",
        )],
        "UTF-8",
    );
    http.route("/other.xml", Route::ok("application/rss+xml", other));
    let cfg = config(dir.path(), &http, &smtp, "");
    let d = spawn_vigie(&cfg, &["run"]);
    assert!(
        eventually(20, || subjects(&smtp).len() == 1).await,
        "{}",
        d.log()
    );

    // Add a feed: polled without a restart.
    let with_both = std::fs::read_to_string(&cfg).unwrap()
        + &format!(
            "\n[[feed]]\nname = \"autre\"\nurl = \"{}\"\nfulltext = \"never\"\n",
            http.url("/other.xml")
        );
    std::fs::write(&cfg, &with_both).unwrap();
    assert!(
        eventually(8, || subjects(&smtp)
            .iter()
            .any(|s| s.contains("Palmyre vue d'ailleurs")))
        .await,
        "{:?}\n{}",
        subjects(&smtp),
        d.log()
    );

    // Remove the first feed: it is no longer polled.
    let only_other = with_both.replace(
        &format!(
            "[[feed]]\nname = \"fil\"\nurl = \"{}\"\nfulltext = \"never\"\n",
            http.url("/feed.xml")
        ),
        "",
    );
    assert_ne!(only_other, with_both);
    std::fs::write(&cfg, &only_other).unwrap();
    let reloads = d.log().matches("configuration reloaded").count();
    assert!(
        eventually(5, || d.log().matches("configuration reloaded").count()
            > reloads)
        .await
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let hits = http.hits("/feed.xml");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        http.hits("/feed.xml"),
        hits,
        "a removed feed is still polled"
    );
    assert!(http.hits("/other.xml") >= 2);
    assert_eq!(stop(d).await.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_removed_by_a_reload_no_longer_wakes_the_daemon() {
    let (http, smtp) = (HttpServer::start().await, SmtpServer::start().await);
    let dir = tempfile::tempdir().unwrap();
    publish(&http, &[("a", "Palmyre : premier article")]);
    http.route(
        "/quick.xml",
        Route::ok("application/rss+xml", rss("quick", &[], "UTF-8")),
    );
    // "fil" is due again in an hour; "quick" every 2 seconds, until it is removed.
    let quick = format!(
        "[[feed]]\nname = \"quick\"\nurl = \"{}\"\ninterval = \"2s\"\nfulltext = \"never\"\n",
        http.url("/quick.xml")
    );
    let main = format!(
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n[poll]\ninterval = \"1h\"\n{}\n{quick}\n{}",
        feeds_toml(&[("fil", http.url("/feed.xml"))]),
        smtp_toml(smtp.addr.port())
    );
    let cfg = write_config(dir.path(), &main, PALMYRE);
    let d = spawn_vigie_logging(&cfg, &["run"], "info,vigie::daemon=debug");
    assert!(
        eventually(20, || http.hits("/quick.xml") >= 2).await,
        "{}",
        d.log()
    );
    std::fs::write(&cfg, main.replace(&quick, "")).unwrap();
    assert!(
        eventually(10, || d.log().contains("configuration reloaded")).await,
        "{}",
        d.log()
    );
    // Once the removed feed's next poll time has passed, nothing is due for an hour.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let sleeps = |log: &str| log.matches("sleeping until the next feed is due").count();
    let (before, polls) = (sleeps(&d.log()), http.hits("/quick.xml"));
    tokio::time::sleep(Duration::from_secs(6)).await;
    let woke = sleeps(&d.log()) - before;
    assert!(
        woke <= 1,
        "woke {woke} times in 6 s with nothing due:\n{}",
        d.log()
    );
    assert_eq!(http.hits("/quick.xml"), polls);
    // Its articles stay, and it is not counted among the feeds being polled.
    let list = stdout(&vigie(&cfg, &["feeds", "list"]).await);
    assert!(!list.contains("quick"), "{list}");
    assert!(stop(d).await.success());
}

/// A feed that takes longer than systemd's watchdog interval: the other feeds are polled
/// on their interval meanwhile, the watchdog keeps being pinged, /healthz says ok, and a
/// reload takes effect before the slow feed is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_feed_holds_nothing_back_and_the_watchdog_keeps_being_fed() {
    use tokio::net::UnixDatagram;
    let (http, smtp) = (HttpServer::start().await, SmtpServer::start().await);
    let dir = tempfile::tempdir().unwrap();
    publish(&http, &[("a", "Palmyre : premier article")]);
    let slow = Route {
        delay: Some(Duration::from_secs(10)),
        ..Route::ok("application/rss+xml", rss("slow", &[], "UTF-8"))
    };
    http.route("/slow.xml", slow);
    for path in ["/quick.xml", "/late.xml"] {
        http.route(
            path,
            Route::ok("application/rss+xml", rss(path, &[], "UTF-8")),
        );
    }
    let port = free_port();
    let feed = |name: &str, path: &str, interval: &str| {
        format!(
            "[[feed]]\nname = \"{name}\"\nurl = \"{}\"\ninterval = \"{interval}\"\nfulltext = \"never\"\n",
            http.url(path)
        )
    };
    let main = format!(
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n[server]\nlisten = \"127.0.0.1:{port}\"\n\
         [poll]\ninterval = \"1h\"\ntimeout = \"20s\"\n{}{}{}\n{}",
        feed("slow", "/slow.xml", "1h"),
        feed("quick", "/quick.xml", "1s"),
        feeds_toml(&[("fil", http.url("/feed.xml"))]),
        smtp_toml(smtp.addr.port())
    );
    let cfg = write_config(dir.path(), &main, PALMYRE);
    // systemd's side of sd_notify: a datagram socket, and a 4 s watchdog (systemd would
    // kill the service after 4 s without a ping).
    let sock_path = dir.path().join("notify.sock");
    let notify = UnixDatagram::bind(&sock_path).unwrap();
    let pings = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Instant>::new()));
    let p = pings.clone();
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        while let Ok(n) = notify.recv(&mut buf).await {
            if String::from_utf8_lossy(&buf[..n]).contains("WATCHDOG=1") {
                p.lock().unwrap().push(Instant::now());
            }
        }
    });
    let env = [
        ("NOTIFY_SOCKET", sock_path.to_str().unwrap()),
        ("WATCHDOG_USEC", "4000000"),
    ];
    let d = spawn_vigie_env(&cfg, &["run"], "info", &env);
    assert!(
        eventually(20, || http.hits("/slow.xml") == 1).await,
        "{}",
        d.log()
    );
    let slow_asked = Instant::now();
    let quick_then = http.hits("/quick.xml");

    // A reload while the slow feed is on its way: a feed added is polled at once.
    std::fs::write(&cfg, format!("{main}\n{}", feed("late", "/late.xml", "1h"))).unwrap();
    assert!(
        eventually(6, || http.hits("/late.xml") == 1).await,
        "the reload waited:\n{}",
        d.log()
    );
    assert!(!d.log().contains("feed=slow new="), "{}", d.log());
    let (status, body) = get(&format!("http://127.0.0.1:{port}/healthz")).await;
    assert_eq!((status, body.lines().next()), (200, Some("ok")), "{body}");

    // Until the slow feed is done, the quick one keeps its 1 s interval.
    assert!(
        eventually(15, || d.log().contains("feed=slow new=")).await,
        "{}",
        d.log()
    );
    let slow_took = slow_asked.elapsed();
    let quick_polls = http.hits("/quick.xml") - quick_then;
    assert!(
        quick_polls >= 4,
        "quick polled {quick_polls} times while slow took {slow_took:?}"
    );
    // The watchdog was pinged all along, never 4 s apart.
    let pings = pings.lock().unwrap().clone();
    let during: Vec<&Instant> = pings.iter().filter(|t| **t >= slow_asked).collect();
    assert!(during.len() >= 3, "{} pings in {slow_took:?}", during.len());
    let longest = during
        .windows(2)
        .map(|w| w[1].duration_since(*w[0]))
        .max()
        .unwrap_or_default();
    assert!(longest < Duration::from_secs(4), "pings {longest:?} apart");
    assert!(stop(d).await.success());
}
