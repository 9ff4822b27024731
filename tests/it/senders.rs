//! Every process that sends, at once, on one store (contract §5, issue 23): the daemon beside
//! two `vigie poll`, a `vigie outbox retry` and two `vigie digest send`, with a slow mail
//! server, send every alert once by Message-ID and the digest once; a `vigie poll` killed
//! while it sends leaves its alert to the daemon, which sends it once; a flood summary marks
//! sent only the alerts it showed. On SQLite, and on PostgreSQL in the suite's second pass.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;

use crate::support::http::{HttpServer, Route};
use crate::support::smtp::SmtpServer;
use crate::support::*;

const WORDS: [&str; 3] = ["Palmyre", "Raqqa", "Alep"];

/// One feed: `alerts` items for three immediate watches (each to its own desk, under the
/// flood limit) and `bulletins` items for a digest watch.
fn setup(
    dir: &Path,
    http: &HttpServer,
    smtp: &SmtpServer,
    alerts: usize,
    bulletins: usize,
) -> PathBuf {
    let mut items: Vec<FeedItem> = (0..alerts)
        .map(|i| {
            FeedItem::new(
                &format!("a{i:02}"),
                &format!("Dépêche {i:02} : {}", WORDS[i % WORDS.len()]),
                &format!("https://elwatan.example/a{i:02}"),
                &format!("Les nouvelles numéro {i:02} de ce jour."),
            )
        })
        .collect();
    items.extend((0..bulletins).map(|i| {
        FeedItem::new(
            &format!("b{i:02}"),
            &format!("Bulletin {i:02} : Homs"),
            &format!("https://elwatan.example/b{i:02}"),
            "Le point du jour.",
        )
    }));
    let main = serve(http, smtp, &items);
    let mut rules = String::new();
    for w in WORDS {
        let l = w.to_lowercase();
        rules.push_str(&format!(
            "[[watch]]\nname = \"{l}\"\nquery = '{w}'\nalert = \"immediate\"\nto = [\"{l}@example.org\"]\n\n"
        ));
    }
    rules.push_str("[[watch]]\nname = \"homs\"\nquery = 'Homs'\ndigest = \"daily\"\n");
    write_config(dir, &main, &rules)
}

/// Serve `items` as the one feed and return the configuration's main file for it.
fn serve(http: &HttpServer, smtp: &SmtpServer, items: &[FeedItem]) -> String {
    http.route(
        "/feed.xml",
        Route::ok("application/rss+xml", rss("Fil", items, "UTF-8")),
    );
    format!(
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n{}\n{}{DIGEST_TOML}",
        feeds_toml(&[("fil", http.url("/feed.xml"))]),
        smtp_toml(smtp.addr.port()),
    )
}

