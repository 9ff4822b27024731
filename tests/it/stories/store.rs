//! Stories through `ingest` on a real store (SQLite, or PostgreSQL in that run): copies
//! join, the index survives a restart and sees other processes, the window, edits; several
//! feeds written in one transaction (as the writer groups them) carrying the same article, or
//! articles of the same second.

use chrono::{DateTime, Duration, Utc};
use vigie::config::Config;
use vigie::ingest::prepare::{Identified, prepare};
use vigie::ingest::{Batch, IngestStats, MatchContext, ingest, store_batches};
use vigie::parse::Item;
use vigie::rules::Matcher;
use vigie::store::Store;

use super::{article_id, count, fixture_item, t0};
use crate::support::*;

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
    let path = write_config(dir.path(), &main, PALMYRA_FRONT);
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
        let mut s = Store::open_config(&self.cfg.state_dir, self.cfg.store.as_ref()).unwrap();
        s.sync_feeds(&self.cfg.feeds).unwrap();
        s
    }

    fn ingest(
        &self,
        store: &mut Store,
        feed: usize,
        items: &[Item],
        now: DateTime<Utc>,
    ) -> IngestStats {
        let f = &self.cfg.feeds[feed];
        let id = store.feed_state(&f.name).unwrap().unwrap().id;
        let ctx = MatchContext::new(&self.matcher, &self.cfg);
        ingest(store, f, id, false, items, &ctx, now).unwrap()
    }

    /// Several feeds' items written in one transaction, as the writer groups the feeds
    /// that finish together.
    fn together(
        &self,
        store: &mut Store,
        feeds: &[(usize, Vec<Item>)],
        now: DateTime<Utc>,
    ) -> Vec<IngestStats> {
        let ctx = MatchContext::new(&self.matcher, &self.cfg);
        let batches: Vec<Batch> = feeds
            .iter()
            .map(|(feed, items)| {
                let f = &self.cfg.feeds[*feed];
                Batch {
                    feed: f.clone(),
                    feed_id: store.feed_state(&f.name).unwrap().unwrap().id,
                    first_poll: false,
                    prepared: (items.iter())
                        .map(|it| prepare(f, Identified::new(&f.name, it.clone()), &ctx, now))
                        .collect(),
                    carried: Vec::new(),
                    total: items.len(),
                }
            })
            .collect();
        (store_batches(store, &batches, &ctx, now).into_iter())
            .map(Result::unwrap)
            .collect()
    }

    fn db(&self) -> Store {
        Store::open_config(&self.cfg.state_dir, self.cfg.store.as_ref()).unwrap()
    }
}

#[test]
fn a_copy_in_another_outlet_joins_the_story_and_queues_nothing() {
    let l = lib("");
    let mut store = l.open();
    let seed = fixture_item("fr-palmyre-offensive.a", "s1", "https://elwatan.example/a");
    let copy = fixture_item(
        "fr-palmyre-offensive.c",
        "c1",
        "https://lexpression.example/c",
    );
    let s = l.ingest(&mut store, 0, &[seed], t0());
    assert_eq!((s.new, s.copies, s.deliveries), (1, 0, 1));
    let s = l.ingest(&mut store, 2, &[copy], t0() + Duration::hours(2));
    assert_eq!((s.new, s.copies, s.matches, s.deliveries), (1, 1, 1, 0));
    let store = l.db();
    let db = store.conn();
    let (a, c) = (article_id(db, "s1"), article_id(db, "c1"));
    assert_eq!(
        vigie::store::stories::outlets(db, c).unwrap(),
        vec!["elwatan".to_string(), "lexpression".to_string()]
    );
    assert_eq!(vigie::store::stories::members(db, a).unwrap(), vec![a, c]);
    assert_eq!(
        vigie::store::stories::story_key(db, c).unwrap(),
        vigie::store::stories::story_key(db, a).unwrap()
    );
    assert_eq!(count(db, "SELECT COUNT(*) FROM deliveries"), 1);
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
    let third = fixture_item(
        "fr-palmyre-offensive.c",
        "c1",
        "https://lexpression.example/c",
    );
    let s = l.ingest(&mut restarted, 2, &[third], t0() + Duration::hours(3));
    assert_eq!((s.copies, s.deliveries), (1, 0));
    let store = l.db();
    let db = store.conn();
    assert_eq!(
        vigie::store::stories::outlets(db, article_id(db, "s1")).unwrap(),
        vec!["elwatan", "aps", "lexpression"]
    );
}

