//! Digests (contract §5) at a fixed clock: the right matches, grouped by watch, newest
//! first, each story once; nothing sent when empty; a digest missed while the daemon was
//! down is sent at start-up. Articles are stored through the library at chosen times
//! (real SQLite), the emails go to a real SMTP server on loopback; the start-up case
//! and the commands run the real `vigie` binary.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use vigie::config::Config;
use vigie::deliver::Mailer;
use vigie::ingest::{MatchContext, ingest};
use vigie::parse::Item;
use vigie::rules::Matcher;
use vigie::store::{Store, StoreHandle};

use crate::support::http::{HttpServer, Route};
use crate::support::smtp::SmtpServer;
use crate::support::*;

const RULES: &str = r#"
[[watch]]
name = "palmyra"
query = 'Palmyre'
alert = "digest"
digest = "morning"

[[watch]]
name = "talks"
query = 'Genève'
alert = "digest"
digest = "morning"

[[watch]]
name = "raqqa"
query = 'Raqqa'
alert = "digest"
digest = "evening"
"#;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

struct Harness {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    cfg: Arc<Config>,
    matcher: Arc<Matcher>,
    store: StoreHandle,
    mailer: Mailer,
}

/// A configuration with a morning digest (07:00 Paris, two readers) and an evening one
/// (weekdays 19:00 UTC), an SMTP server on `smtp_port`, the store opened.
fn harness(smtp_port: u16, morning_at: &str, morning_zone: &str, feed_url: &str) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let main = format!(
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n{}\n{}\n\
         [[digest]]\nname = \"morning\"\nat = \"{morning_at}\"\ntimezone = \"{morning_zone}\"\nto = [\"desk@example.org\", \"chief@example.org\"]\n\
         [[digest]]\nname = \"evening\"\ncron = \"0 19 * * 1-5\"\ntimezone = \"UTC\"\nto = [\"night@example.org\"]\n",
        feeds_toml(&[("elwatan", feed_url.to_string())]),
        smtp_toml(smtp_port)
    );
    let path = write_config(dir.path(), &main, RULES);
    let cfg = vigie::config::load(&path).unwrap();
    let matcher = cfg.rules.compile().unwrap();
    let mut store = Store::open_config(&cfg.state_dir, cfg.store.as_ref()).unwrap();
    store.sync_feeds(&cfg.feeds).unwrap();
    Harness {
        _dir: dir,
        path,
        mailer: Mailer::new(&cfg.mail, &cfg.channels).unwrap(),
        cfg: Arc::new(cfg),
        matcher: Arc::new(matcher),
        store: StoreHandle::new(store),
    }
}

fn item(guid: &str, title: &str, published: DateTime<Utc>) -> Item {
    Item {
        guid: Some(guid.into()),
        link: Some(format!("https://elwatan.example/{guid}")),
        title: title.into(),
        summary: format!("{title}. Le reste de la dépêche."),
        published: Some(published),
        ..Item::default()
    }
}

impl Harness {
    /// Store and match `items` as a poll at `now` would.
    async fn ingest_at(&self, items: Vec<Item>, now: DateTime<Utc>) {
        let (cfg, m) = (self.cfg.clone(), self.matcher.clone());
        self.store
            .call(move |s| {
                let feed = cfg.feeds[0].clone();
                let id = s.feed_state(&feed.name)?.expect("synced").id;
                let ctx = MatchContext::new(&m, &cfg);
                ingest(s, &feed, id, false, &items, &ctx, now)
            })
            .await
            .unwrap();
    }

    async fn deliver_at(&self, now: DateTime<Utc>) -> usize {
        vigie::deliver::deliver_due(&self.store, &self.mailer, &self.cfg, now)
            .await
            .unwrap()
            .sent
    }
}

