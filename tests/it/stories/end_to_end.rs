//! The `vigie` binary against a real HTTP server and a real SMTP server on loopback: the
//! seed in three outlets is one alert and one digest entry naming them all; two Palmyra
//! stories of one day stay two.

use std::path::PathBuf;

use super::{article_id, count, fixtures};
use crate::support::http::{HttpServer, Route};
use crate::support::smtp::SmtpServer;
use crate::support::*;

/// Added to `PALMYRA_FRONT`: a digest watch on the same place.
const DESK_WATCH: &str = r#"
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
async fn setup_e2e(
    feeds: &[(&str, Vec<FeedItem>)],
) -> (HttpServer, SmtpServer, tempfile::TempDir, PathBuf) {
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
    let cfg = write_config(dir.path(), &main, &format!("{PALMYRA_FRONT}{DESK_WATCH}"));
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
    let kept =
        (variant.split_whitespace().count() - 3) as f64 / seed.split_whitespace().count() as f64;
    assert!((0.83..=0.87).contains(&kept), "{kept}");
    let link = "https://www.elwatan.example/international/palmyre-offensive";
    let (http, smtp, dir, cfg) = setup_e2e(&[
        (
            "elwatan",
            vec![FeedItem::new(
                "ew-1",
                title,
                &format!("{link}?utm_source=rss&utm_medium=feed"),
                &seed,
            )],
        ),
        (
            "aps",
            vec![FeedItem::new(
                "aps-77",
                title,
                &format!("{link}?xtor=RSS-450#xtor=RSS-450"),
                &seed,
            )],
        ),
        (
            "lexpression",
            vec![FeedItem::new(
                "lx-9",
                &variant_title,
                "https://lexpression.example/syrie/palmyre-20-km",
                &variant,
            )],
        ),
    ])
    .await;

    for (feed, alerts) in [("elwatan", 1), ("aps", 1), ("lexpression", 1)] {
        let out = vigie(&cfg, &["poll", "--feed", feed]).await;
        assert!(out.status.success(), "poll {feed}: {}", stderr(&out));
        assert_eq!(
            mails_to(&smtp, "duty@example.org"),
            alerts,
            "after polling {feed}"
        );
    }
    assert_eq!(http.hits("/lexpression.xml"), 1);

    let store = open_store(&dir.path().join("vigie.toml"));
    let db = store.conn();
    // The two tagged links are one article seen in two feeds; the copy is a second
    // article of the same story.
    assert_eq!(count(db, "SELECT COUNT(*) FROM articles"), 2);
    assert_eq!(
        count(db, "SELECT COUNT(DISTINCT story_id) FROM articles"),
        1
    );
    let first = article_id(db, "ew-1");
    // The original link is kept beside its canonical form.
    let links: (String, String) = db
        .query_row(
            "SELECT link, canonical_link FROM articles WHERE id = ?1",
            [first],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        links,
        (
            format!("{link}?utm_source=rss&utm_medium=feed"),
            link.to_string()
        )
    );
    assert_eq!(
        vigie::store::stories::outlets(db, first).unwrap(),
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
        (
            "lemonde",
            vec![FeedItem::new(
                "u",
                &t1,
                "https://lemonde.example/unesco",
                &b1,
            )],
        ),
        (
            "liberation",
            vec![FeedItem::new(
                "s",
                &t2,
                "https://liberation.example/suite",
                &b2,
            )],
        ),
    ])
    .await;
    let out = vigie(&cfg, &["poll"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(mails_to(&smtp, "duty@example.org"), 2);
    let store = open_store(&dir.path().join("vigie.toml"));
    let db = store.conn();
    assert_eq!(
        count(db, "SELECT COUNT(DISTINCT story_id) FROM articles"),
        2
    );
    let sent = vigie(&cfg, &["digest", "send", "desk"]).await;
    assert!(sent.status.success(), "{}", stderr(&sent));
    let digest = smtp
        .messages()
        .into_iter()
        .find(|m| m.to.iter().any(|t| t == "desk@example.org"))
        .expect("a digest");
    assert!(digest.header("Subject").unwrap().contains("2 stories"));
}
