//! The PostgreSQL store against a real PostgreSQL started by the tests themselves
//! (`support::pg`): the schema applies once and keeps SQLite's unique keys; two instances
//! claiming feeds at the same moment never get the same one; a lapsed lease passes on and a
//! late finish under it changes nothing; leadership passes on when the leader's session
//! ends; an outbox row is sent by one instance; `vigie store copy`; `[store]` checked.

use std::time::Duration;

use chrono::Utc;
use vigie::config::StoreConfig;
use vigie::store::Store;
use vigie::store::claims::Row;
use vigie::store::feeds::{PollRecord, PollResult};

use crate::support::pg::{Pg, shared};

/// A store on a fresh database of the shared cluster, and that database's URL.
fn fresh() -> (Store, String) {
    let url = shared().database();
    (open(&url), url)
}

fn open(url: &str) -> Store {
    let cfg = StoreConfig {
        url: url.to_string(),
        password: None,
    };
    Store::open_config(std::path::Path::new("/nonexistent"), Some(&cfg)).expect("open")
}

fn add_feeds(s: &Store, n: usize, due_at: i64) {
    for i in 0..n {
        s.conn()
            .execute(
                "INSERT INTO feeds (name, config_url, url, next_poll_at) VALUES (?1, ?2, ?2, ?3)",
                vigie::store::db::params![
                    format!("f{i:02}"),
                    format!("http://127.0.0.1:9/f{i}"),
                    due_at
                ],
            )
            .unwrap();
    }
}

#[test]
fn the_schema_applies_once_and_keeps_the_unique_keys() {
    let (s, url) = fresh();
    let again = open(&url);
    add_feeds(&s, 1, 0);
    let insert = "INSERT INTO articles (key, feed_id, title_hash, title, summary, content, content_hash, first_seen_at)
                  VALUES ('k1', 1, 'h', 't', '', '', 'c', 0)";
    s.conn().execute(insert, []).unwrap();
    let twice = again.conn().execute(insert, []);
    assert!(twice.is_err(), "an article key is stored once");
    let feed_again = s.conn().execute(
        "INSERT INTO feeds (name, config_url, url) VALUES ('f00', 'u', 'u')",
        [],
    );
    assert!(feed_again.is_err(), "a feed name is unique");
}

#[test]
fn two_instances_claiming_at_once_never_get_the_same_feed() {
    let (mut a, url) = fresh();
    let mut b = open(&url);
    add_feeds(&a, 40, 0);
    a.join("a".into(), Duration::from_secs(60));
    b.join("b".into(), Duration::from_secs(60));
    let now = Utc::now();
    let go = std::sync::Barrier::new(2);
    let (got_a, got_b) = std::thread::scope(|t| {
        let ta = t.spawn(|| {
            go.wait();
            a.claim_due_feeds(now, 100).unwrap()
        });
        let tb = t.spawn(|| {
            go.wait();
            b.claim_due_feeds(now, 100).unwrap()
        });
        (ta.join().unwrap(), tb.join().unwrap())
    });
    assert_eq!(got_a.len() + got_b.len(), 40, "every due feed, once");
    assert!(
        got_a.iter().all(|n| !got_b.contains(n)),
        "no feed claimed twice"
    );
    // Nothing is left to claim while the leases run, and a feed not yet due is never claimed.
    assert!(a.claim_due_feeds(now, 100).unwrap().is_empty());
    s_insert_later(&a, (now + chrono::Duration::hours(1)).timestamp());
    assert!(b.claim_due_feeds(now, 100).unwrap().is_empty());
}

fn s_insert_later(s: &Store, due_at: i64) {
    s.conn()
        .execute(
            "INSERT INTO feeds (name, config_url, url, next_poll_at) VALUES ('later', 'u', 'u', ?1)",
            [due_at],
        )
        .unwrap();
}

