//! Several `vigie run` on one PostgreSQL (issue 18), against a real PostgreSQL the tests
//! start (`support::pg`): three daemons share 40 feeds and two of them are SIGKILLed while
//! they poll and send — every alert still arrives once by Message-ID, every article is
//! stored once, every feed is polled; the leader is killed while a digest is due — the next
//! leader sends it, once.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::http::{HttpServer, Route};
use crate::support::smtp::SmtpServer;
use crate::support::*;

const WORDS: [&str; 3] = ["Palmyre", "Raqqa", "Alep"];
const FEEDS: usize = 40;
const ALERTING: usize = 30; // 10 per watch, each watch to its own desk: under the flood limit

/// One daemon's configuration folder: its own `state_dir`, the shared database.
fn daemon_config(
    dir: &Path,
    url: &str,
    http: &HttpServer,
    smtp: &SmtpServer,
    extra: &str,
) -> PathBuf {
    let feeds: Vec<(String, String)> = (0..FEEDS)
        .map(|i| (format!("f{i:02}"), http.url(&format!("/f{i:02}.xml"))))
        .collect();
    let feeds: Vec<(&str, String)> = feeds.iter().map(|(n, u)| (n.as_str(), u.clone())).collect();
    let main = format!(
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n[poll]\ntimeout = \"2s\"\nconcurrency = 4\n\n{}\n{}{extra}\n[store]\nurl = \"{url}\"\n",
        feeds_toml(&feeds),
        smtp_toml(smtp.addr.port()),
    );
    let mut rules = String::new();
    for w in WORDS {
        rules.push_str(&format!(
            "[[watch]]\nname = \"{}\"\nquery = '{w}'\nalert = \"immediate\"\nto = [\"{}@example.org\"]\n\n",
            w.to_lowercase(),
            w.to_lowercase()
        ));
    }
    std::fs::create_dir_all(dir).unwrap();
    write_config(dir, &main, &rules)
}

/// Feed `i` carries one article: an alert for one of the watches for the first 30, nothing
/// for the others. Each answer takes 300 ms, so that kills land while polls run.
fn publish(http: &HttpServer) {
    for i in 0..FEEDS {
        let title = match i < ALERTING {
            true => format!("Dépêche {i:02} : {}", WORDS[i % WORDS.len()]),
            false => format!("Dépêche {i:02} : la météo"),
        };
        let item = FeedItem::new(
            &format!("c{i:02}"),
            &title,
            &format!("https://elwatan.example/c{i:02}"),
            &format!("Les nouvelles numéro {i:02} de ce jour."),
        );
        let mut route = Route::ok(
            "application/rss+xml",
            rss(&format!("Fil {i}"), &[item], "UTF-8"),
        );
        route.delay = Some(Duration::from_millis(300));
        http.route(&format!("/f{i:02}.xml"), route);
    }
}

