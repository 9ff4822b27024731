//! Tests of the rule language: parsing, compilation and matching, on the seed article and on
//! targeted snippets (`language`, `parsing`); property tests for offsets, candidate selection
//! and parser robustness (`properties`); `place:` and `within()` on the shipped gazetteer
//! (`places`). Shared helpers live here.

mod in_context;
mod language;
mod news_places;
mod parsing;
mod places;
mod properties;

use super::*;

pub(super) const SEED: &str = include_str!("../../../../shared/seed-article.txt");

pub(super) fn daech() -> Vec<EntityDef> {
    let names = [
        "Etat islamique",
        "Islamic State",
        "Daech",
        "Daesh",
        "ISIS",
        "ISIL",
        "EI",
        "EIIL",
    ];
    vec![EntityDef {
        name: "daech".into(),
        names: names.iter().map(|s| s.to_string()).collect(),
    }]
}

pub(super) fn watches(queries: &[&str]) -> Vec<WatchDef> {
    queries
        .iter()
        .enumerate()
        .map(|(i, q)| WatchDef {
            name: format!("w{i}"),
            query: q.to_string(),
        })
        .collect()
}

pub(super) fn matcher(queries: &[&str]) -> Matcher {
    match Matcher::build(&daech(), &watches(queries)) {
        Ok(m) => m,
        Err(e) => panic!("build failed: {e:?}"),
    }
}

pub(super) fn content(text: &str) -> Document<'_> {
    Document {
        title: "",
        summary: "",
        content: text,
    }
}

/// Hits of a one-watch query on a content-only document, or None if it does not match.
pub(super) fn hits(query: &str, text: &str) -> Option<Vec<Hit>> {
    let m = matcher(&[query]);
    let mut found = m.match_document(&content(text));
    assert!(found.len() <= 1);
    found.pop().map(|w| w.hits)
}

pub(super) fn matches(query: &str, text: &str) -> bool {
    hits(query, text).is_some()
}

pub(super) fn hit_texts(query: &str, text: &str) -> Vec<String> {
    hits(query, text)
        .unwrap_or_default()
        .into_iter()
        .map(|h| h.text)
        .collect()
}