fn polls(s: &Store) -> (i64, i64, Option<String>) {
    s.conn()
        .query_row(
            "SELECT next_poll_at, polls, lease_owner FROM feeds",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
}

#[test]
fn a_lapsed_lease_passes_on_and_a_late_finish_changes_nothing() {
    let (mut a, url) = fresh();
    let mut b = open(&url);
    add_feeds(&a, 1, 0);
    a.join("a".into(), Duration::from_millis(300));
    b.join("b".into(), Duration::from_secs(60));
    let now = Utc::now();
    assert_eq!(
        a.claim_due_feeds(now, 100).unwrap(),
        vec!["f00".to_string()]
    );
    // While a's lease runs, nobody else gets the feed.
    assert!(b.claim_due_feeds(now, 100).unwrap().is_empty());
    // a stalls past its lease: b takes the feed over.
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        b.claim_due_feeds(now, 100).unwrap(),
        vec!["f00".to_string()]
    );
    let rec = |next: i64| PollRecord {
        result: PollResult::NotModified,
        next: chrono::DateTime::from_timestamp(next, 0).unwrap(),
        interval: 900,
        moved_to: None,
        teasers: None,
    };
    let id = 1;
    // a finishes late: nothing changes; b's poll is recorded and its lease ends.
    a.record_poll(id, now, &rec(1_000)).unwrap();
    assert_eq!(polls(&a), (0, 0, Some("b".into())));
    b.record_poll(id, now, &rec(2_000)).unwrap();
    assert_eq!(
        polls(&a),
        (2_000, 1, None),
        "one poll recorded, the lease released"
    );
}