fn count(cfg: &Path, sql: &str) -> i64 {
    open_store(cfg)
        .conn()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

/// How many times each Message-ID arrived.
fn tally(smtp: &SmtpServer) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for id in smtp.message_ids() {
        *seen.entry(id).or_insert(0) += 1;
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_and_every_sending_command_at_once_send_each_alert_and_the_digest_once() {
    let (http, smtp) = (HttpServer::start().await, SmtpServer::start().await);
    smtp.set_delay(Duration::from_millis(400));
    let dir = tempfile::tempdir().unwrap();
    let cfg = setup(dir.path(), &http, &smtp, 30, 5);
    let mut daemon = spawn_vigie(&cfg, &["run"]);
    let stored = eventually(60, || count(&cfg, "SELECT COUNT(*) FROM articles") == 35).await;
    assert!(stored, "the daemon's first poll: {}", daemon.log());

    // While the daemon sends (30 alerts at 0.4 s each), a user tries every command.
    let runs: [&[&str]; 5] = [
        &["poll"],
        &["poll"],
        &["outbox", "retry"],
        &["digest", "send", "daily"],
        &["digest", "send", "daily"],
    ];
    let (a, b, c, d, e) = tokio::join!(
        vigie(&cfg, runs[0]),
        vigie(&cfg, runs[1]),
        vigie(&cfg, runs[2]),
        vigie(&cfg, runs[3]),
        vigie(&cfg, runs[4]),
    );
    let outputs = [a, b, c, d, e];
    for (args, out) in runs.iter().zip(&outputs) {
        assert!(
            out.status.success(),
            "vigie {args:?}: {}{}",
            stdout(out),
            stderr(out)
        );
    }
    let done = eventually(90, || tally(&smtp).len() >= 31).await;
    assert!(done, "not every email after 90 s: {}", daemon.log());
    // Let a late duplicate show, if there were to be one.
    tokio::time::sleep(Duration::from_secs(2)).await;
    daemon.signal("TERM").await;
    let _ = daemon.child.wait().await;

    let seen = tally(&smtp);
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    let msgs = smtp.messages();
    assert_eq!(msgs.len(), 31, "30 alerts and one digest");
    let subjects: HashSet<String> = msgs.iter().filter_map(|m| m.header("Subject")).collect();
    for i in 0..30 {
        let w = WORDS[i % WORDS.len()];
        let s = format!("[vigie] {}: Dépêche {i:02} : {w}", w.to_lowercase());
        assert!(subjects.contains(&s), "{s} missing: {subjects:?}");
    }
    let digests: Vec<_> = msgs
        .iter()
        .filter(|m| m.to.contains(&"desk@example.org".to_string()))
        .collect();
    assert_eq!(digests.len(), 1, "one digest");
    let text = digests[0].text();
    for i in 0..5 {
        assert!(text.contains(&format!("Bulletin {i:02}")), "{text}");
    }
    // The second `digest send` found nothing left to build.
    let said: Vec<String> = outputs[3..].iter().map(stderr).collect();
    assert!(
        said.iter().any(|s| s.contains("nothing to send")),
        "{said:?}"
    );
    assert_eq!(
        count(
            &cfg,
            "SELECT COUNT(*) FROM deliveries WHERE status = 'sent'"
        ),
        35
    );
    assert_eq!(
        count(
            &cfg,
            "SELECT COUNT(*) FROM deliveries WHERE claim_owner IS NOT NULL"
        ),
        0,
        "every claim ends with its mark"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_killed_while_it_sends_leaves_its_alert_to_the_daemon_which_sends_it_once() {
    let (http, smtp) = (HttpServer::start().await, SmtpServer::start().await);
    // A server that takes a second before each message: a kill lands mid-send.
    smtp.set_delay(Duration::from_millis(1_000));
    let dir = tempfile::tempdir().unwrap();
    let cfg = setup(dir.path(), &http, &smtp, 3, 0);
    let mut poll = spawn_vigie(&cfg, &["poll"]);
    assert!(
        eventually(30, || !smtp.messages().is_empty()).await,
        "{}",
        poll.log()
    );
    // The first alert is marked within milliseconds; the second is then in flight.
    tokio::time::sleep(Duration::from_millis(300)).await;
    poll.child.start_kill().unwrap(); // SIGKILL
    let _ = poll.child.wait().await;
    assert_eq!(smtp.messages().len(), 1);
    assert_eq!(
        count(
            &cfg,
            "SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND claim_owner IS NOT NULL"
        ),
        1,
        "the killed poll's claim is left in the store"
    );

    let mut daemon = spawn_vigie(&cfg, &["run"]);
    let done = eventually(60, || tally(&smtp).len() >= 3).await;
    assert!(done, "{}", daemon.log());
    tokio::time::sleep(Duration::from_secs(2)).await;
    daemon.signal("TERM").await;
    let _ = daemon.child.wait().await;
    let log = daemon.log();
    assert!(
        log.contains("taking over an email whose sender is gone"),
        "{log}"
    );
    let seen = tally(&smtp);
    assert_eq!(seen.len(), 3);
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_that_joins_a_flood_summary_while_it_is_sent_is_sent_on_its_own_later() {
    let (http, smtp) = (HttpServer::start().await, SmtpServer::start().await);
    let dir = tempfile::tempdir().unwrap();
    // 22 alerts for one watch and desk in one hour: 20 on their own, 2 folded.
    let items: Vec<FeedItem> = (0..22)
        .map(|i| {
            FeedItem::new(
                &format!("d{i:02}"),
                &format!("Palmyre, dépêche {i:02}"),
                &format!("https://elwatan.example/d{i:02}"),
                "Nouvelles de Palmyre.",
            )
        })
        .collect();
    let main = serve(&http, &smtp, &items);
    let cfg = write_config(
        dir.path(),
        &main,
        "[[watch]]\nname = \"palmyre\"\nquery = 'Palmyre'\nalert = \"immediate\"\nto = [\"duty@example.org\"]\n",
    );
    let out = vigie(&cfg, &["poll"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(smtp.messages().len(), 20);

    let config = vigie::config::load(&cfg).unwrap();
    let store = vigie::store::StoreHandle::new(
        vigie::store::Store::open_config(&config.state_dir, config.store.as_ref()).unwrap(),
    );
    let mailer = vigie::deliver::Mailer::new(&config.mail, &config.channels).unwrap();
    let later = Utc::now() + chrono::Duration::hours(1);
    // The hour ended: the summary goes out, slowly.
    smtp.set_delay(Duration::from_millis(1_500));
    let before = smtp.connections();
    let sending = {
        let (store, config) = (store.clone(), config.clone());
        tokio::spawn(async move {
            vigie::deliver::deliver_due(&store, &mailer, &config, later)
                .await
                .unwrap()
        })
    };
    assert!(eventually(30, || smtp.connections() > before).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Meanwhile an article written with the hour's clock folds one more alert into it.
    let other = open_store(&cfg);
    let c = other.conn();
    let batch: i64 = c
        .query_row("SELECT id FROM batches WHERE kind = 'flood'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let article = c
        .insert(
            "INSERT INTO articles (key, feed_id, title_hash, title, summary, content, content_hash, first_seen_at)
             VALUES ('late', 1, 'h', 'Palmyre, la dépêche tardive', '', '', 'c', ?1)",
            [Utc::now().timestamp()],
        )
        .unwrap()
        .unwrap();
    let m = c
        .insert(
            "INSERT INTO matches (watch, article_id, hits, matched_at) VALUES ('palmyre', ?1, '[]', ?2)",
            [article, Utc::now().timestamp()],
        )
        .unwrap()
        .unwrap();
    c.execute(
        "INSERT INTO deliveries (match_id, kind, recipient, message_id, next_attempt_at, created_at, batch_id)
         VALUES (?1, 'immediate', 'duty@example.org', '<late@vigie>', ?2, ?2, ?3)",
        [m, Utc::now().timestamp(), batch],
    )
    .unwrap();
    let stats = sending.await.unwrap();
    assert_eq!(stats.sent, 1, "the summary");
    let summary = smtp.messages().pop().unwrap();
    let html = summary.html();
    assert!(html.contains("dépêche 21"), "{html}");
    assert!(!html.contains("tardive"), "{html}");
    // Not in the summary, so not marked sent: out on its own at the next round.
    let (status, in_batch): (String, Option<i64>) = c
        .query_row(
            "SELECT status, batch_id FROM deliveries WHERE message_id = '<late@vigie>'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((status.as_str(), in_batch), ("pending", None));
    smtp.set_delay(Duration::ZERO);
    let mailer = vigie::deliver::Mailer::new(&config.mail, &config.channels).unwrap();
    let stats = vigie::deliver::deliver_due(&store, &mailer, &config, later)
        .await
        .unwrap();
    assert_eq!(stats.sent, 1);
    let last = smtp.messages().pop().unwrap();
    assert_eq!(
        last.header("Subject").as_deref(),
        Some("[vigie] palmyre: Palmyre, la dépêche tardive")
    );
    assert_eq!(smtp.messages().len(), 22);
}
