//! Benchmark of delivery: 1,000 immediate alerts waiting in the outbox (50 watches × 20
//! articles, under the flood limit, one recipient each) rendered and delivered to a real
//! SMTP server on loopback (the integration tests' server), each marked sent in SQLite as
//! it goes; then the same 1,000 alerts to a signed webhook on loopback (the tests' channel
//! receiver). Setup (storing and matching the articles) is not timed. Run it with
//! `cargo bench --bench delivery` or `bench/mail/deliver.sh`; the target is at most 3 s.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use vigie::deliver::Mailer;
use vigie::ingest::{MatchContext, ingest};
use vigie::parse::Item;
use vigie::store::{Store, StoreHandle};

#[allow(dead_code)]
#[path = "../tests/it/support/smtp.rs"]
mod smtp;

#[allow(dead_code)]
#[path = "../tests/it/support/receiver.rs"]
mod receiver;

/// Where the alerts go.
#[derive(Clone)]
enum Target {
    Smtp(u16),
    /// A webhook at this URL.
    Webhook(String),
}

const WATCHES: usize = 50;
const ALERTS: usize = 1_000;
const SEED: &str = include_str!("../tests/fixtures/seed-article.txt");

/// The seed article's words in an order of its own for article `i`: every article is a story
/// of its own (the same text twice would be one story, alerted once).
fn shuffled(i: usize) -> String {
    let mut words: Vec<&str> = SEED.split_whitespace().collect();
    let mut x = (i as u64).wrapping_mul(6_364_136_223_846_793_005) | 1;
    for k in (1..words.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        words.swap(k, (x % (k as u64 + 1)) as usize);
    }
    words.join(" ")
}

struct Ready {
    _dir: tempfile::TempDir,
    cfg: Arc<vigie::config::Config>,
    store: StoreHandle,
    mailer: Mailer,
}

/// A fresh state folder with `ALERTS` alerts pending for `target`.
fn prepare(target: &Target) -> Ready {
    let dir = tempfile::tempdir().unwrap();
    let mut rules = String::new();
    for w in 0..WATCHES {
        let to = match target {
            Target::Smtp(_) => format!("desk{w:02}@example.org"),
            Target::Webhook(_) => "channel:hook".to_owned(),
        };
        rules.push_str(&format!(
            "[[watch]]\nname = \"w{w:02}\"\nquery = 'vigiemot{w:02}'\nalert = \"immediate\"\nto = [\"{to}\"]\n\n"
        ));
    }
    let mut main = "state_dir = \"state\"\nrules = [\"rules.toml\"]\n[[feed]]\nname = \"fil\"\nurl = \"http://127.0.0.1:9/feed\"\n".to_owned();
    match target {
        Target::Smtp(port) => main.push_str(&format!(
            "[mail]\nfrom = \"vigie <vigie@example.org>\"\ntransport = \"smtp\"\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\n"
        )),
        Target::Webhook(url) => {
            let secret = dir.path().join("hook.secret");
            std::fs::write(&secret, "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=").unwrap();
            main.push_str(&format!(
                "[[channel]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{url}\"\nsecret_file = \"{}\"\n",
                secret.display()
            ));
        }
    }
    std::fs::write(dir.path().join("vigie.toml"), main).unwrap();
    std::fs::write(dir.path().join("rules.toml"), rules).unwrap();
    let cfg = vigie::config::load(&dir.path().join("vigie.toml")).unwrap();
    let matcher = cfg.rules.compile().unwrap();
    let mut store = Store::open_in(&cfg.state_dir).unwrap();
    store.sync_feeds(&cfg.feeds).unwrap();
    let now = Utc::now();
    let items: Vec<Item> = (0..ALERTS)
        .map(|i| Item {
            guid: Some(format!("a{i}")),
            link: Some(format!("https://elwatan.example/a{i}")),
            title: format!("Dépêche {i} : vigiemot{:02} près de Palmyre", i % WATCHES),
            content: format!("{} vigiemot{:02}", shuffled(i), i % WATCHES),
            published: Some(now),
            ..Item::default()
        })
        .collect();
    let feed = cfg.feeds[0].clone();
    let id = store.feed_state("fil").unwrap().unwrap().id;
    let ctx = MatchContext {
        matcher: &matcher,
        watches: &cfg.rules.watches,
        config: &cfg,
    };
    let s = ingest(&mut store, &feed, id, false, &items, &ctx, now).unwrap();
    assert_eq!(s.deliveries, ALERTS);
    Ready {
        _dir: dir,
        mailer: Mailer::new(&cfg.mail, &cfg.channels).unwrap(),
        cfg: Arc::new(cfg),
        store: StoreHandle::new(store),
    }
}

fn delivery(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(smtp::SmtpServer::start());
    let hook = rt.block_on(receiver::Receiver::start());
    let targets = [
        (
            "1000 alerts to a local SMTP server",
            Target::Smtp(server.addr.port()),
        ),
        (
            "1000 alerts to a local webhook",
            Target::Webhook(hook.url("/hook")),
        ),
    ];
    let mut g = c.benchmark_group("delivery");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    for (name, target) in &targets {
        g.bench_function(*name, |b| {
            b.iter_batched(
                || prepare(target),
                |r| {
                    let stats = rt
                        .block_on(vigie::deliver::deliver_due(
                            &r.store,
                            &r.mailer,
                            &r.cfg,
                            Utc::now(),
                        ))
                        .unwrap();
                    assert_eq!(stats.sent, ALERTS);
                    r
                },
                BatchSize::PerIteration,
            );
        });
    }
    g.finish();
}

criterion_group!(benches, delivery);
criterion_main!(benches);
