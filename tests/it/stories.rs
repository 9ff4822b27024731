//! Stories (contract §4): the same dispatch in several outlets is one story — one alert,
//! and a digest entry naming every outlet — while different events about the same place
//! on the same day stay apart. The merge is scored on the labelled set of
//! `tests/fixtures/stories/` (precision and recall printed, `--nocapture` to see them);
//! the store-level cases use the library on a real SQLite file; the end-to-end cases run
//! the `vigie` binary against a real HTTP server and a real SMTP server on loopback.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use vigie::config::Config;
use vigie::ingest::{IngestStats, MatchContext, ingest};
use vigie::parse::Item;
use vigie::rules::Matcher;
use vigie::store::Store;
use vigie::stories::{self, Entry, Index};

use crate::support::http::{HttpServer, Route};
use crate::support::smtp::SmtpServer;
use crate::support::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stories")
}

/// One text of the labelled set: `<story>.<variant>.txt`, headline, blank line, body.
struct Text {
    story: String,
    title: String,
    body: String,
}

fn texts() -> BTreeMap<String, Text> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(fixtures()).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_none_or(|x| x != "txt") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let raw = std::fs::read_to_string(&path).unwrap();
        let (title, body) = raw.split_once("\n\n").expect("headline, blank line, body");
        let story = name.split('.').next().unwrap().to_string();
        out.insert(
            name,
            Text {
                story,
                title: title.trim().into(),
                body: body.trim().into(),
            },
        );
    }
    out
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2017-02-22T08:00:00Z")
        .unwrap()
        .to_utc()
}

/// The similarity with which `b`, polled an hour after `a`, joins `a`'s story (`None`:
/// it does not), through the index exactly as ingest uses it.
fn joins(a: &Text, b: &Text) -> Option<f64> {
    let mut ix = Index::new();
    let week = Duration::days(7);
    let placed = stories::place(&ix, &a.title, "", &a.body, t0() - week);
    ix.insert(Entry {
        article_id: 1,
        story_id: 1,
        seen_at: t0(),
        fingerprint: placed.fingerprint.expect("long enough to compare"),
    });
    let later = t0() + Duration::hours(1);
    stories::place(&ix, &b.title, "", &b.body, later - week)
        .found
        .map(|f| f.similarity)
}

#[derive(Default, Debug)]
struct Score {
    tp: usize,
    fp: usize,
    fn_: usize,
    tn: usize,
}

impl Score {
    fn add(&mut self, same: bool, merged: bool) {
        match (same, merged) {
            (true, true) => self.tp += 1,
            (false, true) => self.fp += 1,
            (true, false) => self.fn_ += 1,
            (false, false) => self.tn += 1,
        }
    }
    fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        }
    }
    fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_).max(1) as f64
    }
}

#[test]
fn the_labelled_pairs_merge_with_full_precision() {
    let texts = texts();
    let list = std::fs::read_to_string(fixtures().join("pairs.tsv")).unwrap();
    let mut score = Score::default();
    let mut langs = std::collections::BTreeSet::new();
    let (mut weakest_same, mut strongest_different) = (1.0f64, 0.0f64);
    println!("label      merged  similarity  pair");
    for line in list.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 4, "pairs.tsv: {line}");
        let same = match cols[0] {
            "same" => true,
            "different" => false,
            other => panic!("pairs.tsv: unknown label {other}"),
        };
        let (a, b) = (&texts[cols[1]], &texts[cols[2]]);
        assert_eq!(same, a.story == b.story, "label and story names disagree: {line}");
        langs.insert(&cols[1][..2]);
        // Both orders: whichever outlet is polled first, the pair ends the same.
        for (x, y) in [(a, b), (b, a)] {
            let sim = joins(x, y);
            score.add(same, sim.is_some());
            let estimate = stories::similarity(
                &stories::text(&x.title, "", &x.body).unwrap().fingerprint(),
                &stories::text(&y.title, "", &y.body).unwrap().fingerprint(),
            );
            if same {
                weakest_same = weakest_same.min(estimate);
            } else {
                strongest_different = strongest_different.max(estimate);
            }
            println!("{:<10} {:<7} {estimate:>10.3}  {} / {}", cols[0], sim.is_some(), cols[1], cols[2]);
        }
    }
    let pairs = (score.tp + score.fp + score.fn_ + score.tn) / 2;
    println!(
        "labelled pairs: {pairs} ({} same, {} different; languages {langs:?}), both orders: \
         precision {:.3}, recall {:.3} ({score:?}); threshold {}, weakest same-story similarity \
         {weakest_same:.3}, strongest different-story similarity {strongest_different:.3}",
        (score.tp + score.fn_) / 2,
        (score.fp + score.tn) / 2,
        score.precision(),
        score.recall(),
        stories::THRESHOLD,
    );
    assert!(pairs >= 40 && langs.len() == 2, "{pairs} pairs in {langs:?}");
    assert_eq!(score.fp, 0, "no false merge: {score:?}");
    assert!(score.recall() >= 0.95, "recall {:.3}: {score:?}", score.recall());
}

