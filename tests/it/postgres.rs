//! The PostgreSQL store (issue 18, in progress) against a real PostgreSQL started by the test
//! itself (`support::pg`): the schema applies once and keeps SQLite's unique keys; two
//! instances claiming feeds at the same moment never get the same one; a lapsed lease passes
//! on and a late finish under it changes nothing; leadership passes on when its lease lapses.

use std::time::Duration;

use vigie::store::pg::{PgStore, leases};

use crate::support::pg::Pg;

async fn store(pg: &Pg) -> PgStore {
    let mut s = PgStore::connect(&pg.params, None).await.expect("connect");
    s.migrate().await.expect("schema");
    s
}

async fn add_feeds(s: &PgStore, n: usize, due_at: i64) {
    for i in 0..n {
        s.client
            .execute(
                "INSERT INTO feeds (name, config_url, url, next_poll_at) VALUES ($1, $2, $2, $3)",
                &[
                    &format!("f{i:02}"),
                    &format!("http://127.0.0.1:9/f{i}"),
                    &due_at,
                ],
            )
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn the_schema_applies_once_and_keeps_the_unique_keys() {
    let pg = Pg::start();
    let mut s = store(&pg).await;
    s.migrate().await.expect("a second migration is a no-op");
    add_feeds(&s, 1, 0).await;
    let insert = "INSERT INTO articles (key, feed_id, title_hash, title, summary, content, content_hash, first_seen_at)
                  VALUES ('k1', 1, 'h', 't', '', '', 'c', 0)";
    s.client.execute(insert, &[]).await.unwrap();
    let again = s.client.execute(insert, &[]).await;
    assert!(again.is_err(), "an article key is stored once");
    let feed_again = s
        .client
        .execute(
            "INSERT INTO feeds (name, config_url, url) VALUES ('f00', 'u', 'u')",
            &[],
        )
        .await;
    assert!(feed_again.is_err(), "a feed name is unique");
}

#[tokio::test]
async fn two_instances_claiming_at_once_never_get_the_same_feed() {
    let pg = Pg::start();
    let a = store(&pg).await;
    let b = PgStore::connect(&pg.params, None).await.unwrap();
    add_feeds(&a, 40, 100).await;
    let lease = Duration::from_secs(60);
    let (got_a, got_b) = tokio::join!(
        leases::claim_due_feeds(&a.client, "a", 200, lease, 25),
        leases::claim_due_feeds(&b.client, "b", 200, lease, 25),
    );
    let (got_a, got_b) = (got_a.unwrap(), got_b.unwrap());
    assert_eq!(got_a.len() + got_b.len(), 40, "every due feed, once");
    assert!(
        got_a
            .iter()
            .all(|l| got_b.iter().all(|m| m.feed_id != l.feed_id)),
        "no feed claimed twice"
    );
    // Nothing is left to claim while the leases run, and a feed not yet due is never claimed.
    let more = leases::claim_due_feeds(&a.client, "a", 200, lease, 100)
        .await
        .unwrap();
    assert!(more.is_empty());
    add_feeds_named(&a, "later", 500).await;
    let early = leases::claim_due_feeds(&b.client, "b", 200, lease, 100)
        .await
        .unwrap();
    assert!(early.is_empty());
}

async fn add_feeds_named(s: &PgStore, name: &str, due_at: i64) {
    s.client
        .execute(
            "INSERT INTO feeds (name, config_url, url, next_poll_at) VALUES ($1, 'u', 'u', $2)",
            &[&name, &due_at],
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_lapsed_lease_passes_on_and_a_late_finish_changes_nothing() {
    let pg = Pg::start();
    let a = store(&pg).await;
    let b = PgStore::connect(&pg.params, None).await.unwrap();
    add_feeds(&a, 1, 0).await;
    let short = Duration::from_millis(300);
    let first = leases::claim_due_feeds(&a.client, "a", 10, short, 10)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    // While it runs, nobody else gets the feed.
    assert!(
        leases::claim_due_feeds(&b.client, "b", 10, short, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Instance a stalls past its lease: b takes the feed over, under a new epoch.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let second = leases::claim_due_feeds(&b.client, "b", 10, Duration::from_secs(60), 10)
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].epoch, first[0].epoch + 1);
    // a finishes late: nothing changes; b's poll is recorded.
    assert!(
        !leases::record_poll(&a.client, "a", &first[0], 11, 1_000)
            .await
            .unwrap()
    );
    assert!(
        leases::record_poll(&b.client, "b", &second[0], 12, 2_000)
            .await
            .unwrap()
    );
    let row = a
        .client
        .query_one("SELECT next_poll_at, polls, lease_owner FROM feeds", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 2_000);
    assert_eq!(row.get::<_, i64>(1), 1, "one poll recorded");
    assert_eq!(
        row.get::<_, Option<String>>(2),
        None,
        "the lease is released"
    );
}

#[tokio::test]
async fn leadership_passes_on_when_its_lease_lapses() {
    let pg = Pg::start();
    let a = store(&pg).await;
    let b = PgStore::connect(&pg.params, None).await.unwrap();
    let short = Duration::from_millis(300);
    assert_eq!(
        leases::try_lead(&a.client, "a", short).await.unwrap(),
        Some(1)
    );
    assert_eq!(leases::try_lead(&b.client, "b", short).await.unwrap(), None);
    assert_eq!(
        leases::try_lead(&a.client, "a", short).await.unwrap(),
        Some(1),
        "renewed"
    );
    assert!(leases::still_leads(&a.client, "a", 1).await.unwrap());
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        leases::try_lead(&b.client, "b", short).await.unwrap(),
        Some(2)
    );
    assert!(
        !leases::still_leads(&a.client, "a", 1).await.unwrap(),
        "a no longer leads"
    );
    assert!(leases::still_leads(&b.client, "b", 2).await.unwrap());
    // a comes back: it cannot take leadership while b's lease runs.
    assert_eq!(leases::try_lead(&a.client, "a", short).await.unwrap(), None);
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
    let s = PgStore::connect(&pg.params, None).await.unwrap();
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
            .client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(got, want, "{table}");
    }
    let ids: Vec<String> = s
        .client
        .query("SELECT message_id FROM deliveries ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
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
    s.client
        .execute(
            "INSERT INTO feeds (name, config_url, url) VALUES ('new', 'u', 'u')",
            &[],
        )
        .await
        .expect("the identity continues after the copied ids");
    let found: i64 = s
        .client
        .query_one(
            "SELECT count(*) FROM articles WHERE search @@ to_tsquery('simple', 'palmyre')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
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