fn count(cfg: &Path, sql: &str) -> i64 {
    open_store(cfg)
        .conn()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_daemons_two_killed_every_alert_once_every_article_once_every_feed_polled() {
    let (http, smtp) = (HttpServer::start().await, SmtpServer::start().await);
    // A slow mail server: kills land while emails are in flight.
    smtp.set_delay(Duration::from_millis(40));
    publish(&http);
    let url = crate::support::pg::shared().database();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfgs: Vec<PathBuf> = (0..3)
        .map(|k| {
            // The survivor answers /healthz and /metrics.
            let server = match k {
                2 => format!("{DIGEST_TOML}\n[server]\nlisten = \"127.0.0.1:{port}\"\n"),
                _ => DIGEST_TOML.to_string(),
            };
            daemon_config(
                &dir.path().join(format!("d{k}")),
                &url,
                &http,
                &smtp,
                &server,
            )
        })
        .collect();
    let mut daemons: Vec<Running> = cfgs.iter().map(|c| spawn_vigie(c, &["run"])).collect();

    tokio::time::sleep(Duration::from_millis(1_500)).await;
    daemons[0].child.start_kill().unwrap(); // SIGKILL
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    daemons[1].child.start_kill().unwrap();
    for d in &mut daemons[..2] {
        let _ = d.child.wait().await;
    }

    // The survivor takes over what the killed ones held: their feeds once the leases
    // lapse (2 × the 2 s timeout + 10 s), their unsent alerts at once.
    let unique = |smtp: &SmtpServer| smtp.message_ids().into_iter().collect::<HashSet<_>>().len();
    let cfg = &cfgs[2];
    let done = eventually(90, || {
        unique(&smtp) >= ALERTING
            && count(
                cfg,
                "SELECT COUNT(*) FROM feeds WHERE last_success_at IS NULL",
            ) == 0
    })
    .await;
    let logs: Vec<String> = daemons.iter().map(Running::log).collect();
    assert!(
        done,
        "not all alerts or polls after 90 s:\n{}",
        logs.join("\n-----\n")
    );
    // Let a late duplicate show, if there were to be one.
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The survivor leads now, and sees the others as they last spoke.
    let (code, health) = crate::daemon::get(&format!("http://127.0.0.1:{port}/healthz")).await;
    assert_eq!(code, 200, "{health}");
    assert!(health.contains("role: leader"), "{health}");
    assert_eq!(health.matches("peer: ").count(), 2, "{health}");
    let (_, metrics) = crate::daemon::get(&format!("http://127.0.0.1:{port}/metrics")).await;
    assert!(metrics.contains("vigie_leader 1"), "{metrics}");
    assert!(metrics.contains("vigie_instances 3"), "{metrics}");
    daemons[2].signal("TERM").await;
    let _ = daemons[2].child.wait().await;

    let msgs = smtp.messages();
    let by_id = smtp.alerts_by_message_id("three daemons");
    let expected: HashSet<(String, String)> = (0..ALERTING)
        .map(|i| {
            let w = WORDS[i % WORDS.len()].to_lowercase();
            (
                format!("{w}@example.org"),
                format!("[vigie] {w}: Dépêche {i:02} : {}", WORDS[i % WORDS.len()]),
            )
        })
        .collect();
    let received: HashSet<(String, String)> = by_id.values().cloned().collect();
    assert_eq!(received, expected, "every alert, under one Message-ID each");
    // A kill between the server's acceptance and the outbox's mark resends that one email,
    // under its Message-ID: at most one per kill.
    let resent = msgs.len() - by_id.len();
    assert!(resent <= 2, "{resent} emails sent twice");

    assert_eq!(count(cfg, "SELECT COUNT(*) FROM articles"), FEEDS as i64);
    assert_eq!(
        count(cfg, "SELECT COUNT(DISTINCT key) FROM articles"),
        FEEDS as i64
    );
    assert_eq!(count(cfg, "SELECT COUNT(*) FROM matches"), ALERTING as i64);
    assert_eq!(
        count(cfg, "SELECT COUNT(*) FROM deliveries WHERE status = 'sent'"),
        ALERTING as i64
    );
    for i in 0..FEEDS {
        assert!(
            http.hits(&format!("/f{i:02}.xml")) >= 1,
            "feed f{i:02} never fetched"
        );
    }
    // The work was shared: more than one daemon polled.
    let polled: Vec<usize> = logs
        .iter()
        .map(|l| l.matches("vigie::ingest: polled").count())
        .collect();
    assert!(
        polled.iter().filter(|&&n| n > 0).count() >= 2,
        "polls per daemon: {polled:?}"
    );
    eprintln!(
        "cluster: polls per daemon {polled:?}, {} alerts, {resent} resent under the same Message-ID, feed fetches {}",
        by_id.len(),
        (0..FEEDS)
            .map(|i| http.hits(&format!("/f{i:02}.xml")))
            .sum::<usize>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_killed_while_a_digest_is_due_the_next_leader_sends_it_once() {
    let (http, smtp) = (HttpServer::start().await, SmtpServer::start().await);
    let item = FeedItem::new(
        "d1",
        "Palmyre : la ville reprise",
        "https://elwatan.example/d1",
        "Les nouvelles de Palmyre ce jour.",
    );
    http.route(
        "/f.xml",
        Route::ok("application/rss+xml", rss("Fil", &[item], "UTF-8")),
    );
    let url = crate::support::pg::shared().database();
    let dir = tempfile::tempdir().unwrap();
    // A digest every minute, to two desks; the watch alerts by digest only.
    let main = |k: usize| {
        format!(
            "state_dir = \"state\"\nrules = [\"rules.toml\"]\n{}\n{}\n[[digest]]\nname = \"minute\"\ncron = \"* * * * *\"\ntimezone = \"UTC\"\nto = [\"desk@example.org\", \"chief@example.org\"]\n[store]\nurl = \"{url}\"\n# daemon {k}\n",
            feeds_toml(&[("fil", http.url("/f.xml"))]),
            smtp_toml(smtp.addr.port()),
        )
    };
    let rules = "[[watch]]\nname = \"palmyre\"\nquery = 'Palmyre'\nalert = \"digest\"\n";
    let cfgs: Vec<PathBuf> = (0..2)
        .map(|k| {
            let d = dir.path().join(format!("d{k}"));
            std::fs::create_dir_all(&d).unwrap();
            write_config(&d, &main(k), rules)
        })
        .collect();
    // The first daemon leads; it has stored the match before the second one starts.
    let leader = spawn_vigie(&cfgs[0], &["run"]);
    assert!(
        eventually(20, || leader.log().contains("this instance now leads")
            && count(&cfgs[0], "SELECT COUNT(*) FROM deliveries") == 2)
        .await,
        "{}",
        leader.log()
    );
    let mut follower = spawn_vigie(&cfgs[1], &["run"]);
    assert!(eventually(20, || follower.log().contains("vigie running")).await);
    // The mail server now takes 30 s per email: the leader will be killed in the middle
    // of sending the digest, once it is due and built.
    smtp.set_delay(Duration::from_secs(30));
    let mut leader = leader;
    assert!(
        eventually(75, || leader.log().contains("digest built")).await,
        "{}",
        leader.log()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    leader.child.start_kill().unwrap(); // SIGKILL
    let _ = leader.child.wait().await;
    smtp.set_delay(Duration::ZERO);
    assert!(
        !follower.log().contains("this instance now leads"),
        "the follower led before the leader died:\n{}",
        follower.log()
    );

    // The digest the leader built is sent (by the follower), and the follower leads.
    let both = |smtp: &SmtpServer| {
        let to: HashSet<String> = smtp.messages().iter().flat_map(|m| m.to.clone()).collect();
        to.contains("desk@example.org") && to.contains("chief@example.org")
    };
    assert!(
        eventually(60, || both(&smtp)).await,
        "digest not sent after the leader died:\n{}",
        follower.log()
    );
    // Any instance sends a digest that is built, so the follower may send it before it
    // sees the dead leader's session end; it leads soon after all the same.
    assert!(
        eventually(30, || follower.log().contains("this instance now leads")).await,
        "the follower never led after the leader died:\n{}",
        follower.log()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    follower.signal("TERM").await;
    let _ = follower.child.wait().await;

    // One digest per desk, under one Message-ID each; sent once (the email the killed
    // leader had handed over may arrive again, under its Message-ID).
    let msgs = smtp.messages();
    let ids: HashSet<String> = msgs.iter().filter_map(|m| m.header("Message-ID")).collect();
    assert_eq!(ids.len(), 2, "one digest per desk: {ids:?}");
    assert!(msgs.len() <= 3, "{} emails for 2 digests", msgs.len());
    assert!(
        msgs.iter()
            .all(|m| m.header("Subject").unwrap_or_default().contains("minute")),
        "{:?}",
        msgs.iter().map(|m| m.header("Subject")).collect::<Vec<_>>()
    );
    assert_eq!(
        count(
            &cfgs[1],
            "SELECT COUNT(*) FROM batches WHERE status = 'sent'"
        ),
        2
    );
    let _ = &mut follower;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_costs_a_daemon_nothing_but_the_wait() {
    let (http, smtp) = (HttpServer::start().await, SmtpServer::start().await);
    let item = |n: usize| {
        FeedItem::new(
            &format!("r{n}"),
            &format!("Palmyre : dépêche {n}"),
            &format!("https://elwatan.example/r{n}"),
            &format!("Les nouvelles numéro {n} de Palmyre."),
        )
    };
    http.route(
        "/f.xml",
        Route::ok("application/rss+xml", rss("Fil", &[item(1)], "UTF-8")),
    );
    // A server of its own: restarting it must not disturb the other tests' databases.
    let pg = crate::support::pg::Pg::start_tcp();
    let dir = tempfile::tempdir().unwrap();
    let main = format!(
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n{}\ninterval = \"1s\"\n{}{DIGEST_TOML}\n[store]\nurl = \"{}\"\n",
        feeds_toml(&[("fil", http.url("/f.xml"))]),
        smtp_toml(smtp.addr.port()),
        pg.database()
    );
    let rules = "[[watch]]\nname = \"palmyre\"\nquery = 'Palmyre'\nalert = \"immediate\"\nto = [\"duty@example.org\"]\n";
    let cfg = write_config(dir.path(), &main, rules);
    let mut d = spawn_vigie(&cfg, &["run"]);
    // Restarted once the first alert is marked sent (not merely received).
    assert!(
        eventually(20, || d.log().contains("alert sent")).await,
        "{}",
        d.log()
    );

    pg.restart();
    http.route(
        "/f.xml",
        Route::ok(
            "application/rss+xml",
            rss("Fil", &[item(1), item(2)], "UTF-8"),
        ),
    );
    // The daemon connects again by itself: the second article alerts, once; it leads again.
    assert!(
        eventually(30, || smtp.messages().len() >= 2).await,
        "no alert after the database restarted:\n{}",
        d.log()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(smtp.messages().len(), 2, "{}", d.log());
    assert!(d.log().contains("connection was made again"), "{}", d.log());
    // The leader's lock went with the old connection; the new one holds it again.
    let leader_locks = || {
        count(
            &cfg,
            "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND objid = 7316113",
        )
    };
    assert!(eventually(20, || leader_locks() == 1).await, "{}", d.log());
    d.signal("TERM").await;
    let _ = d.child.wait().await;
}
