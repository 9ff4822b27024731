//! `vigie stories FILE...` explains which items make one story, with an empty store: the
//! files' own items weigh the terms, so two outlets' feeds of one day are compared as the
//! daemon compares them. Real French items of 9 and 10 February 2025, read from the captures
//! of the shared corpora (`real/feeds/fr-2025-02-10-plurital`): their text is the
//! publishers', test input only, so those tests run with the corpora (`.ci/run`:
//! `VIGIE_CORPORA=../shared/corpora cargo test --test it corpora -- --ignored`).

use std::collections::HashSet;
use std::path::PathBuf;

use chrono::FixedOffset;
use vigie::parse::parse_feed;

use crate::support::*;

fn captures() -> PathBuf {
    let dir = corpora().join("real/feeds/fr-2025-02-10-plurital");
    assert!(dir.is_dir(), "{} is not a folder", dir.display());
    dir
}

/// One outlet's items of one day (Paris time, `2025-02-10`) from its captured feeds (file
/// names starting with `files`), once each, as an RSS file `{outlet}.xml` in `dir`: at least
/// `min`. An article in several of the outlet's feeds is one item: franceinfo tags each copy's
/// guid with its own `#xtor=`, so the guid (else the address) without its fragment is the key.
fn outlet_file(dir: &std::path::Path, files: &str, outlet: &str, day: &str, min: usize) -> String {
    let root = captures();
    let mut names: Vec<String> = (std::fs::read_dir(&root).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(files))
        .collect();
    names.sort();
    let paris = FixedOffset::east_opt(3600).unwrap();
    let (mut seen, mut items) = (HashSet::new(), Vec::new());
    for name in names {
        let Ok(feed) = parse_feed(&std::fs::read(root.join(&name)).unwrap(), None) else {
            continue;
        };
        for it in feed.items {
            let link = it.link.clone().unwrap_or_default();
            let guid = it.guid.clone().unwrap_or_else(|| link.clone());
            let Some(date) = it.published.or(it.updated) else {
                continue;
            };
            let key = guid.split('#').next().unwrap_or_default().to_string();
            if date.with_timezone(&paris).format("%Y-%m-%d").to_string() != day || !seen.insert(key)
            {
                continue;
            }
            items.push(FeedItem {
                date: Some(date),
                ..FeedItem::new(&guid, &it.title, &link, &it.summary)
            });
        }
    }
    assert!(items.len() >= min, "{outlet}: {} items", items.len());
    let name = format!("{outlet}.xml");
    std::fs::write(dir.join(&name), rss(outlet, &items, "UTF-8")).unwrap();
    name
}

fn config(dir: &std::path::Path) -> std::path::PathBuf {
    let cfg = dir.join("vigie.toml");
    std::fs::write(&cfg, "state_dir = \"state\"\n").unwrap();
    cfg
}

/// The lines of the "stories of several items" listing, one group per entry.
fn groups(printed: &str) -> Vec<String> {
    let (_, list) = printed.split_once("stories of several items:").unwrap();
    let mut out: Vec<String> = Vec::new();
    for line in list.lines().filter(|l| !l.trim().is_empty()) {
        match line.trim_start().strip_prefix("+ ") {
            Some(more) if !out.is_empty() => {
                let last = out.len() - 1;
                out[last] = format!("{} + {more}", out[last]);
            }
            _ => out.push(line.trim().to_string()),
        }
    }
    out
}

#[tokio::test]
#[ignore = "needs the shared corpora: VIGIE_CORPORA=../shared/corpora"]
async fn corpora_two_outlets_feeds_on_an_empty_store_show_the_same_event_as_one_story_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let a = outlet_file(dir.path(), "france-info-", "franceinfo", "2025-02-10", 50);
    let b = outlet_file(dir.path(), "le-figaro-", "lefigaro", "2025-02-10", 50);
    let cfg = config(dir.path());
    let out = vigie(
        &cfg,
        &[
            "stories",
            dir.path().join(&a).to_str().unwrap(),
            dir.path().join(&b).to_str().unwrap(),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    assert!(
        !printed.contains("too few to tell"),
        "a hundred items weigh the terms: {printed}"
    );
    let groups = groups(&printed);
    // The same event re-headlined by two outlets: one story.
    let penny = (groups.iter().find(|g| g.contains("gaspillage"))).expect(&printed);
    assert!(
        penny.contains("franceinfo.xml") && penny.contains("lefigaro.xml"),
        "{penny}"
    );
    // Why: the joining item names the one it joins, the score and the shared terms.
    let why = (printed.split('\n'))
        .skip_while(|l| !l.starts_with("franceinfo.xml#") || !l.contains("C'est du gaspillage"))
        .nth(1)
        .unwrap_or_default()
        .to_string();
    assert!(
        why.contains("joins the story of") && why.contains("«penny»") && why.contains("score"),
        "{why}"
    );
    // Zelensky on the Trump meeting and Zelensky at the Munich conference: another
    // development of the saga, two stories. Both items are in the files.
    assert!(printed.contains("Rencontre prévue") && printed.contains("Munich"));
    assert!(
        !groups
            .iter()
            .any(|g| g.contains("Rencontre prévue") && g.contains("Munich")),
        "{groups:?}"
    );
    // An explainer beside the trial's report: a story of its own, and it says why.
    assert!(
        !groups.iter().any(|g| g.contains("cinq choses")),
        "{groups:?}"
    );
    let why = (printed.split('\n'))
        .skip_while(|l| !l.contains("#") || !l.contains("cinq choses"))
        .nth(1)
        .unwrap_or_default()
        .to_string();
    assert!(why.contains("explainer"), "{why}");
}

#[tokio::test]
#[ignore = "needs the shared corpora: VIGIE_CORPORA=../shared/corpora"]
async fn corpora_a_portrait_put_back_on_the_day_of_the_race_s_finish_is_a_story_of_its_own() {
    // Libération's portrait of the skipper, written in October (its address says
    // `-20241018_`), is back in the feed on 9 February, when franceinfo reports her finish.
    let dir = tempfile::tempdir().unwrap();
    let a = outlet_file(dir.path(), "france-info-", "franceinfo", "2025-02-09", 30);
    let b = outlet_file(dir.path(), "liberation-", "liberation", "2025-02-09", 30);
    let path = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let out = vigie(&config(dir.path()), &["stories", &path(&a), &path(&b)]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    assert!(
        !groups(&printed).iter().any(|g| g.contains("la bleue")),
        "{printed}"
    );
    let why = (printed.split('\n'))
        .skip_while(|l| !l.contains("Violette Dorange, la bleue"))
        .nth(1)
        .unwrap_or_default()
        .to_string();
    assert!(
        why.contains("address is dated days before its publication"),
        "{why}"
    );
}

#[tokio::test]
async fn two_lone_items_are_weighed_roughly_and_the_output_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let item = |outlet: &str, title: &str| {
        let items = [FeedItem::new("1", title, "https://example.org/1", title)];
        std::fs::write(dir.path().join(outlet), rss(outlet, &items, "UTF-8")).unwrap();
        dir.path().join(outlet).to_string_lossy().into_owned()
    };
    let a = item("a.xml", "Trump veut arrêter la production du penny");
    let b = item("b.xml", "Trump demande d'arrêter la production du penny");
    let out = vigie(&config(dir.path()), &["stories", &a, &b]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    assert!(
        printed.contains("only 2 articles weigh the terms"),
        "{printed}"
    );
}