#[test]
fn every_pair_of_texts_and_one_shared_index_keep_stories_apart() {
    let texts = texts();
    let names: Vec<&String> = texts.keys().collect();
    let mut score = Score::default();
    for a in &names {
        for b in &names {
            if a != b {
                let (ta, tb) = (&texts[*a], &texts[*b]);
                score.add(ta.story == tb.story, joins(ta, tb).is_some());
            }
        }
    }
    println!(
        "all {} ordered pairs of {} texts: precision {:.3}, recall {:.3} ({score:?})",
        names.len() * (names.len() - 1),
        names.len(),
        score.precision(),
        score.recall()
    );
    assert_eq!(score.fp, 0, "{score:?}");
    assert!(score.recall() >= 0.95, "{score:?}");

    // Every text through one index, in name order, as a day of polls would: each joins
    // the story it is found in, or starts one.
    let mut ix = Index::new();
    let mut story_of: BTreeMap<&str, i64> = BTreeMap::new();
    let since = t0() - Duration::days(7);
    for (i, name) in (1i64..).zip(&names) {
        let t = &texts[*name];
        let placed = stories::place(&ix, &t.title, "", &t.body, since);
        let story = placed.found.map_or(i, |f| f.story_id);
        story_of.insert(name.as_str(), story);
        ix.insert(Entry {
            article_id: i,
            story_id: story,
            seen_at: t0() + Duration::minutes(i),
            fingerprint: placed.fingerprint.unwrap(),
        });
    }
    let mut clusters: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
    for (name, story) in &story_of {
        clusters.entry(*story).or_default().push(name);
    }
    let labels: std::collections::BTreeSet<&str> =
        texts.values().map(|t| t.story.as_str()).collect();
    println!(
        "one index: {} texts, {} stories found, {} labelled",
        names.len(),
        clusters.len(),
        labels.len()
    );
    for members in clusters.values() {
        let first = &texts[members[0]].story;
        assert!(
            members.iter().all(|m| &texts[*m].story == first),
            "false merge: {members:?}"
        );
    }
    assert_eq!(clusters.len(), labels.len(), "{clusters:?}");
}

// ---- the store: stories through ingest, on a real SQLite file ----

const RULES: &str = r#"
[entity.daech]
names = ["Etat islamique", "Islamic State", "Daech", "Daesh", "ISIS", "EI"]

[[watch]]
name = "palmyra-front"
query = 'Palmyre AND (@daech OR offensive)'
alert = "immediate"
to = ["duty@example.org"]
"#;

struct Lib {
    _dir: tempfile::TempDir,
    cfg: Config,
    matcher: Matcher,
}

fn lib(extra: &str) -> Lib {
    let dir = tempfile::tempdir().unwrap();
    let main = format!(
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n{extra}\n{}",
        feeds_toml(&[
            ("elwatan", "http://127.0.0.1:9/a".into()),
            ("aps", "http://127.0.0.1:9/b".into()),
            ("lexpression", "http://127.0.0.1:9/c".into()),
        ])
    );
    let path = write_config(dir.path(), &main, RULES);
    let cfg = vigie::config::load(&path).unwrap();
    let matcher = cfg.rules.compile().unwrap();
    Lib {
        _dir: dir,
        cfg,
        matcher,
    }
}