fn position(hay: &str, needle: &str) -> usize {
    hay.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} missing from:\n{hay}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digests_at_a_fixed_clock() {
    let smtp = SmtpServer::start().await;
    let h = harness(
        smtp.addr.port(),
        "07:00",
        "Europe/Paris",
        "http://127.0.0.1:9/feed",
    );
    // Sunday evening, 26 February 2017.
    h.ingest_at(
        vec![
            item("a", "Palmyre : l'armée avance", t("2017-02-26T18:00:00Z")),
            item(
                "b",
                "Palmyre : nouvelle offensive",
                t("2017-02-26T19:30:00Z"),
            ),
            item(
                "c",
                "Genève : reprise des pourparlers",
                t("2017-02-26T17:00:00Z"),
            ),
            item("d", "Genève et Palmyre au menu", t("2017-02-26T19:45:00Z")),
            item("e", "Le prix du blé", t("2017-02-26T19:50:00Z")),
            item("f", "Raqqa : couvre-feu", t("2017-02-26T19:55:00Z")),
        ],
        t("2017-02-26T20:00:00Z"),
    )
    .await;

    // Not yet 07:00 in Paris (06:00 UTC in winter): nothing.
    assert_eq!(h.deliver_at(t("2017-02-27T05:59:00Z")).await, 0);
    assert!(smtp.messages().is_empty());

    // 07:00 in Paris: one morning digest per reader; the evening one is not due.
    assert_eq!(h.deliver_at(t("2017-02-27T06:00:20Z")).await, 2);
    let msgs = smtp.messages();
    let mut to: Vec<String> = msgs.iter().map(|m| m.to.join(",")).collect();
    to.sort();
    assert_eq!(to, ["chief@example.org", "desk@example.org"]);
    let m = msgs.iter().find(|m| m.to == ["desk@example.org"]).unwrap();
    assert_eq!(
        m.header("Subject").unwrap(),
        "[vigie] morning digest: 4 stories (palmyra, talks)"
    );
    assert_eq!(m.header("X-Vigie-Digest").as_deref(), Some("morning"));
    assert!(
        m.header("List-Id")
            .unwrap()
            .contains("<morning.digest.vigie>")
    );
    assert_eq!(
        m.header("Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    assert!(m.header("Message-ID").unwrap().ends_with("@vigie>"));
    let text = m.text();
    // Grouped by watch in the rules' order, newest first, each story once.
    let order = [
        "== palmyra (3) ==",
        "* Genève et Palmyre au menu",
        "* Palmyre : nouvelle offensive",
        "* Palmyre : l'armée avance",
        "== talks (1) ==",
        "* Genève : reprise des pourparlers",
    ];
    let at: Vec<usize> = order.iter().map(|s| position(&text, s)).collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "order {at:?} in:\n{text}"
    );
    assert_eq!(
        text.matches("Genève et Palmyre au menu").count(),
        1,
        "{text}"
    );
    assert!(text.contains("also in talks"), "{text}");
    assert!(!text.contains("blé") && !text.contains("Raqqa"), "{text}");
    assert!(
        text.contains("26 Feb 2017, 20:45 CET"),
        "times in Paris: {text}"
    );
    let html = m.html().replace("&#x2f;", "/");
    assert!(html.contains(">Palmyre</mark>"), "{html}");
    assert!(
        html.contains("<a href=\"https://elwatan.example/d\""),
        "{html}"
    );

    // Monday 19:00 UTC: the evening digest; a day later the morning one is empty.
    assert_eq!(h.deliver_at(t("2017-02-28T06:00:20Z")).await, 1);
    let msgs = smtp.messages();
    assert_eq!(msgs.len(), 3, "an empty morning digest is not sent");
    assert_eq!(msgs[2].to, ["night@example.org"]);
    assert!(msgs[2].text().contains("Raqqa : couvre-feu"));

    // The daemon is down from Tuesday 10:00 to Thursday 09:00: at start-up, one
    // morning digest per reader covers everything since Tuesday's.
    h.ingest_at(
        vec![item(
            "g",
            "Palmyre : trêve fragile",
            t("2017-02-28T09:55:00Z"),
        )],
        t("2017-02-28T10:00:00Z"),
    )
    .await;
    assert_eq!(h.deliver_at(t("2017-03-02T09:00:00Z")).await, 2);
    let msgs = smtp.messages();
    let late: Vec<_> = msgs[3..]
        .iter()
        .filter(|m| m.header("X-Vigie-Digest").as_deref() == Some("morning"))
        .collect();
    assert_eq!(late.len(), 2);
    let text = late[0].text();
    assert!(text.contains("Palmyre : trêve fragile"), "{text}");
    assert!(!text.contains("nouvelle offensive"), "sent before: {text}");
    assert!(text.contains("since 28 Feb 2017, 07:00 CET"), "{text}");
    // The evening digests of Tuesday and Wednesday had nothing: not sent.
    assert!(msgs[3..].iter().all(|m| m.to != ["night@example.org"]));
    // Nothing is sent twice.
    assert_eq!(h.deliver_at(t("2017-03-02T09:05:00Z")).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_missed_while_the_daemon_was_down_is_sent_at_start_up() {
    let http = HttpServer::start().await;
    http.route(
        "/feed.xml",
        Route::ok("application/rss+xml", rss("Vide", &[], "UTF-8")),
    );
    let smtp = SmtpServer::start().await;
    let now = Utc::now();
    // Scheduled an hour ago, in UTC; the daemon was not running then.
    let at = (now - Duration::hours(1)).format("%H:%M").to_string();
    let h = harness(smtp.addr.port(), &at, "UTC", &http.url("/feed.xml"));
    h.ingest_at(
        vec![item(
            "p",
            "Palmyre : l'armée progresse",
            now - Duration::hours(3),
        )],
        now - Duration::hours(3),
    )
    .await;
    // Yesterday's digest did run.
    let db = open_store(&h.path);
    db.conn()
        .execute(
            "INSERT INTO digest_runs (name, last_at) VALUES ('morning', ?1)",
            [(now - Duration::hours(25)).timestamp()],
        )
        .unwrap();
    drop(db);
    drop(h.store);

    let mut daemon = spawn_vigie(&h.path, &["run"]);
    let arrived = eventually(30, || smtp.messages().len() >= 2).await;
    daemon.signal("TERM").await;
    let _ = daemon.child.wait().await;
    assert!(arrived, "no digest at start-up; log:\n{}", daemon.log());
    let msgs = smtp.messages();
    assert_eq!(msgs.len(), 2, "one per reader");
    assert!(
        msgs.iter()
            .all(|m| m.text().contains("Palmyre : l'armée progresse"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_send_dry_run_writes_the_email_and_sends_nothing() {
    let smtp = SmtpServer::start().await;
    let h = harness(
        smtp.addr.port(),
        "07:00",
        "Europe/Paris",
        "http://127.0.0.1:9/feed",
    );
    let now = Utc::now();
    h.ingest_at(
        vec![item(
            "q",
            "Genève : les délégations arrivent",
            now - Duration::hours(1),
        )],
        now - Duration::minutes(5),
    )
    .await;
    drop(h.store);

    let dry = vigie(&h.path, &["digest", "send", "morning", "--dry-run"]).await;
    assert!(dry.status.success(), "{}", stderr(&dry));
    let out = stdout(&dry);
    assert_eq!(
        out.matches("Subject: [vigie] morning digest: 1 story (talks)")
            .count(),
        2,
        "{out}"
    );
    assert!(
        out.contains("To: desk@example.org") && out.contains("To: chief@example.org"),
        "{out}"
    );
    assert!(smtp.messages().is_empty(), "a dry run sends nothing");

    let sent = vigie(&h.path, &["digest", "send", "morning"]).await;
    assert!(sent.status.success(), "{}", stderr(&sent));
    assert_eq!(smtp.messages().len(), 2);
    let again = vigie(&h.path, &["digest", "send", "morning"]).await;
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("nothing to send"),
        "{}",
        stderr(&again)
    );
    assert_eq!(smtp.messages().len(), 2, "an empty digest is not sent");

    let unknown = vigie(&h.path, &["digest", "send", "noon"]).await;
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("no digest named \"noon\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_for_a_removed_digest_fail_with_their_reason_instead_of_waiting_forever() {
    let smtp = SmtpServer::start().await;
    let h = harness(
        smtp.addr.port(),
        "07:00",
        "Europe/Paris",
        "http://127.0.0.1:9/feed",
    );
    h.ingest_at(
        vec![item(
            "r",
            "Raqqa : la coalition avance",
            t("2017-02-26T18:00:00Z"),
        )],
        t("2017-02-26T18:05:00Z"),
    )
    .await;
    // The evening digest is removed; its watch now goes to the morning one.
    let text = std::fs::read_to_string(&h.path).unwrap();
    let without = text.replace(
        "[[digest]]\nname = \"evening\"\ncron = \"0 19 * * 1-5\"\ntimezone = \"UTC\"\nto = [\"night@example.org\"]\n",
        "",
    );
    assert_ne!(without, text);
    std::fs::write(&h.path, without).unwrap();
    std::fs::write(
        h.path.with_file_name("rules.toml"),
        RULES.replace("digest = \"evening\"", "digest = \"morning\""),
    )
    .unwrap();
    let waiting = stdout(&vigie(&h.path, &["outbox"]).await);
    assert!(
        waiting.contains("digest \"evening\", which is not configured"),
        "{waiting}"
    );

    // The next delivery round gives up on it, saying why.
    let poll = vigie(&h.path, &["poll"]).await;
    assert!(poll.status.success(), "{}", stderr(&poll));
    let failed = stdout(&vigie(&h.path, &["outbox", "--failed"]).await);
    assert!(
        failed.contains("raqqa")
            && failed.contains("last error: the digest \"evening\" is no longer configured"),
        "{failed}"
    );
    let pending = stdout(&vigie(&h.path, &["outbox"]).await);
    assert!(pending.contains("no pending deliveries"), "{pending}");
}
