//! Crash safety (contract §5): the `vigie` binary is killed with SIGKILL at 20 random
//! moments of a poll-and-deliver cycle and restarted each time; at the end every expected
//! alert has arrived, counted by Message-ID, and each Message-ID always carried the same
//! alert. A kill between the server's acceptance of an email and the outbox marking it
//! sent can make the server see that one email twice — with the same Message-ID, which
//! is what lets a mail system (and this test) recognise the resend; at most one such
//! email per kill.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::support::http::{HttpServer, Route};
use crate::support::receiver::Receiver;
use crate::support::smtp::SmtpServer;
use crate::support::*;

const WORDS: [&str; 4] = ["Palmyre", "Tadmor", "Raqqa", "Alep"];
const ITEMS: usize = 72; // 18 per watch: under the flood limit of 20 an hour
const RECIPIENTS: [&str; 2] = ["duty@example.org", "desk@example.org"];

/// A small xorshift generator; the seed is printed so that a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The generator's seed: `VIGIE_CRASH_SEED` to replay a failure, else the clock.
fn crash_seed() -> u64 {
    std::env::var("VIGIE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(7, |d| d.as_nanos() as u64)
                | 1
        })
}

/// `vigie poll` killed (SIGKILL) 20 times, each after a random wait under `max_ms`, then one
/// poll run to its end; returns how many kills landed while a poll was still running.
async fn kill_twenty_polls(cfg: &std::path::Path, rng: &mut Rng, max_ms: u64, seed: u64) -> usize {
    let mut kills_mid_run = 0;
    for _ in 0..20 {
        let mut run = spawn_vigie(cfg, &["poll"]);
        tokio::time::sleep(Duration::from_millis(rng.below(max_ms))).await;
        if run.child.try_wait().unwrap().is_none() {
            kills_mid_run += 1;
        }
        run.child.start_kill().unwrap(); // SIGKILL
        let _ = run.child.wait().await;
    }
    let last = vigie(cfg, &["poll"]).await;
    assert!(last.status.success(), "seed {seed}: {}", stderr(&last));
    kills_mid_run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_twenty_random_moments_every_alert_arrives_once() {
    let seed = crash_seed();
    let mut rng = Rng(seed);

    let http = HttpServer::start().await;
    let smtp = SmtpServer::start().await;
    // A slow server, so that kills land while emails are in flight.
    smtp.set_delay(Duration::from_millis(30));
    let items: Vec<FeedItem> = (0..ITEMS)
        .map(|i| {
            let w = WORDS[i % WORDS.len()];
            FeedItem::new(
                &format!("c{i:02}"),
                &format!("Dépêche {i:02} : {w}"),
                &format!("https://elwatan.example/c{i:02}"),
                &format!("Les nouvelles de {w} ce jour."),
            )
        })
        .collect();
    http.route(
        "/feed.xml",
        Route::ok("application/rss+xml", rss("Fil", &items, "UTF-8")),
    );
    let mut rules = String::new();
    for w in WORDS {
        rules.push_str(&format!(
            "[[watch]]\nname = \"{}\"\nquery = '{w}'\nalert = \"immediate\"\nto = [\"{}\", \"{}\"]\n\n",
            w.to_lowercase(),
            RECIPIENTS[0],
            RECIPIENTS[1]
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let main = format!(
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n{}\n{}",
        feeds_toml(&[("fil", http.url("/feed.xml"))]),
        smtp_toml(smtp.addr.port())
    );
    let cfg = write_config(dir.path(), &main, &rules);

    let kills_mid_run = kill_twenty_polls(&cfg, &mut rng, 400, seed).await;

    let mut expected = HashSet::new();
    for (i, _) in items.iter().enumerate() {
        let w = WORDS[i % WORDS.len()];
        for to in RECIPIENTS {
            expected.insert((
                to.to_string(),
                format!("[vigie] {}: Dépêche {i:02} : {w}", w.to_lowercase()),
            ));
        }
    }
    let msgs = smtp.messages();
    let by_id = smtp.alerts_by_message_id(&format!("seed {seed}"));
    let received: HashSet<(String, String)> = by_id.values().cloned().collect();
    let missing: Vec<_> = expected.difference(&received).collect();
    assert!(missing.is_empty(), "seed {seed}: missing {missing:?}");
    assert_eq!(
        by_id.len(),
        expected.len(),
        "seed {seed}: one Message-ID per expected alert"
    );
    let resent = msgs.len() - by_id.len();
    assert!(
        resent <= kills_mid_run,
        "seed {seed}: {resent} resends for {kills_mid_run} kills mid-run"
    );
    eprintln!(
        "crash test: seed {seed}, {kills_mid_run} kills mid-run, {} alerts, {resent} resent with the same Message-ID",
        by_id.len()
    );
    let outbox = vigie(&cfg, &["outbox"]).await;
    assert!(
        stdout(&outbox).contains("no pending deliveries"),
        "seed {seed}: {}",
        stdout(&outbox)
    );
}

/// The same for alert channels (issue 17): 30 alerts go to a webhook and to an ntfy topic while
/// `vigie` is killed at 20 random moments; every alert arrives on both, and a receiver that
/// drops repeated ids (`webhook-id`, `x-vigie-id`) sees each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_twenty_random_moments_every_channel_alert_arrives() {
    const ALERTS: usize = 30;
    const TOPICS: [&str; 3] = ["Palmyre", "Raqqa", "Alep"]; // 10 each: under the flood limit
    let seed = crash_seed();
    let mut rng = Rng(seed);
    let http = HttpServer::start().await;
    let rx = Receiver::start().await;
    rx.set_delay(Duration::from_millis(40));
    let items: Vec<FeedItem> = (0..ALERTS)
        .map(|i| {
            let w = TOPICS[i % TOPICS.len()];
            FeedItem::new(
                &format!("k{i:02}"),
                &format!("Bulletin {i:02} : {w}"),
                &format!("https://elwatan.example/k{i:02}"),
                &format!("Les nouvelles numéro {i} de {w}."),
            )
        })
        .collect();
    http.route(
        "/feed.xml",
        Route::ok("application/rss+xml", rss("Fil", &items, "UTF-8")),
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hook.secret"),
        "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    )
    .unwrap();
    let main = format!(
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n{}\n\
         [[channel]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{}\"\nsecret_file = \"{}/hook.secret\"\n\n\
         [[channel]]\nname = \"phone\"\ntype = \"ntfy\"\nurl = \"{}\"\n",
        feeds_toml(&[("fil", http.url("/feed.xml"))]),
        rx.url("/hook"),
        dir.path().display(),
        rx.url("/ntfy/alerts"),
    );
    let mut rules = String::new();
    for w in TOPICS {
        rules.push_str(&format!(
            "[[watch]]\nname = \"{}\"\nquery = '{w}'\nalert = \"immediate\"\nto = [\"channel:hook\", \"channel:phone\"]\n\n",
            w.to_lowercase()
        ));
    }
    let cfg = write_config(dir.path(), &main, &rules);

    let kills_mid_run = kill_twenty_polls(&cfg, &mut rng, 600, seed).await;

    let mut repeats = 0;
    for (path, id_header) in [("/hook", "webhook-id"), ("/ntfy/alerts", "x-vigie-id")] {
        let got = rx.to(path);
        let mut by_id: HashMap<String, String> = HashMap::new();
        for r in &got {
            let id = r.header(id_header).expect("an id").to_owned();
            let text = match path {
                "/hook" => r.json()["title"].as_str().unwrap_or_default().to_owned(),
                _ => r.text().lines().next().unwrap_or_default().to_owned(),
            };
            if let Some(prev) = by_id.insert(id.clone(), text.clone()) {
                assert_eq!(prev, text, "seed {seed}: id {id} carried two alerts");
            }
        }
        let titles: HashSet<String> = by_id.values().cloned().collect();
        for i in 0..ALERTS {
            let w = TOPICS[i % TOPICS.len()];
            let want = format!("Bulletin {i:02} : {w}");
            assert!(
                titles.iter().any(|t| t.contains(&want)),
                "seed {seed}: {path} never got «{want}»"
            );
        }
        assert_eq!(by_id.len(), ALERTS, "seed {seed}: {path}: one id per alert");
        repeats += got.len() - by_id.len();
    }
    assert!(
        repeats <= 2 * kills_mid_run,
        "seed {seed}: {repeats} repeats for {kills_mid_run} kills mid-run"
    );
    eprintln!(
        "channel crash test: seed {seed}, {kills_mid_run} kills mid-run, {} alerts on 2 channels, {repeats} repeats before de-duplication",
        ALERTS
    );
    let outbox = vigie(&cfg, &["outbox"]).await;
    assert!(
        stdout(&outbox).contains("no pending deliveries"),
        "seed {seed}: {}",
        stdout(&outbox)
    );
}
