//! CLI, `vigie stories FILE...`: which items of the files (feeds or article files, each file
//! one outlet) would make one story with each other or with the stories of the store's
//! window, and why — the shared terms and the score. Read-only: nothing is written.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use super::fail;
use crate::config::Config;
use crate::store::Store;
use crate::store::stories::Cache;
use crate::stories::event::{self, Member, explain};

/// Under this many articles to weigh terms by, the output says its scores are rough.
const FEW: usize = 50;

/// One item of the files, filed in publication order.
struct Filed {
    name: String,
    at: i64,
    file: usize,
    terms: event::Terms,
    labels: Vec<event::Label>,
}

pub fn stories(cfg: &Config, files: &[PathBuf]) -> ExitCode {
    let now = chrono::Utc::now();
    let mut cache = Cache::default();
    // The store's window is what the daemon compares with: its document frequencies tell
    // specific terms from common ones. A store that cannot be opened leaves it empty.
    match Store::open_config(&cfg.state_dir, cfg.store.as_ref()) {
        Ok(store) => {
            if let Err(e) = cache.refresh(store.conn(), cfg.story_window, now) {
                return fail(e, 1);
            }
        }
        Err(e) => errln!("vigie: the store cannot be read ({e}); comparing the files alone"),
    }
    let mut items = Vec::new();
    for (file, path) in files.iter().enumerate() {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                errln!("vigie: {}: {e}", path.display());
                return ExitCode::from(1);
            }
        };
        let base = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        for (i, item) in crate::parse::parse_any(&bytes, &base).iter().enumerate() {
            let (terms, labels) = event::terms_labelled(&item.title, &item.summary, &item.content);
            let terms = terms.with_address(item.link.as_deref(), item.published, now);
            let title: String = item.title.chars().take(70).collect();
            items.push(Filed {
                name: format!("{base}#{} «{title}»", i + 1),
                at: crate::stories::event_time(item.published, now),
                file,
                terms,
                labels,
            });
        }
    }
    items.sort_by_key(|f| f.at);
    // Every item of the files weighs terms from the start, as the items still to come: with
    // an empty store, the files are the only articles that tell a specific term from «le».
    for f in &items {
        cache.count_ahead(&f.terms, false);
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{} items from {} files against {} articles of the store's window",
        items.len(),
        files.len(),
        cache.events().len()
    );
    let weighed = cache.events().weighed();
    if weighed < FEW {
        let _ = writeln!(
            out,
            "note: only {weighed} {} the terms (the store's window and the files): \
             too few to tell a name from a common word, so scores are rough; a store that has \
             polled for a day, or feeds of many items, weigh them as the daemon does",
            if weighed == 1 {
                "article weighs"
            } else {
                "articles weigh"
            }
        );
    }
    let mut labels: HashMap<u64, String> = HashMap::new();
    // Items get ids below any stored article's: -1, -2, …; each file is an outlet.
    let mut story_of: HashMap<i64, i64> = HashMap::new();
    let names: HashMap<i64, &str> = (items.iter().enumerate())
        .map(|(k, f)| (-(k as i64) - 1, f.name.as_str()))
        .collect();
    for (k, f) in items.iter().enumerate() {
        let id = -(k as i64) - 1;
        labels.extend(f.labels.iter().cloned());
        let outlet = -(f.file as i64) - 1;
        cache.count_ahead(&f.terms, true);
        let judged = cache.events().judge(&f.terms, f.at, outlet);
        let name_of = |article: i64| {
            (names.get(&article))
                .map_or_else(|| format!("stored article {article}"), |n| n.to_string())
        };
        let story = match (&judged.best, judged.joins) {
            (Some(why), true) => {
                let _ = writeln!(
                    out,
                    "{}\n  joins the story of {}: {}",
                    f.name,
                    name_of(why.article_id),
                    explain::describe(why, &labels)
                );
                why.story_id
            }
            (best, _) => {
                let why = match best {
                    _ if f.terms.apart() => f.terms.genre.reason().unwrap_or_default().to_string(),
                    Some(why) => format!(
                        "closest {}: {}",
                        name_of(why.article_id),
                        explain::describe(why, &labels)
                    ),
                    None => "no earlier item shares two specific terms with it".to_string(),
                };
                let _ = writeln!(out, "{}\n  a story of its own: {why}", f.name);
                id
            }
        };
        story_of.insert(id, story);
        cache.insert_event(Member {
            article_id: id,
            story_id: story,
            seen: now.timestamp(),
            at: f.at,
            outlet,
            terms: f.terms.clone(),
        });
    }
    let mut groups: HashMap<i64, Vec<i64>> = HashMap::new();
    for (k, _) in items.iter().enumerate() {
        let id = -(k as i64) - 1;
        groups.entry(story_of[&id]).or_default().push(id);
    }
    let mut many: Vec<&Vec<i64>> = groups.values().filter(|g| g.len() > 1).collect();
    many.sort_by_key(|g| std::cmp::Reverse(g[0]));
    let _ = writeln!(out, "{} stories of several items:", many.len());
    for g in many {
        let _ = writeln!(
            out,
            "  {}",
            g.iter()
                .map(|id| names[id])
                .collect::<Vec<_>>()
                .join("\n  + ")
        );
    }
    ExitCode::SUCCESS
}