impl Lib {
    fn open(&self) -> Store {
        let mut s = Store::open_in(&self.cfg.state_dir).unwrap();
        s.sync_feeds(&self.cfg.feeds).unwrap();
        s
    }

    fn ingest(&self, store: &mut Store, feed: usize, items: &[Item], now: DateTime<Utc>) -> IngestStats {
        let f = &self.cfg.feeds[feed];
        let id = store.feed_state(&f.name).unwrap().unwrap().id;
        let ctx = MatchContext {
            matcher: &self.matcher,
            watches: &self.cfg.rules.watches,
            config: &self.cfg,
        };
        ingest(store, f, id, false, items, &ctx, now).unwrap()
    }

    fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.cfg.state_dir.join("vigie.db")).unwrap()
    }
}

fn fixture_item(name: &str, guid: &str, link: &str) -> Item {
    let raw = std::fs::read_to_string(fixtures().join(format!("{name}.txt"))).unwrap();
    let (title, body) = raw.split_once("\n\n").unwrap();
    Item {
        guid: Some(guid.into()),
        link: Some(link.into()),
        title: title.trim().into(),
        summary: body.trim().into(),
        ..Item::default()
    }
}

fn article_id(db: &rusqlite::Connection, guid: &str) -> i64 {
    db.query_row("SELECT id FROM articles WHERE guid = ?1", [guid], |r| r.get(0))
        .unwrap()
}

