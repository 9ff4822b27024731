//! Delivery (contract §5): what an alert email carries, one SMTP connection per batch,
//! nothing lost while the mail server is down, nothing sent twice when it is back, no
//! markup or header injected from a feed, and flood control. Real HTTP and SMTP servers
//! on loopback, the real `vigie` binary, a real SQLite file.

use std::collections::HashSet;

use chrono::{Duration, Utc};

use crate::support::http::{HttpServer, Route};
use crate::support::smtp::SmtpServer;
use crate::support::*;

const RULES: &str = r#"
[[watch]]
name = "palmyra-front"
query = 'Palmyre OR Tadmor'
alert = "immediate"
to = ["duty@example.org", "desk@example.org"]
"#;

/// A configuration polling `feed_url` and mailing to `smtp_port`, with a digest whose
/// time zone the alerts use.
fn config(
    dir: &std::path::Path,
    feed_url: &str,
    smtp_port: u16,
    rules: &str,
) -> std::path::PathBuf {
    let main = format!(
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n{}\n{}\n[[digest]]\nname = \"morning\"\nat = \"07:00\"\ntimezone = \"Europe/Paris\"\nto = [\"desk@example.org\"]\n",
        feeds_toml(&[("elwatan", feed_url.to_string())]),
        smtp_toml(smtp_port)
    );
    write_config(dir, &main, rules)
}

