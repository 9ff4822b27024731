//! Tests of `ingest`.
use super::*;
use crate::config::{Config, load_str};
use crate::rules::Matcher;
use std::path::Path;

const RULES: &str = "[[watch]]\nname = \"p\"\nquery = 'Palmyre'\nalert = \"immediate\"\nto = [\"a@x.org\", \"b@x.org\"]\n";

fn setup(dir: &Path) -> (Config, Matcher, Store) {
    setup_with(dir, RULES)
}

fn setup_with(dir: &Path, rules: &str) -> (Config, Matcher, Store) {
    let main = "state_dir = \"s\"\nrules = [\"r.toml\"]\n[[feed]]\nname = \"f1\"\nurl = \"http://127.0.0.1/1\"\n[[feed]]\nname = \"f2\"\nurl = \"http://127.0.0.1/2\"\n";
    let cfg = load_str(&dir.join("vigie.toml"), main.into(), &mut |_| {
        Ok(rules.into())
    })
    .unwrap();
    let matcher = cfg.rules.compile().unwrap();
    let mut store = Store::open_config(&cfg.state_dir, cfg.store.as_ref()).unwrap();
    store.sync_feeds(&cfg.feeds).unwrap();
    (cfg, matcher, store)
}

/// The stored state of the configured feed `name`.
fn feed(store: &Store, name: &str) -> crate::store::feeds::FeedState {
    store.feed_state(name).unwrap().unwrap()
}

fn item(guid: Option<&str>, link: &str, title: &str) -> Item {
    Item {
        guid: guid.map(str::to_string),
        link: Some(link.to_string()),
        title: title.to_string(),
        ..Item::default()
    }
}

fn pending(store: &Store) -> i64 {
    store
        .conn
        .query_row(
            "SELECT COUNT(*) FROM deliveries WHERE status = 'pending'",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn a_repolled_or_edited_article_does_not_alert_again() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, matcher, mut store) = setup(dir.path());
    let ctx = MatchContext::new(&matcher, &cfg);
    let now = Utc::now();
    let f1 = feed(&store, "f1");
    let items = vec![
        item(Some("a"), "http://ex.org/a", "Palmyre reprise"),
        item(Some("b"), "http://ex.org/b", "Autre"),
    ];
    let s = ingest(&mut store, &cfg.feeds[0], f1.id, false, &items, &ctx, now).unwrap();
    assert_eq!((s.new, s.matches, s.deliveries), (2, 1, 2));
    let s = ingest(&mut store, &cfg.feeds[0], f1.id, false, &items, &ctx, now).unwrap();
    assert_eq!((s.new, s.edited, s.matches), (0, 0, 0));
    let edited = vec![item(
        Some("a"),
        "http://ex.org/a",
        "Palmyre reprise par l'armée",
    )];
    let s = ingest(&mut store, &cfg.feeds[0], f1.id, false, &edited, &ctx, now).unwrap();
    assert_eq!((s.new, s.edited, s.matches), (0, 1, 0));
    assert_eq!(pending(&store), 2);
    let title: String = store
        .conn
        .query_row("SELECT title FROM articles WHERE guid = 'a'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(title, "Palmyre reprise par l'armée");
}

#[test]
fn the_same_link_in_two_feeds_is_one_article() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, matcher, mut store) = setup(dir.path());
    let ctx = MatchContext::new(&matcher, &cfg);
    let now = Utc::now();
    let (f1, f2) = (feed(&store, "f1"), feed(&store, "f2"));
    let a = vec![item(
        Some("x-1"),
        "https://ex.org/a?utm_source=rss",
        "Palmyre",
    )];
    let b = vec![item(
        Some("y-9"),
        "https://EX.org/a?xtor=RSS-3#top",
        "Palmyre",
    )];
    ingest(&mut store, &cfg.feeds[0], f1.id, false, &a, &ctx, now).unwrap();
    let s = ingest(&mut store, &cfg.feeds[1], f2.id, false, &b, &ctx, now).unwrap();
    assert_eq!((s.new, s.matches), (0, 0));
    let n: i64 = store
        .conn
        .query_row("SELECT COUNT(*) FROM articles", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    let seen: i64 = store
        .conn
        .query_row("SELECT COUNT(*) FROM article_feeds", [], |r| r.get(0))
        .unwrap();
    assert_eq!(seen, 2);
    assert_eq!(pending(&store), 2);
}