fn count(db: &rusqlite::Connection, sql: &str) -> i64 {
    db.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn a_copy_in_another_outlet_joins_the_story_and_queues_nothing() {
    let l = lib("");
    let mut store = l.open();
    let seed = fixture_item("fr-palmyre-offensive.a", "s1", "https://elwatan.example/a");
    let copy = fixture_item("fr-palmyre-offensive.c", "c1", "https://lexpression.example/c");
    let s = l.ingest(&mut store, 0, &[seed], t0());
    assert_eq!((s.new, s.copies, s.deliveries), (1, 0, 1));
    let s = l.ingest(&mut store, 2, &[copy], t0() + Duration::hours(2));
    assert_eq!((s.new, s.copies, s.matches, s.deliveries), (1, 1, 1, 0));
    let db = l.db();
    let (a, c) = (article_id(&db, "s1"), article_id(&db, "c1"));
    assert_eq!(
        vigie::store::stories::outlets(&db, c).unwrap(),
        vec!["elwatan".to_string(), "lexpression".to_string()]
    );
    assert_eq!(vigie::store::stories::members(&db, a).unwrap(), vec![a, c]);
    assert_eq!(
        vigie::store::stories::story_key(&db, c).unwrap(),
        vigie::store::stories::story_key(&db, a).unwrap()
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM deliveries"), 1);
}

#[test]
fn the_index_is_rebuilt_from_the_database_and_sees_other_processes() {
    let l = lib("");
    // The daemon's store, loaded before the seed exists.
    let mut daemon = l.open();
    let other = fixture_item("en-quake-italy.a", "q", "https://x.example/q");
    l.ingest(&mut daemon, 1, &[other], t0());
    // `vigie poll` in another process stores the seed.
    let mut poll = l.open();
    let seed = fixture_item("fr-palmyre-offensive.a", "s1", "https://elwatan.example/a");
    assert_eq!(l.ingest(&mut poll, 0, &[seed], t0()).deliveries, 1);
    drop(poll);
    let copy = fixture_item("fr-palmyre-offensive.b", "b1", "https://aps.example/b");
    let s = l.ingest(&mut daemon, 1, &[copy], t0() + Duration::hours(1));
    assert_eq!((s.copies, s.deliveries), (1, 0));
    // After a restart, too.
    drop(daemon);
    let mut restarted = l.open();
    let third = fixture_item("fr-palmyre-offensive.c", "c1", "https://lexpression.example/c");
    let s = l.ingest(&mut restarted, 2, &[third], t0() + Duration::hours(3));
    assert_eq!((s.copies, s.deliveries), (1, 0));
    let db = l.db();
    assert_eq!(
        vigie::store::stories::outlets(&db, article_id(&db, "s1")).unwrap(),
        vec!["elwatan", "aps", "lexpression"]
    );
}

#[test]
fn a_copy_after_the_story_window_is_a_new_story() {
    for (extra, days, joins) in [("", 8, false), ("", 6, true), ("story_window = \"10d\"", 8, true)] {
        let l = lib(extra);
        let mut store = l.open();
        let seed = fixture_item("fr-palmyre-offensive.a", "s1", "https://elwatan.example/a");
        l.ingest(&mut store, 0, &[seed], t0());
        let copy = fixture_item("fr-palmyre-offensive.b", "b1", "https://aps.example/b");
        let s = l.ingest(&mut store, 1, &[copy], t0() + Duration::days(days));
        assert_eq!(
            (s.copies, s.deliveries),
            if joins { (1, 0) } else { (0, 1) },
            "window {extra:?}, {days} days later"
        );
    }
}

#[test]
fn an_edited_copy_keeps_its_story_and_later_copies_find_the_new_text() {
    let l = lib("");
    let mut store = l.open();
    let seed = fixture_item("en-palmyra-retaken.a", "a", "https://x.example/a");
    l.ingest(&mut store, 0, &[seed.clone()], t0());
    // The outlet rewrites its item entirely (same guid): an edit, same story, no alert.
    let mut edited = fixture_item("fr-palmyre-offensive.a", "a", "https://x.example/a");
    edited.guid = seed.guid.clone();
    let s = l.ingest(&mut store, 0, &[edited], t0() + Duration::hours(1));
    assert_eq!((s.edited, s.copies, s.deliveries), (1, 0, 1));
    // A copy of the new text elsewhere joins that story: no second alert.
    let copy = fixture_item("fr-palmyre-offensive.b", "b", "https://y.example/b");
    let s = l.ingest(&mut store, 1, &[copy], t0() + Duration::hours(2));
    assert_eq!((s.copies, s.deliveries), (1, 0));
}

// ---- end to end: the `vigie` binary, HTTP and SMTP on loopback ----

const E2E_RULES: &str = r#"
[entity.daech]
names = ["Etat islamique", "Islamic State", "Daech", "Daesh", "ISIS", "EI"]

[[watch]]
name = "palmyra-front"
query = 'Palmyre AND (@daech OR offensive)'
alert = "immediate"
to = ["duty@example.org"]

[[watch]]
name = "palmyra-desk"
query = 'Palmyre'
alert = "digest"
digest = "desk"
"#;

fn body_of(name: &str) -> (String, String) {
    let raw = std::fs::read_to_string(fixtures().join(format!("{name}.txt"))).unwrap();
    let (t, b) = raw.split_once("\n\n").unwrap();
    (t.trim().into(), b.trim().into())
}

/// Three outlets on one HTTP server, an SMTP server, and a digest that only runs when
/// asked (`vigie digest send`).
async fn setup_e2e(feeds: &[(&str, Vec<FeedItem>)]) -> (HttpServer, SmtpServer, tempfile::TempDir, PathBuf) {
    let http = HttpServer::start().await;
    let smtp = SmtpServer::start().await;
    let mut named = Vec::new();
    for (name, items) in feeds {
        let path = format!("/{name}.xml");
        let xml = rss(name, items, "UTF-8");
        http.route(&path, Route::ok("application/rss+xml", xml.into_bytes()));
        named.push((*name, http.url(&path)));
    }
    let dir = tempfile::tempdir().unwrap();
    let main = format!(
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n{}\n{}\n\
         [[digest]]\nname = \"desk\"\ncron = \"0 0 1 1 *\"\ntimezone = \"UTC\"\nto = [\"desk@example.org\"]\n",
        feeds_toml(&named),
        smtp_toml(smtp.addr.port())
    );
    let cfg = write_config(dir.path(), &main, E2E_RULES);
    (http, smtp, dir, cfg)
}

fn mails_to(smtp: &SmtpServer, to: &str) -> usize {
    smtp.messages()
        .iter()
        .filter(|m| m.to.iter().any(|t| t == to))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_in_three_outlets_is_one_story_one_alert_and_one_digest_entry() {
    let seed = seed_article();
    let title = "Syrie : l'armée progresse vers Palmyre";
    let (variant_title, variant) = body_of("fr-palmyre-offensive.b");
    // The third outlet's copy: re-headlined, a dateline, the last 15 % of the seed cut.
    assert!(variant.starts_with("DAMAS (AFP) - "));
    let kept = (variant.split_whitespace().count() - 3) as f64 / seed.split_whitespace().count() as f64;
    assert!((0.83..=0.87).contains(&kept), "{kept}");
    let link = "https://www.elwatan.example/international/palmyre-offensive";
    let (http, smtp, dir, cfg) = setup_e2e(&[
        (
            "elwatan",
            vec![FeedItem::new("ew-1", title, &format!("{link}?utm_source=rss&utm_medium=feed"), &seed)],
        ),
        (
            "aps",
            vec![FeedItem::new("aps-77", title, &format!("{link}?xtor=RSS-450#xtor=RSS-450"), &seed)],
        ),
        (
            "lexpression",
            vec![FeedItem::new("lx-9", &variant_title, "https://lexpression.example/syrie/palmyre-20-km", &variant)],
        ),
    ])
    .await;

    for (feed, alerts) in [("elwatan", 1), ("aps", 1), ("lexpression", 1)] {
        let out = vigie(&cfg, &["poll", "--feed", feed]).await;
        assert!(out.status.success(), "poll {feed}: {}", stderr(&out));
        assert_eq!(mails_to(&smtp, "duty@example.org"), alerts, "after polling {feed}");
    }
    assert_eq!(http.hits("/lexpression.xml"), 1);

    let db = rusqlite::Connection::open(dir.path().join("state/vigie.db")).unwrap();
    // The two tagged links are one article seen in two feeds; the copy is a second
    // article of the same story.
    assert_eq!(count(&db, "SELECT COUNT(*) FROM articles"), 2);
    assert_eq!(count(&db, "SELECT COUNT(DISTINCT story_id) FROM articles"), 1);
    let first = article_id(&db, "ew-1");
    assert_eq!(
        vigie::store::stories::outlets(&db, first).unwrap(),
        vec!["elwatan", "aps", "lexpression"]
    );

    let sent = vigie(&cfg, &["digest", "send", "desk"]).await;
    assert!(sent.status.success(), "{}", stderr(&sent));
    let digests: Vec<_> = smtp
        .messages()
        .into_iter()
        .filter(|m| m.to.iter().any(|t| t == "desk@example.org"))
        .collect();
    assert_eq!(digests.len(), 1);
    let subject = digests[0].header("Subject").unwrap();
    assert!(subject.contains("1 story"), "{subject}");
    let text = digests[0].text();
    assert!(text.contains("elwatan, aps, lexpression"), "{text}");
    assert!(digests[0].html().contains("lexpression"));
    assert_eq!(smtp.messages().len(), 2, "one alert and one digest in all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_palmyra_articles_of_one_day_are_two_stories() {
    let (t1, b1) = body_of("fr-palmyre-unesco.a");
    let (t2, b2) = body_of("fr-palmyre-suite.a");
    let (_http, smtp, dir, cfg) = setup_e2e(&[
        ("lemonde", vec![FeedItem::new("u", &t1, "https://lemonde.example/unesco", &b1)]),
        ("liberation", vec![FeedItem::new("s", &t2, "https://liberation.example/suite", &b2)]),
    ])
    .await;
    let out = vigie(&cfg, &["poll"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(mails_to(&smtp, "duty@example.org"), 2);
    let db = rusqlite::Connection::open(dir.path().join("state/vigie.db")).unwrap();
    assert_eq!(count(&db, "SELECT COUNT(DISTINCT story_id) FROM articles"), 2);
    let sent = vigie(&cfg, &["digest", "send", "desk"]).await;
    assert!(sent.status.success(), "{}", stderr(&sent));
    let digest = smtp
        .messages()
        .into_iter()
        .find(|m| m.to.iter().any(|t| t == "desk@example.org"))
        .expect("a digest");
    assert!(digest.header("Subject").unwrap().contains("2 stories"));
}
