//! The story merge scored on the labelled set: every listed pair in both orders, every
//! pair of texts, and all texts through one shared index.

use std::collections::BTreeMap;

use chrono::Duration;
use vigie::stories::{self, Entry, Index};

use super::{Text, fixtures, t0, texts};

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
    println!("label      merged a→b b→a  similarity  pair");
    for line in list
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 4, "pairs.tsv: {line}");
        let same = match cols[0] {
            "same" => true,
            "different" => false,
            other => panic!("pairs.tsv: unknown label {other}"),
        };
        let (a, b) = (&texts[cols[1]], &texts[cols[2]]);
        assert_eq!(
            same,
            a.story == b.story,
            "label and story names disagree: {line}"
        );
        langs.insert(&cols[1][..2]);
        // Both orders: whichever outlet is polled first, the pair ends the same.
        let merged = [joins(a, b).is_some(), joins(b, a).is_some()];
        merged.iter().for_each(|&m| score.add(same, m));
        let estimate = stories::similarity(
            &stories::text(&a.title, "", &a.body).unwrap().fingerprint(),
            &stories::text(&b.title, "", &b.body).unwrap().fingerprint(),
        );
        if same {
            weakest_same = weakest_same.min(estimate);
        } else {
            strongest_different = strongest_different.max(estimate);
        }
        println!(
            "{:<10} {:<5} {:<5} {estimate:>10.3}  {} / {}",
            cols[0], merged[0], merged[1], cols[1], cols[2]
        );
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
    assert!(
        pairs >= 40 && langs.len() == 2,
        "{pairs} pairs in {langs:?}"
    );
    assert_eq!(score.fp, 0, "no false merge: {score:?}");
    assert!(
        score.recall() >= 0.95,
        "recall {:.3}: {score:?}",
        score.recall()
    );
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