#[test]
fn a_renewed_guid_with_the_same_link_is_the_same_article() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, matcher, mut store) = setup(dir.path());
    let ctx = MatchContext::new(&matcher, &cfg);
    let now = Utc::now();
    let f1 = feed(&store, "f1");
    let first = vec![item(Some("urn:1"), "http://ex.org/a?xtor=RSS-1", "Palmyre")];
    let renewed = vec![item(Some("urn:1-v2"), "http://ex.org/a", "Palmyre")];
    ingest(&mut store, &cfg.feeds[0], f1.id, false, &first, &ctx, now).unwrap();
    let s = ingest(&mut store, &cfg.feeds[0], f1.id, false, &renewed, &ctx, now).unwrap();
    assert_eq!((s.new, s.edited, s.matches, s.deliveries), (0, 0, 0, 0));
    let n: i64 = store
        .conn
        .query_row("SELECT COUNT(*) FROM articles", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    // The feed's new id is remembered: the next poll finds the article by it.
    let guid: String = store
        .conn
        .query_row("SELECT guid FROM article_feeds", [], |r| r.get(0))
        .unwrap();
    assert_eq!(guid, "urn:1-v2");
    assert_eq!(pending(&store), 2);
}

#[test]
fn an_edit_alerts_only_the_watches_it_matches_for_the_first_time() {
    let rules = format!(
        "{RULES}[[watch]]\nname = \"g\"\nquery = 'Genève'\nalert = \"immediate\"\nto = [\"a@x.org\"]\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let (cfg, matcher, mut store) = setup_with(dir.path(), &rules);
    let ctx = MatchContext::new(&matcher, &cfg);
    let t0 = Utc::now() - chrono::Duration::hours(1);
    let f1 = feed(&store, "f1");
    let v1 = vec![item(Some("a"), "http://ex.org/a", "Palmyre : l'offensive")];
    let v2 = vec![item(
        Some("a"),
        "http://ex.org/a",
        "Palmyre : l'offensive, pourparlers à Genève",
    )];
    let s = ingest(&mut store, &cfg.feeds[0], f1.id, false, &v1, &ctx, t0).unwrap();
    assert_eq!((s.matches, s.deliveries), (1, 2));
    let s = ingest(
        &mut store,
        &cfg.feeds[0],
        f1.id,
        false,
        &v2,
        &ctx,
        Utc::now(),
    )
    .unwrap();
    // p already alerted a@ and b@; g alerts a@ for the first time.
    assert_eq!((s.edited, s.matches, s.deliveries), (1, 1, 1));
    let (first, updated): (i64, Option<i64>) = store
        .conn
        .query_row("SELECT first_seen_at, updated_at FROM articles", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(first, t0.timestamp());
    assert!(updated.is_some_and(|u| u > first));
    assert_eq!(pending(&store), 3);
}

#[test]
fn old_items_on_a_first_poll_are_stored_without_alerting() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, matcher, mut store) = setup(dir.path());
    let ctx = MatchContext::new(&matcher, &cfg);
    let now = Utc::now();
    let f1 = feed(&store, "f1");
    let mut old = item(Some("old"), "http://ex.org/old", "Palmyre en 2015");
    old.published = Some(now - chrono::Duration::days(5));
    let mut fresh = item(Some("new"), "http://ex.org/new", "Palmyre aujourd'hui");
    fresh.published = Some(now - chrono::Duration::hours(2));
    let undated = item(Some("undated"), "http://ex.org/u", "Palmyre sans date");
    let s = ingest(
        &mut store,
        &cfg.feeds[0],
        f1.id,
        true,
        &[old, fresh, undated],
        &ctx,
        now,
    )
    .unwrap();
    assert_eq!((s.new, s.matches, s.deliveries), (3, 3, 4));
}

