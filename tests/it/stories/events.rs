//! Stories by event, end to end: five outlets telling one event in five wordings are one
//! story, one alert listing the five outlets and one digest entry; the next day's
//! development is a second story and a second alert. The `vigie` binary against a real HTTP
//! server and a real SMTP server on loopback, beside a wire feed of a news day on other
//! subjects (the window that tells an event's own words from the language's common ones).

use chrono::{Duration, Utc};

use crate::support::http::{HttpServer, Route};
use crate::support::smtp::SmtpServer;
use crate::support::*;

const WATCH: &str = r#"
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

[entity.daech]
names = ["Etat islamique", "Daech", "EI"]
"#;

/// One day's reports: (outlet, title, teaser).
type Day = &'static [(&'static str, &'static str, &'static str)];

/// The fall of Palmyra, Sunday, as five outlets told it: (outlet, title, teaser).
const SUNDAY: &[(&str, &str, &str)] = &[
    (
        "lemonde",
        "Syrie : l'Etat islamique reprend Palmyre",
        "Les djihadistes de l'Etat islamique ont repris dimanche le contrôle de la cité antique de Palmyre, dix mois après en avoir été chassés par l'armée syrienne et ses alliés russes.",
    ),
    (
        "liberation",
        "Palmyre de nouveau aux mains de Daech",
        "Dix mois après sa reconquête par le régime de Bachar al-Assad, la ville antique de Palmyre est retombée dimanche sous le contrôle du groupe Etat islamique.",
    ),
    (
        "lefigaro",
        "L'EI s'empare à nouveau de la cité antique de Palmyre",
        "Le groupe Etat islamique a repris dimanche le contrôle de Palmyre, dix mois après en avoir été chassé, selon l'Observatoire syrien des droits de l'homme.",
    ),
    (
        "franceinfo",
        "Syrie : les jihadistes de l'Etat islamique reprennent le contrôle de Palmyre",
        "L'armée syrienne s'est retirée dimanche de la cité antique, reprise par les jihadistes dix mois après en avoir été chassés.",
    ),
    (
        "rfi",
        "Palmyre reprise par l'organisation Etat islamique",
        "Les forces du régime syrien ont quitté dimanche Palmyre, que les combattants de l'EI ont reprise dix mois après en avoir été chassés, malgré l'aviation russe.",
    ),
];

/// Monday's development, from one of Sunday's outlets and a new one.
const MONDAY: &[(&str, &str, &str)] = &[
    (
        "liberation",
        "Palmyre : l'armée syrienne lance une contre-offensive pour reprendre la ville",
        "Au lendemain de la chute de Palmyre, les forces du régime et l'aviation russe ont lancé lundi une contre-offensive contre l'Etat islamique à l'ouest de la ville.",
    ),
    (
        "aps",
        "Syrie : contre-offensive du régime aux portes de Palmyre",
        "Appuyées par l'aviation russe, les troupes syriennes ont lancé lundi une contre-offensive pour reprendre Palmyre aux jihadistes de l'EI.",
    ),
];

/// The day before: a news day on other subjects in French and English
/// (`tests/fixtures/events/background.tsv`, written for the tests), re-dated, as one wire feed.
fn background() -> Vec<FeedItem> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events/background.tsv");
    let text = std::fs::read_to_string(path).unwrap();
    let day = Utc::now() - Duration::hours(50);
    let items = (text.lines())
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('\t'))
        .enumerate()
        .map(|(k, (title, teaser))| FeedItem {
            date: Some(day + Duration::minutes(30 * k as i64)),
            ..FeedItem::new(
                &format!("w{k}"),
                title,
                &format!("https://wire.example/{k}"),
                teaser,
            )
        })
        .collect::<Vec<_>>();
    assert_eq!(items.len(), 40, "the background day's lines");
    items
}

/// Every outlet's feed, with the items of `days` (each list dated `hours_ago`).
fn publish(http: &HttpServer, days: &[(Day, i64)]) -> Vec<(&'static str, String)> {
    let mut feeds: Vec<(&'static str, Vec<FeedItem>)> = vec![("wire", background())];
    for (day, hours_ago) in days {
        for (k, (outlet, title, teaser)) in day.iter().enumerate() {
            let item = FeedItem {
                date: Some(
                    Utc::now() - Duration::hours(*hours_ago) + Duration::minutes(20 * k as i64),
                ),
                ..FeedItem::new(
                    &format!("{outlet}-{hours_ago}"),
                    title,
                    &format!("https://{outlet}.example/{hours_ago}"),
                    teaser,
                )
            };
            match feeds.iter_mut().find(|(o, _)| o == outlet) {
                Some((_, items)) => items.push(item),
                None => feeds.push((outlet, vec![item])),
            }
        }
    }
    let mut named = Vec::new();
    for (name, items) in &feeds {
        let path = format!("/{name}.xml");
        http.route(
            &path,
            Route::ok(
                "application/rss+xml",
                rss(name, items, "UTF-8").into_bytes(),
            ),
        );
        named.push((*name, http.url(&path)));
    }
    named
}

fn alerts(smtp: &SmtpServer) -> Vec<String> {
    (smtp.messages().into_iter())
        .filter(|m| m.to.iter().any(|t| t == "duty@example.org"))
        .map(|m| m.text())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_outlets_in_five_wordings_are_one_alert_and_the_next_days_development_a_second() {
    let http = HttpServer::start().await;
    let smtp = SmtpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    // Every feed is declared from the start; Monday's only outlet serves nothing on Sunday.
    let mut named = publish(&http, &[(SUNDAY, 26)]);
    let path = "/aps.xml";
    http.route(
        path,
        Route::ok("application/rss+xml", rss("aps", &[], "UTF-8").into_bytes()),
    );
    named.push(("aps", http.url(path)));
    let main = format!(
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n{}\n{}\n\
         [[digest]]\nname = \"desk\"\ncron = \"0 0 1 1 *\"\ntimezone = \"UTC\"\nto = [\"desk@example.org\"]\n",
        feeds_toml(&named),
        smtp_toml(smtp.addr.port())
    );
    let cfg = write_config(dir.path(), &main, WATCH);

    // The store already holds the days before, as a running desk's does.
    let out = vigie(&cfg, &["poll", "--feed", "wire"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = vigie(&cfg, &["poll"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let sunday = alerts(&smtp);
    assert_eq!(sunday.len(), 1, "one alert for Sunday's event: {sunday:#?}");
    for (outlet, _, _) in SUNDAY {
        assert!(
            sunday[0].contains(outlet),
            "the alert lists {outlet}: {}",
            sunday[0]
        );
    }

    publish(&http, &[(SUNDAY, 26), (MONDAY, 1)]);
    let out = vigie(&cfg, &["poll"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let both = alerts(&smtp);
    assert_eq!(
        both.len(),
        2,
        "Monday's development is a second alert: {both:#?}"
    );
    assert!(both[1].contains("contre-offensive"), "{}", both[1]);
    assert!(
        both[1].contains("aps") && both[1].contains("liberation"),
        "{}",
        both[1]
    );

    let sent = vigie(&cfg, &["digest", "send", "desk"]).await;
    assert!(sent.status.success(), "{}", stderr(&sent));
    let digest = (smtp.messages().into_iter())
        .find(|m| m.to.iter().any(|t| t == "desk@example.org"))
        .expect("a digest");
    let subject = digest.header("Subject").unwrap();
    assert!(subject.contains("2 stories"), "{subject}");
}