#[test]
fn a_copy_after_the_story_window_is_a_new_story() {
    for (extra, days, joins) in [
        ("", 8, false),
        ("", 6, true),
        ("story_window = \"10d\"", 8, true),
    ] {
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
    l.ingest(&mut store, 0, std::slice::from_ref(&seed), t0());
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

#[test]
fn feeds_written_together_store_an_article_once_and_alert_once_for_its_story() {
    let l = lib("");
    let mut store = l.open();
    let seed = fixture_item("fr-palmyre-offensive.a", "s1", "https://elwatan.example/a");
    // The same dispatch under another feed's own id, at the same link.
    let mut same = seed.clone();
    same.guid = Some("aps-7".into());
    let copy = fixture_item(
        "fr-palmyre-offensive.c",
        "c1",
        "https://lexpression.example/c",
    );
    // elwatan repeats its item; aps carries it too; lexpression has a copy of the story.
    let s = l.together(
        &mut store,
        &[
            (0, vec![seed.clone(), seed]),
            (1, vec![same]),
            (2, vec![copy]),
        ],
        t0(),
    );
    let news: Vec<(usize, usize)> = s.iter().map(|s| (s.new, s.copies)).collect();
    assert_eq!(news, [(1, 0), (0, 0), (1, 1)]);
    assert_eq!(s.iter().map(|s| s.deliveries).sum::<usize>(), 1);
    let store = l.db();
    let db = store.conn();
    assert_eq!(count(db, "SELECT COUNT(*) FROM articles"), 2);
    assert_eq!(count(db, "SELECT COUNT(*) FROM stories"), 1);
    assert_eq!(count(db, "SELECT COUNT(*) FROM deliveries"), 1);
    let (a, c) = (article_id(db, "s1"), article_id(db, "c1"));
    assert_eq!(
        vigie::store::stories::outlets(db, c).unwrap(),
        vec!["elwatan", "aps", "lexpression"]
    );
    assert_eq!(vigie::store::stories::members(db, a).unwrap(), vec![a, c]);
    // The next poll of each finds what it carries.
    let again = fixture_item("fr-palmyre-offensive.a", "s1", "https://elwatan.example/a");
    let s = l.ingest(&mut l.open(), 0, &[again], t0() + Duration::minutes(5));
    assert_eq!((s.new, s.edited, s.deliveries), (0, 0, 0));
}

#[test]
fn an_edit_and_another_feeds_copy_of_it_written_together() {
    let l = lib("");
    let mut store = l.open();
    let mut seed = fixture_item("fr-palmyre-offensive.a", "s1", "https://elwatan.example/a");
    seed.title = "Palmyre : des nouvelles".into();
    seed.summary = "Rien de plus.".into();
    let s = l.ingest(&mut store, 0, std::slice::from_ref(&seed), t0());
    assert_eq!((s.new, s.matches), (1, 0));
    // Its feed edits it (now it matches); another feed carries the edited text at the
    // same link, in the same transaction: one article, the feed's version, one alert.
    let edited = fixture_item("fr-palmyre-offensive.a", "s1", "https://elwatan.example/a");
    let mut theirs = edited.clone();
    theirs.guid = Some("aps-7".into());
    let s = l.together(
        &mut store,
        &[(0, vec![edited.clone()]), (1, vec![theirs])],
        t0() + Duration::hours(1),
    );
    let seen: Vec<(usize, usize, usize)> =
        s.iter().map(|s| (s.new, s.edited, s.deliveries)).collect();
    assert_eq!(seen, [(0, 1, 1), (0, 0, 0)]);
    let store = l.db();
    let db = store.conn();
    assert_eq!(count(db, "SELECT COUNT(*) FROM articles"), 1);
    assert_eq!(count(db, "SELECT COUNT(*) FROM article_feeds"), 2);
    let title: String = db
        .query_row("SELECT title FROM articles", [], |r| r.get(0))
        .unwrap();
    assert_eq!(title, edited.title);
}

#[test]
fn items_of_one_second_are_filed_in_the_same_order_whichever_feed_answered_first() {
    // Two feeds carry the story at the same second (feeds that round to the minute): the
    // story's first article, and the order of its outlets, do not hang on which feed's
    // batch reached the writer first.
    let at = t0() - Duration::hours(1);
    let mut seed = fixture_item("fr-palmyre-offensive.a", "s1", "https://elwatan.example/a");
    let mut copy = fixture_item(
        "fr-palmyre-offensive.c",
        "c1",
        "https://lexpression.example/c",
    );
    seed.published = Some(at);
    copy.published = Some(at);
    for order in [[0, 2], [2, 0]] {
        let l = lib("");
        let mut store = l.open();
        let feeds: Vec<(usize, Vec<Item>)> = (order.iter())
            .map(|&f| (f, vec![if f == 0 { seed.clone() } else { copy.clone() }]))
            .collect();
        let stats = l.together(&mut store, &feeds, t0());
        // The alert is raised by elwatan's article, whichever batch came first.
        let alerted: Vec<(usize, usize)> = (order.iter().zip(&stats))
            .map(|(&f, s)| (f, s.deliveries))
            .collect();
        assert!(
            alerted.contains(&(0, 1)) && alerted.contains(&(2, 0)),
            "feeds answering in the order {order:?}: {alerted:?}"
        );
        let store = l.db();
        let db = store.conn();
        let (a, c) = (article_id(db, "s1"), article_id(db, "c1"));
        assert_eq!(
            vigie::store::stories::members(db, c).unwrap(),
            vec![a, c],
            "feeds answering in the order {order:?}"
        );
        assert_eq!(
            vigie::store::stories::outlets(db, c).unwrap(),
            vec!["elwatan".to_string(), "lexpression".to_string()],
            "feeds answering in the order {order:?}"
        );
    }
}