fn serve(http: &HttpServer, items: &[FeedItem]) {
    let feed = rss("El Watan - International", items, "UTF-8");
    http.route("/feed.xml", Route::ok("application/rss+xml", feed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_email_carries_everything_and_one_connection_serves_the_batch() {
    let http = HttpServer::start().await;
    let smtp = SmtpServer::start().await;
    let published = Utc::now() - Duration::hours(1);
    // Three different stories (a near-copy of one story would alert once).
    let bodies = [
        seed_article(),
        "Les habitants de Palmyre racontent les bombardements de la nuit.".to_string(),
        "À Palmyre, les archéologues dressent l'inventaire des ruines détruites.".to_string(),
    ];
    let mut items: Vec<FeedItem> = (1..=3)
        .map(|i| {
            FeedItem::new(
                &format!("g{i}"),
                &format!("Syrie : combats autour de Palmyre, jour {i}"),
                &format!("https://elwatan.example/palmyre-{i}"),
                &bodies[i - 1],
            )
        })
        .collect();
    items[0].date = Some(published);
    items.push(FeedItem::new(
        "other",
        "Le prix du blé",
        "https://elwatan.example/ble",
        "Les marchés céréaliers.",
    ));
    serve(&http, &items);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &http.url("/feed.xml"), smtp.addr.port(), RULES);

    let out = vigie(&cfg, &["poll"]).await;
    assert!(out.status.success(), "{}", stderr(&out));

    let msgs = smtp.messages();
    assert_eq!(msgs.len(), 6, "3 alerts × 2 recipients");
    assert_eq!(
        smtp.connections(),
        1,
        "one SMTP connection for the whole batch"
    );
    let ids: HashSet<String> = smtp.message_ids().into_iter().collect();
    assert_eq!(ids.len(), 6, "a Message-ID per (watch, story, recipient)");

    let title = "Syrie : combats autour de Palmyre, jour 1";
    let m = msgs
        .iter()
        .find(|m| {
            m.to == ["duty@example.org"]
                && m.header("Subject").is_some_and(|s| s.contains("jour 1"))
        })
        .expect("the first alert to duty@");
    assert_eq!(
        m.header("Subject").unwrap(),
        format!("[vigie] palmyra-front: {title}")
    );
    assert!(m.header("Message-ID").unwrap().ends_with("@vigie>"));
    assert!(m.header("Date").is_some());
    assert!(
        m.header("List-Id")
            .unwrap()
            .contains("<palmyra-front.vigie>")
    );
    assert_eq!(m.header("X-Vigie-Watch").as_deref(), Some("palmyra-front"));
    assert_eq!(
        m.header("Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    assert!(
        m.header("Content-Type")
            .unwrap()
            .starts_with("multipart/alternative")
    );

    let html = m.html().replace("&#x2f;", "/");
    let text = m.text();
    // The title, linked; the outlet; the publication time in the digest's zone.
    assert!(
        html.contains("<a href=\"https://elwatan.example/palmyre-1\""),
        "{html}"
    );
    assert!(html.contains("elwatan"), "{html}");
    let local = published.with_timezone(&chrono_tz::Europe::Paris);
    let hhmm = local.format("%H:%M").to_string();
    assert!(
        html.contains(&hhmm) && (html.contains("CET") || html.contains("CEST")),
        "{hhmm} in {html}"
    );
    // The matched words highlighted in an excerpt of the article.
    assert!(html.contains(">Palmyre</mark>"), "{html}");
    assert!(text.contains(title) && text.contains("[Palmyre]"), "{text}");
    assert!(
        text.contains("Watch \"palmyra-front\" matched: Palmyre"),
        "{text}"
    );
    let excerpt_line = text
        .lines()
        .find(|l| l.contains("[Palmyre]") && !l.contains(title))
        .expect("an excerpt line");
    let n = excerpt_line.chars().count();
    assert!(
        (150..=340).contains(&n),
        "excerpt of {n} chars: {excerpt_line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_outage_loses_nothing_and_the_retry_sends_once() {
    let http = HttpServer::start().await;
    serve(
        &http,
        &[FeedItem::new(
            "g1",
            "L'armée reprend Tadmor",
            "https://elwatan.example/tadmor",
            "Les forces syriennes sont entrées dans Tadmor.",
        )],
    );
    let port = free_port(); // nothing listens there yet: the mail server is down
    let dir = tempfile::tempdir().unwrap();
    let rules = RULES.replace(", \"desk@example.org\"", "");
    let cfg = config(dir.path(), &http.url("/feed.xml"), port, &rules);

    let out = vigie(&cfg, &["poll"]).await;
    assert!(
        out.status.success(),
        "a poll succeeds even when mail fails: {}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("1 to retry"), "{}", stdout(&out));

    let outbox = vigie(&cfg, &["outbox"]).await;
    assert!(outbox.status.success(), "{}", stderr(&outbox));
    let listing = stdout(&outbox);
    assert!(listing.contains("duty@example.org"), "{listing}");
    assert!(
        listing.contains("palmyra-front") && listing.contains("L'armée reprend Tadmor"),
        "{listing}"
    );
    assert!(
        listing.contains("pending") && listing.contains("last error"),
        "{listing}"
    );
    let failed = vigie(&cfg, &["outbox", "--failed"]).await;
    assert!(
        stdout(&failed).contains("no failed deliveries"),
        "{}",
        stdout(&failed)
    );

    // The server comes back on the same port.
    let smtp = SmtpServer::start_on(&format!("127.0.0.1:{port}")).await;
    let retry = vigie(&cfg, &["outbox", "retry"]).await;
    assert!(
        retry.status.success(),
        "{}{}",
        stdout(&retry),
        stderr(&retry)
    );
    assert_eq!(smtp.messages().len(), 1, "delivered once");
    let again = vigie(&cfg, &["outbox", "retry"]).await;
    assert!(again.status.success(), "{}", stderr(&again));
    let poll = vigie(&cfg, &["poll"]).await;
    assert!(poll.status.success(), "{}", stderr(&poll));
    assert_eq!(
        smtp.messages().len(),
        1,
        "a further retry or poll sends nothing"
    );
    let outbox = vigie(&cfg, &["outbox"]).await;
    assert!(
        stdout(&outbox).contains("no pending deliveries"),
        "{}",
        stdout(&outbox)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_cannot_inject_a_header_or_a_script() {
    let http = HttpServer::start().await;
    let smtp = SmtpServer::start().await;
    let evil = "Palmyre <script>alert(1)</script>\r\nBcc: x@evil.example";
    let feed = rss(
        "Hostile",
        &[FeedItem::new(
            "evil",
            evil,
            "https://elwatan.example/evil",
            "<img src=x onerror=alert(2)> Palmyre\r\nBcc: y@evil.example",
        )],
        "UTF-8",
    )
    // Keep the CR LF through XML's line-end normalisation.
    .replace("\r\n", "&#13;&#10;");
    http.route("/feed.xml", Route::ok("application/rss+xml", feed));
    let dir = tempfile::tempdir().unwrap();
    let rules = RULES.replace(", \"desk@example.org\"", "");
    let cfg = config(dir.path(), &http.url("/feed.xml"), smtp.addr.port(), &rules);

    let out = vigie(&cfg, &["poll"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let msgs = smtp.messages();
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(
        m.to,
        vec!["duty@example.org".to_string()],
        "no extra recipient"
    );
    assert!(m.header("Bcc").is_none(), "{}", m.head());
    assert!(
        !m.head().to_ascii_lowercase().contains("\r\nbcc:"),
        "{}",
        m.head()
    );
    assert!(!m.data.contains("evil.example>"), "no address was added");
    let html = m.html();
    assert!(!html.is_empty());
    assert!(!html.to_ascii_lowercase().contains("<script"), "{html}");
    assert!(!html.to_ascii_lowercase().contains("<img"), "{html}");
    assert!(
        html.contains(">Palmyre</mark>"),
        "the alert is still there: {html}"
    );
    let subject = m.header("Subject").unwrap();
    assert!(
        subject.starts_with("[vigie] palmyra-front: Palmyre"),
        "{subject}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_twenty_first_alert_of_an_hour_is_folded_into_the_summary() {
    let http = HttpServer::start().await;
    let smtp = SmtpServer::start().await;
    let items: Vec<FeedItem> = (1..=25)
        .map(|i| {
            FeedItem::new(
                &format!("d{i:02}"),
                &format!("Palmyre, dépêche {i:02}"),
                &format!("https://elwatan.example/d{i:02}"),
                "Nouvelles de Palmyre.",
            )
        })
        .collect();
    serve(&http, &items);
    let dir = tempfile::tempdir().unwrap();
    let rules = RULES.replace(", \"desk@example.org\"", "");
    let cfg = config(dir.path(), &http.url("/feed.xml"), smtp.addr.port(), &rules);

    let out = vigie(&cfg, &["poll"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let singles = smtp.messages();
    assert_eq!(
        singles.len(),
        20,
        "20 single alerts, then the hour is folded"
    );
    let subjects: Vec<String> = singles.iter().filter_map(|m| m.header("Subject")).collect();
    assert!(
        subjects.iter().all(|s| !s.contains("dépêche 21")),
        "{subjects:?}"
    );
    let outbox = stdout(&vigie(&cfg, &["outbox"]).await);
    assert!(outbox.contains("folded into the flood summary"), "{outbox}");

    // The hour ends: one summary carries the rest of it.
    let config = vigie::config::load(&cfg).unwrap();
    let store = vigie::store::StoreHandle::new(
        vigie::store::Store::open_config(&config.state_dir, config.store.as_ref()).unwrap(),
    );
    let mailer = vigie::deliver::Mailer::new(&config.mail, &config.channels).unwrap();
    let later = Utc::now() + Duration::hours(1);
    let stats = vigie::deliver::deliver_due(&store, &mailer, &config, later)
        .await
        .unwrap();
    assert_eq!(stats.sent, 1);
    let msgs = smtp.messages();
    assert_eq!(msgs.len(), 21);
    let summary = &msgs[20];
    let subject = summary.header("Subject").unwrap();
    assert!(
        subject.starts_with("[vigie] palmyra-front: 5 more alerts"),
        "{subject}"
    );
    let html = summary.html();
    for i in 21..=25 {
        assert!(
            html.contains(&format!("dépêche {i}")),
            "dépêche {i} missing: {html}"
        );
    }
    assert!(!html.contains("dépêche 20"), "{html}");
    assert_eq!(
        summary.header("X-Vigie-Watch").as_deref(),
        Some("palmyra-front")
    );
    // Nothing more is due, now or later.
    let stats = vigie::deliver::deliver_due(&store, &mailer, &config, later + Duration::hours(2))
        .await
        .unwrap();
    assert_eq!(stats.sent, 0);
    assert_eq!(smtp.messages().len(), 21);
}
