//! Stories (contract §4): the same dispatch in several outlets is one story — one alert,
//! and a digest entry naming every outlet — while different events about the same place
//! on the same day stay apart. The merge is scored on the labelled set of
//! `tests/fixtures/stories/` (precision and recall printed, `--nocapture` to see them);
//! the store-level cases use the library on a real SQLite file; the end-to-end cases run
//! the `vigie` binary against a real HTTP server and a real SMTP server on loopback.

mod end_to_end;
mod events;
mod explain;
mod labelled;
mod store;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use vigie::parse::Item;

pub(super) fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stories")
}

/// One text of the labelled set: `<story>.<variant>.txt`, headline, blank line, body.
pub(super) struct Text {
    pub story: String,
    pub title: String,
    pub body: String,
}

pub(super) fn texts() -> BTreeMap<String, Text> {
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

pub(super) fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2017-02-22T08:00:00Z")
        .unwrap()
        .to_utc()
}

pub(super) fn fixture_item(name: &str, guid: &str, link: &str) -> Item {
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

pub(super) fn article_id(db: &vigie::store::db::Connection, guid: &str) -> i64 {
    db.query_row("SELECT id FROM articles WHERE guid = ?1", [guid], |r| {
        r.get(0)
    })
    .unwrap()
}

pub(super) fn count(db: &vigie::store::db::Connection, sql: &str) -> i64 {
    db.query_row(sql, [], |r| r.get(0)).unwrap()
}