#[test]
fn leadership_passes_on_when_the_leaders_session_ends() {
    let (mut a, url) = fresh();
    let (mut b, mut c) = (open(&url), open(&url));
    a.join("a".into(), Duration::from_secs(60));
    b.join("b".into(), Duration::from_secs(60));
    c.join("c".into(), Duration::from_secs(60));
    assert!(a.leads().unwrap());
    assert!(!b.leads().unwrap() && !c.leads().unwrap(), "one leader");
    assert!(a.leads().unwrap(), "it goes on leading");
    // The leader dies (its connection closes): exactly one of the others leads next.
    drop(a);
    let mut leaders = 0;
    for _ in 0..50 {
        leaders = usize::from(b.leads().unwrap()) + usize::from(c.leads().unwrap());
        if leaders > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(leaders, 1);
    // Every instance tells the others it is there, and which one leads.
    let seen = b.heartbeat().unwrap();
    c.heartbeat().unwrap();
    let seen_again = b.heartbeat().unwrap();
    assert_eq!(seen_again.peers.len(), 2, "{seen:?}");
    assert_eq!(seen_again.peers.iter().filter(|p| p.leads).count(), 1);
}

/// A feed, an article, its match and one pending alert (delivery 1), due since 1970.
fn one_pending_alert(s: &Store) {
    add_feeds(s, 1, 0);
    let c = s.conn();
    c.execute(
        "INSERT INTO articles (key, feed_id, title_hash, title, summary, content, content_hash, first_seen_at)
         VALUES ('k', 1, 'h', 't', '', '', 'c', 0)",
        [],
    )
    .unwrap();
    c.execute(
        "INSERT INTO matches (watch, article_id, hits, matched_at) VALUES ('w', 1, '[]', 0)",
        [],
    )
    .unwrap();
    c.execute(
        "INSERT INTO deliveries (match_id, kind, recipient, message_id, status, next_attempt_at, created_at)
         VALUES (1, 'immediate', 'a@x', '<m@x>', 'pending', 0, 0)",
        [],
    )
    .unwrap();
}

#[test]
fn an_outbox_row_is_sent_by_one_instance_only() {
    let (mut a, url) = fresh();
    let mut b = open(&url);
    a.join("a".into(), Duration::from_secs(60));
    b.join("b".into(), Duration::from_secs(60));
    one_pending_alert(&a);
    let now = Utc::now();
    let row = Row::Alert(1);
    assert!(a.claim_due(row, now).unwrap());
    assert!(!b.claim_due(row, now).unwrap(), "a is sending it");
    assert!(
        a.claim_due(row, now).unwrap(),
        "a claim is its owner's again"
    );
    // a marks it sent: b finds nothing left to send.
    vigie::store::outbox::mark_sent(a.conn(), 1, now).unwrap();
    assert!(!b.claim_due(row, now).unwrap(), "already sent");
    // A row whose sender died (its session ended) is the others' to send.
    a.conn()
        .execute("UPDATE deliveries SET status = 'pending' WHERE id = 1", [])
        .unwrap();
    assert!(a.claim_due(row, now).unwrap());
    drop(a);
    let mut taken = false;
    for _ in 0..50 {
        taken = b.claim_due(row, now).unwrap();
        if taken {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(taken);
}

#[tokio::test]
async fn store_copy_moves_a_sqlite_store_into_an_empty_postgresql() {
    use crate::support::http::{HttpServer, Route};
    use crate::support::*;
    let http = HttpServer::start().await;
    let items: Vec<FeedItem> = (0..5)
        .map(|i| {
            FeedItem::new(
                &format!("p{i}"),
                &format!("Palmyre, dépêche {i}"),
                &format!("https://elwatan.example/p{i}"),
                &format!("Les nouvelles {i} de Palmyre."),
            )
        })
        .collect();
    http.route(
        "/feed.xml",
        Route::ok("application/rss+xml", rss("Fil", &items, "UTF-8")),
    );
    let dir = tempfile::tempdir().unwrap();
    let main = format!(
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n{}",
        feeds_toml(&[("fil", http.url("/feed.xml"))])
    );
    let cfg = write_sqlite_config(
        dir.path(),
        &main,
        PALMYRA_FRONT
            .replace("(@daech OR offensive)", "nouvelles")
            .as_str(),
    );
    let out = vigie(&cfg, &["poll"]).await;
    assert!(out.status.success(), "{}", stderr(&out));

    let pg = Pg::start();
    let out = vigie(&cfg, &["store", "copy", "--to", &pg.params]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    assert!(printed.contains("articles: 5 rows"), "{printed}");
    assert!(printed.contains("deliveries: 5 rows"), "{printed}");

    // Every table holds what the SQLite store holds.
    let sqlite = rusqlite::Connection::open(dir.path().join("state/vigie.db")).unwrap();
    let s = open(&pg.params);
    for table in [
        "feeds",
        "stories",
        "articles",
        "article_feeds",
        "matches",
        "deliveries",
    ] {
        let want: i64 = sqlite
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        let got: i64 = s
            .conn()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(got, want, "{table}");
    }
    let ids: Vec<String> = s
        .conn()
        .query_map("SELECT message_id FROM deliveries ORDER BY id", [], |r| {
            r.get(0)
        })
        .unwrap();
    let mut stmt = sqlite
        .prepare("SELECT message_id FROM deliveries ORDER BY id")
        .unwrap();
    let want: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(ids, want, "the same Message-IDs");
    // New rows continue after the copied ids; the search index is filled.
    s.conn()
        .execute(
            "INSERT INTO feeds (name, config_url, url) VALUES ('new', 'u', 'u')",
            [],
        )
        .expect("the identity continues after the copied ids");
    let found: i64 = s
        .conn()
        .query_row(
            "SELECT count(*) FROM articles WHERE search @@ to_tsquery('simple', 'palmyre')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(found, 5);
    // A second copy is refused: the target is not empty.
    let again = vigie(&cfg, &["store", "copy", "--to", &pg.params]).await;
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("already holds"),
        "{}",
        stderr(&again)
    );
}

#[tokio::test]
async fn a_postgresql_store_is_checked_redacted_and_an_unreachable_one_is_one_sentence() {
    use crate::support::*;
    let dir = tempfile::tempdir().unwrap();
    let main = "state_dir = \"state\"\nrules = [\"rules.toml\"]\n\
                [store]\nurl = \"postgres://vigie:s3cret@127.0.0.1:9/vigie\"\npassword_env = \"VIGIE_DB\"\n";
    let cfg = write_config(dir.path(), main, PALMYRA_FRONT);
    let check = vigie(&cfg, &["check"]).await;
    assert!(check.status.success(), "{}", stderr(&check));
    let out = stdout(&check);
    assert!(
        out.contains("store:      PostgreSQL at postgres://vigie:***@127.0.0.1:9/vigie"),
        "{out}"
    );
    assert!(!out.contains("s3cret") && !stderr(&check).contains("s3cret"));
    // Nothing listens there: the command says so in one sentence, without the password,
    // and never falls back to a SQLite file.
    let poll = vigie(&cfg, &["poll"]).await;
    assert_eq!(poll.status.code(), Some(1), "{}", stderr(&poll));
    let err = stderr(&poll);
    assert!(
        err.contains("environment variable VIGIE_DB is not set"),
        "{err}"
    );
    let poll = tokio::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
        .arg("-c")
        .arg(&cfg)
        .arg("poll")
        .env("VIGIE_DB", "hunter2")
        .output()
        .await
        .unwrap();
    assert_eq!(poll.status.code(), Some(1), "{}", stderr(&poll));
    let err = stderr(&poll);
    assert!(err.contains("cannot connect to PostgreSQL"), "{err}");
    for secret in ["s3cret", "hunter2"] {
        assert!(
            !err.contains(secret) && !stdout(&poll).contains(secret),
            "{err}"
        );
    }
    assert!(
        !dir.path().join("state/vigie.db").exists(),
        "no SQLite store made"
    );
    // A url that is not PostgreSQL's is an error at its position.
    let bad = "rules = [\"rules.toml\"]\n[store]\nurl = \"mysql://x\"\n";
    let cfg = write_config(dir.path(), bad, PALMYRA_FRONT);
    let check = vigie(&cfg, &["check"]).await;
    assert_eq!(check.status.code(), Some(2));
    assert!(
        stderr(&check).contains("vigie.toml:3:8: `url` must be a postgres:// URL"),
        "{}",
        stderr(&check)
    );
}

#[test]
fn a_database_of_the_first_schema_is_upgraded_in_place() {
    let url = shared().database();
    let v1 = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pg-schema-v1.sql"),
    )
    .unwrap();
    let setup = format!(
        "{v1}\nCREATE TABLE schema_version (version BIGINT NOT NULL);\nINSERT INTO schema_version VALUES (1);\n\
         INSERT INTO feeds (name, config_url, url) VALUES ('f00', 'u', 'u');"
    );
    let params = url.clone();
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&params, postgres::NoTls).unwrap();
        c.batch_execute(&setup).unwrap();
    })
    .join()
    .unwrap();
    let mut s = open(&url);
    let version: i64 = s
        .conn()
        .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, vigie::store::pg::SCHEMA_VERSION);
    // What version 2 added works on the old rows: an outlet's order, an instance's heartbeat.
    s.join("a".into(), Duration::from_secs(60));
    assert_eq!(s.heartbeat().unwrap().peers.len(), 1);
    assert!(
        vigie::store::stories::outlets(s.conn(), 1)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.feed_state("f00").unwrap().map(|f| f.name),
        Some("f00".to_string())
    );
}