#[test]
fn an_article_stored_under_an_earlier_versions_longer_key_is_found_again() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, matcher, mut store) = setup(dir.path());
    let ctx = MatchContext::new(&matcher, &cfg);
    let now = Utc::now();
    let f1 = feed(&store, "f1");
    // No link: only the key and the feed's own id can recognise the item.
    let mut it = item(Some("g-1"), "", "Palmyre reprise");
    it.link = None;
    let s = ingest(
        &mut store,
        &cfg.feeds[0],
        f1.id,
        false,
        std::slice::from_ref(&it),
        &ctx,
        now,
    )
    .unwrap();
    assert_eq!((s.new, s.deliveries), (1, 2));
    // Earlier versions keyed items by the whole 256-bit hash.
    let old_key = format!("id:{}", identify::sha256_hex(&["f1", "g-1"]));
    store
        .conn
        .execute("UPDATE articles SET key = ?1", [&old_key])
        .unwrap();
    let s = ingest(&mut store, &cfg.feeds[0], f1.id, false, &[it], &ctx, now).unwrap();
    assert_eq!((s.new, s.edited, s.deliveries), (0, 0, 0));
    let n: i64 = store
        .conn
        .query_row("SELECT COUNT(*) FROM articles", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn an_article_carried_by_two_feeds_keeps_its_first_feeds_version() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, matcher, mut store) = setup(dir.path());
    let ctx = MatchContext::new(&matcher, &cfg);
    let now = Utc::now();
    let (f1, f2) = (feed(&store, "f1"), feed(&store, "f2"));
    let ours = vec![item(
        Some("x-1"),
        "https://ex.org/a",
        "Palmyre : l'armée avance",
    )];
    let theirs = vec![item(
        Some("y-9"),
        "https://ex.org/a",
        "Palmyre, l'armée syrienne avance",
    )];
    let title = |store: &Store| -> String {
        store
            .conn
            .query_row("SELECT title FROM articles", [], |r| r.get(0))
            .unwrap()
    };
    let s = ingest(&mut store, &cfg.feeds[0], f1.id, false, &ours, &ctx, now).unwrap();
    assert_eq!(s.new, 1);
    // Both feeds polled again and again: the article is never rewritten.
    for _ in 0..3 {
        let a = ingest(&mut store, &cfg.feeds[1], f2.id, false, &theirs, &ctx, now).unwrap();
        let b = ingest(&mut store, &cfg.feeds[0], f1.id, false, &ours, &ctx, now).unwrap();
        assert_eq!((a.new, a.edited, b.new, b.edited), (0, 0, 0, 0));
        assert_eq!(title(&store), "Palmyre : l'armée avance");
    }
    let carriers: i64 = store
        .conn
        .query_row("SELECT COUNT(*) FROM article_feeds", [], |r| r.get(0))
        .unwrap();
    assert_eq!(carriers, 2);
    // Its own feed's edit is taken.
    let edited = vec![item(
        Some("x-1"),
        "https://ex.org/a",
        "Palmyre reprise par l'armée",
    )];
    let s = ingest(&mut store, &cfg.feeds[0], f1.id, false, &edited, &ctx, now).unwrap();
    assert_eq!(s.edited, 1);
    assert_eq!(title(&store), "Palmyre reprise par l'armée");
}

#[test]
fn a_match_stores_a_few_dozen_hits_and_counts_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, matcher, mut store) = setup(dir.path());
    let ctx = MatchContext::new(&matcher, &cfg);
    let f1 = feed(&store, "f1");
    let mut long = item(Some("a"), "http://ex.org/a", "Palmyre");
    long.content = "Palmyre, encore Palmyre. ".repeat(500);
    let s = ingest(
        &mut store,
        &cfg.feeds[0],
        f1.id,
        false,
        &[long],
        &ctx,
        Utc::now(),
    )
    .unwrap();
    assert_eq!(s.matches, 1);
    let (hits, count): (String, i64) = store
        .conn
        .query_row("SELECT hits, hit_count FROM matches", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    let stored = crate::store::outbox::decode_hits(&hits);
    // The title's one hit, and the first of the content's thousand.
    assert_eq!(
        stored.len(),
        1 + crate::ingest::prepare::STORED_HITS_PER_FIELD
    );
    assert_eq!(count, 1001);
    assert_eq!(
        (stored[0].field, stored[0].text.as_str()),
        (crate::rules::Field::Title, "Palmyre")
    );
    assert!(
        stored[1..]
            .iter()
            .all(|h| h.field == crate::rules::Field::Content && h.text == "Palmyre")
    );
}