#[test]
fn a_claim_let_go_unsent_is_anyones_and_a_claim_for_no_row_is_refused() {
    let (a, url) = fresh();
    let b = open(&url);
    one_pending_alert(&a);
    let now = Utc::now();
    assert!(!a.claim_due(Row::Batch(3_000_000_000), now).unwrap());
    assert!(a.claim_due(Row::Alert(1), now).unwrap());
    assert!(!b.claim_due(Row::Alert(1), now).unwrap());
    // b cannot let go of a's claim; a can.
    b.release(Row::Alert(1)).unwrap();
    assert!(!b.claim_due(Row::Alert(1), now).unwrap());
    a.release(Row::Alert(1)).unwrap();
    assert!(b.claim_due(Row::Alert(1), now).unwrap());
    // A claim's owner and its time are in the row, for anyone to see.
    let owner: String = a
        .conn()
        .query_row("SELECT claim_owner FROM deliveries WHERE id = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(owner, b.claimant().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_in_a_feed_is_stored_without_it() {
    use crate::support::http::{HttpServer, Route};
    use crate::support::*;
    let http = HttpServer::start().await;
    let feed = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [
        {"id": "a\u0000b", "url": "https://ex.org/a", "title": "Palmyre\u0000 reprise",
         "content_text": "Les nouvelles de Palmyre."}]}"#;
    http.route("/f.json", Route::ok("application/feed+json", feed));
    let dir = tempfile::tempdir().unwrap();
    let main = format!(
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n{}{DIGEST_TOML}\n[store]\nurl = \"{}\"\n",
        feeds_toml(&[("fil", http.url("/f.json"))]),
        shared().database()
    );
    let cfg = write_config(
        dir.path(),
        &main,
        "[[watch]]\nname = \"p\"\nquery = 'Palmyre'\n",
    );
    let out = vigie(&cfg, &["poll"]).await;
    assert!(
        stdout(&out).contains("1 new articles"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let title: String = open_store(&cfg)
        .conn()
        .query_row("SELECT title FROM articles", [], |r| r.get(0))
        .unwrap();
    assert_eq!(title, "Palmyre reprise");
}
