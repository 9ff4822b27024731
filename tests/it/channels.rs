//! Alert channels (issue 17) against a real HTTP receiver on loopback: each service's API as
//! it requires it (method, path, headers, body, escaping), the webhook signature checked by a
//! second implementation of Standard Webhooks written here, a 500 then a 429 then a 200, the
//! outbox listing channel deliveries, `vigie channels test`, configuration errors with their
//! positions, and no secret in any log line at `RUST_LOG=trace`.

use std::path::Path;

use base64::Engine as _;
use chrono::{Duration, Utc};
use sha2::{Digest, Sha256};

use crate::support::http::{HttpServer, Route};
use crate::support::receiver::Receiver;
use crate::support::*;

/// The webhook's secret: `whsec_` and the base64 of 32 bytes.
const HOOK_KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
const TG_TOKEN: &str = "4242:TGSECRETTOKEN";
const NTFY_TOKEN: &str = "tk_NTFYSECRETTOKEN";
const MX_TOKEN: &str = "syt_MXSECRETTOKEN";

fn hook_secret() -> String {
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(HOOK_KEY)
    )
}

/// A hostile title: markup, mrkdwn, a room mention, comparison signs, a line break. The parse
/// stage already turns titles into text (tags go); what is left must stay text everywhere.
const TITLE: &str = "Alep: <b>offensive</b> *bold* <!channel> @here a < b & c > d\nsuite";

fn feed(http: &HttpServer) {
    let item = FeedItem::new(
        "a1",
        TITLE,
        "https://news.example/alep-1",
        "Les combats reprennent autour de Palmyre et d'Alep.",
    );
    http.route(
        "/feed.xml",
        Route::ok("application/rss+xml", rss("News", &[item], "utf-8")),
    );
}

/// Five channels on the receiver, one immediate watch sending to all of them. The webhook's
/// and Telegram's secrets come from the environment (`from_env`) or from files.
fn config(
    dir: &Path,
    http: &HttpServer,
    rx: &Receiver,
    to: &[&str],
    from_env: bool,
) -> std::path::PathBuf {
    std::fs::write(dir.join("ntfy.token"), format!("{NTFY_TOKEN}\n")).unwrap();
    std::fs::write(dir.join("mx.token"), MX_TOKEN).unwrap();
    std::fs::write(dir.join("hook.secret"), hook_secret()).unwrap();
    std::fs::write(dir.join("tg.token"), TG_TOKEN).unwrap();
    let (hook_secret, tg_secret) = if from_env {
        (
            "secret_env = \"VIGIE_TEST_HOOK\"".to_owned(),
            "secret_env = \"VIGIE_TEST_TG\"".to_owned(),
        )
    } else {
        (
            format!("secret_file = \"{}/hook.secret\"", dir.display()),
            format!("secret_file = \"{}/tg.token\"", dir.display()),
        )
    };
    let main = format!(
        "state_dir = \"var\"\nrules = [\"rules.toml\"]\n{feeds}\n\
         [[channel]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{hook}\"\n{hook_secret}\n\n\
         [[channel]]\nname = \"phone\"\ntype = \"ntfy\"\nurl = \"{ntfy}\"\nsecret_file = \"{dir}/ntfy.token\"\n\n\
         [[channel]]\nname = \"desk\"\ntype = \"slack\"\nurl = \"{slack}\"\n\n\
         [[channel]]\nname = \"tg\"\ntype = \"telegram\"\nurl = \"{tg}\"\nchat_id = \"-1001\"\n{tg_secret}\n\n\
         [[channel]]\nname = \"mx\"\ntype = \"matrix\"\nurl = \"{mx}\"\nroom = \"!room:example.org\"\nsecret_file = \"{dir}/mx.token\"\n",
        feeds = feeds_toml(&[("news", http.url("/feed.xml"))]),
        hook = rx.url("/hook"),
        ntfy = rx.url("/ntfy/vigie-alerts"),
        slack = rx.url("/slack"),
        tg = rx.url("/tg"),
        mx = rx.url("/mx"),
        dir = dir.display(),
    );
    let to: Vec<String> = to.iter().map(|t| format!("\"{t}\"")).collect();
    let rules = format!(
        "[[watch]]\nname = \"syria\"\nquery = 'Palmyre OR Alep'\nalert = \"immediate\"\nto = [{}]\n",
        to.join(", ")
    );
    write_config(dir, &main, &rules)
}

const ALL: [&str; 5] = [
    "channel:hook",
    "channel:phone",
    "channel:desk",
    "channel:tg",
    "channel:mx",
];

/// `vigie ARGS` with the channels' secrets in the environment and logs at `filter`.
async fn run(cfg: &Path, args: &[&str], filter: &str) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
        .arg("-c")
        .arg(cfg)
        .args(args)
        .env_remove("VIGIE_CONFIG")
        .env("RUST_LOG", filter)
        .env("VIGIE_TEST_HOOK", hook_secret())
        .env("VIGIE_TEST_TG", TG_TOKEN)
        .output()
        .await
        .expect("run vigie")
}

/// HMAC-SHA256 as RFC 2104 defines it, on sha2 alone: the test's own implementation of the
/// Standard Webhooks signature, independent of the one vigie uses.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| k.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

fn verify_webhook(r: &crate::support::receiver::Received) {
    let id = r.header("webhook-id").expect("webhook-id");
    let ts = r.header("webhook-timestamp").expect("webhook-timestamp");
    let sig = r.header("webhook-signature").expect("webhook-signature");
    let t: i64 = ts.parse().expect("a Unix time");
    assert!((Utc::now().timestamp() - t).abs() < 600, "timestamp {t}");
    let mut signed = format!("{id}.{ts}.").into_bytes();
    signed.extend_from_slice(&r.body);
    let expected = base64::engine::general_purpose::STANDARD.encode(hmac_sha256(HOOK_KEY, &signed));
    assert!(
        sig.split(' ').any(|s| s == format!("v1,{expected}")),
        "signature {sig} is not v1,{expected}"
    );
}

#[tokio::test]
async fn each_channel_gets_what_its_api_requires_and_feed_text_stays_plain() {
    let http = HttpServer::start().await;
    feed(&http);
    let rx = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &http, &rx, &ALL, true);
    let out = run(&cfg, &["poll"], "trace").await;
    assert!(out.status.success(), "{}", stderr(&out));
    let log = stderr(&out);

    // Webhook: signed, the whole alert as JSON.
    let hook = rx.to("/hook");
    assert_eq!(hook.len(), 1, "{:?}", rx.received());
    let h = &hook[0];
    assert_eq!(
        (h.method.as_str(), h.header("content-type")),
        ("POST", Some("application/json"))
    );
    verify_webhook(h);
    let v = h.json();
    assert_eq!(v["type"], "alert");
    assert_eq!(v["id"].as_str(), h.header("webhook-id"));
    assert_eq!(v["watch"], "syria");
    let title = v["title"].as_str().unwrap();
    assert!(
        title.contains("offensive *bold*") && title.contains("@here a < b & c > d"),
        "{v}"
    );
    assert!(
        !title.contains("<b>") && !title.contains("<!channel>"),
        "{v}"
    );
    assert_eq!(v["outlets"][0]["name"], "news");
    assert_eq!(v["outlets"][0]["link"], "https://news.example/alep-1");
    let text = v["excerpt"]["text"].as_str().unwrap();
    let hits: Vec<&str> = (v["excerpt"]["hits"].as_array().unwrap().iter())
        .map(|h| &text[h["start"].as_u64().unwrap() as usize..h["end"].as_u64().unwrap() as usize])
        .collect();
    assert!(hits.contains(&"Palmyre"), "{hits:?} in {text}");
    assert!(
        v["terms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "Palmyre"),
        "{v}"
    );

    // ntfy: the topic URL, title, priority, click, tags, bearer token.
    let n = &rx.to("/ntfy/vigie-alerts")[0];
    assert_eq!(n.method, "POST");
    assert_eq!(n.header("priority"), Some("high"));
    assert_eq!(n.header("click"), Some("https://news.example/alep-1"));
    assert_eq!(
        n.header("authorization"),
        Some(format!("Bearer {NTFY_TOKEN}").as_str())
    );
    assert!(n.header("tags").unwrap().split(',').any(|t| t == "vigie"));
    let title = n.header("title").unwrap();
    assert!(!title.contains('\n') && title.contains("syria"), "{title}");
    assert!(
        n.text().contains("a < b & c > d suite"),
        "one line: {}",
        n.text()
    );
    assert!(
        n.text().contains("Palmyre") && n.text().contains("news"),
        "{}",
        n.text()
    );

    // Slack-compatible: escaped mrkdwn, the title linked, hits in bold, no room mention.
    let s = rx.to("/slack")[0].json();
    let mrkdwn = s["text"].as_str().unwrap();
    assert!(mrkdwn.contains("<https://news.example/alep-1|"), "{mrkdwn}");
    assert!(mrkdwn.contains("*Palmyre*"), "{mrkdwn}");
    assert!(
        !mrkdwn.contains("<!channel>") && !mrkdwn.contains("<b>"),
        "{mrkdwn}"
    );
    assert!(
        !mrkdwn.contains("@here") && !mrkdwn.contains("*bold*"),
        "{mrkdwn}"
    );
    assert!(
        mrkdwn.replace('\u{200B}', "").contains("*bold* @here a"),
        "{mrkdwn}"
    );
    assert!(mrkdwn.contains("a &lt; b &amp; c &gt; d"), "{mrkdwn}");

    // Telegram: sendMessage under the bot token, HTML escaped.
    let t = &rx.to("/tg/")[0];
    assert_eq!(t.path, format!("/tg/bot{TG_TOKEN}/sendMessage"));
    let tv = t.json();
    assert_eq!(
        (tv["chat_id"].as_str(), tv["parse_mode"].as_str()),
        (Some("-1001"), Some("HTML"))
    );
    let html = tv["text"].as_str().unwrap();
    assert!(
        html.contains("a &lt; b &amp; c &gt; d") && html.contains("<b>Palmyre</b>"),
        "{html}"
    );
    assert!(
        !html.contains("<!channel>") && !html.contains("<b>offensive"),
        "{html}"
    );

    // Matrix: PUT to the room with a transaction id, a plain body and a formatted one.
    let m = &rx.to("/mx/")[0];
    assert_eq!(m.method, "PUT");
    let prefix = "/mx/_matrix/client/v3/rooms/!room:example.org/send/m.room.message/";
    assert!(m.path.starts_with(prefix), "{}", m.path);
    assert!(m.path.len() > prefix.len(), "a transaction id");
    assert_eq!(
        m.header("authorization"),
        Some(format!("Bearer {MX_TOKEN}").as_str())
    );
    let mv = m.json();
    assert!(
        mv["formatted_body"]
            .as_str()
            .unwrap()
            .contains("<strong>Palmyre</strong>")
    );
    assert!(
        mv["formatted_body"]
            .as_str()
            .unwrap()
            .contains("a &lt; b &amp; c &gt; d")
    );
    assert!(
        mv["body"].as_str().unwrap().contains("a < b & c > d"),
        "plain text"
    );

    // The keys are the deliveries' own, one per recipient.
    let keys = [
        h.header("webhook-id").unwrap().to_owned(),
        m.path[prefix.len()..].to_owned(),
    ];
    assert_ne!(keys[0], keys[1]);
    // No secret in any log line, even at trace level.
    let hook_secret = hook_secret();
    for secret in [
        TG_TOKEN,
        NTFY_TOKEN,
        MX_TOKEN,
        hook_secret.as_str(),
        "TGSECRETTOKEN",
    ] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "the log is at trace level"
    );
}

#[tokio::test]
async fn a_500_then_a_429_then_a_200_delivers_once_after_the_wait() {
    let http = HttpServer::start().await;
    feed(&http);
    let rx = Receiver::start().await;
    rx.script(
        "/hook",
        vec![
            (500, vec![], "down".into()),
            (
                429,
                vec![("retry-after".into(), "120".into())],
                "slow down".into(),
            ),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &http, &rx, &["channel:hook"], false);
    let out = run(&cfg, &["poll"], "info").await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(rx.to("/hook").len(), 1, "the 500");
    let listed = stdout(&run(&cfg, &["outbox"], "info").await);
    assert!(listed.contains("channel:hook"), "{listed}");

    let config = vigie::config::load(&cfg).unwrap();
    let store = vigie::store::StoreHandle::new(
        vigie::store::Store::open_config(&config.state_dir, config.store.as_ref()).unwrap(),
    );
    let mailer = vigie::deliver::Mailer::new(&config.mail, &config.channels).unwrap();
    let t0 = Utc::now();
    // The backoff after the 500 has passed: the 429 asks for two minutes.
    let at = |s: i64| t0 + Duration::seconds(s);
    let stats = vigie::deliver::deliver_due(&store, &mailer, &config, at(90))
        .await
        .unwrap();
    assert_eq!((stats.sent, stats.retried), (0, 1));
    assert_eq!(rx.to("/hook").len(), 2, "the 429");
    // Within the wait, nothing is tried.
    vigie::deliver::deliver_due(&store, &mailer, &config, at(180))
        .await
        .unwrap();
    assert_eq!(rx.to("/hook").len(), 2, "the wait is honoured");
    let stats = vigie::deliver::deliver_due(&store, &mailer, &config, at(215))
        .await
        .unwrap();
    assert_eq!(stats.sent, 1);
    let hook = rx.to("/hook");
    assert_eq!(hook.len(), 3);
    // One alert: the same id each time, so a receiver drops a repeat.
    let ids: Vec<&str> = hook.iter().filter_map(|r| r.header("webhook-id")).collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    verify_webhook(&hook[2]);
    let stats = vigie::deliver::deliver_due(&store, &mailer, &config, at(4000))
        .await
        .unwrap();
    assert_eq!(stats.sent, 0);
    assert_eq!(rx.to("/hook").len(), 3);
}

#[tokio::test]
async fn channels_test_prints_the_servers_answer() {
    let http = HttpServer::start().await;
    feed(&http);
    let rx = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &http, &rx, &["channel:desk"], false);
    let out = run(&cfg, &["channels", "test", "desk"], "info").await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("answered: 200 {\"ok\":true}"),
        "{}",
        stdout(&out)
    );
    let s = rx.to("/slack")[0].json();
    assert!(
        s["text"].as_str().unwrap().contains("vigie test message"),
        "{s}"
    );
    let out = run(&cfg, &["channels", "test", "nowhere"], "info").await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no [[channel]] named \"nowhere\""),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn unknown_channels_and_missing_secrets_are_errors_with_their_position() {
    let dir = tempfile::tempdir().unwrap();
    let main = "state_dir = \"var\"\nrules = [\"rules.toml\"]\n\
                [[channel]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/h\"\n\n\
                [[channel]]\nname = \"odd\"\ntype = \"pager\"\nurl = \"http://127.0.0.1:9/p\"\n\
                [mail]\nadmin = [\"channel:ops\"]\n";
    let rules = "[[watch]]\nname = \"w\"\nquery = 'Alep'\nalert = \"immediate\"\nto = [\"duty@example.org\", \"channel:nope\"]\n";
    let cfg = write_config(dir.path(), main, rules);
    let out = vigie(&cfg, &["check"]).await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("rules.toml:5:28: watch \"w\": no [[channel]] named \"nope\""),
        "{err}"
    );
    assert!(
        err.contains("a webhook channel needs its signing secret"),
        "{err}"
    );
    assert!(err.contains("unknown channel `type` \"pager\""), "{err}");
    assert!(
        err.contains("vigie.toml:13:11: no [[channel]] named \"ops\""),
        "{err}"
    );
}

#[tokio::test]
async fn a_digest_goes_to_a_channel_as_one_digest_payload() {
    let http = HttpServer::start().await;
    feed(&http);
    let rx = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &http, &rx, &["duty@example.org"], false);
    // The watch alerts by digest instead, and the digest goes to the webhook.
    let rules = "[[watch]]\nname = \"syria\"\nquery = 'Palmyre OR Alep'\nalert = \"digest\"\n";
    std::fs::write(dir.path().join("rules.toml"), rules).unwrap();
    let mut main = std::fs::read_to_string(&cfg).unwrap();
    main.push_str("\n[[digest]]\nname = \"daily\"\nat = \"07:00\"\nto = [\"channel:hook\"]\n");
    std::fs::write(&cfg, main).unwrap();
    let out = run(&cfg, &["poll"], "info").await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(rx.to("/hook").is_empty(), "nothing before the digest");
    let out = run(&cfg, &["digest", "send", "daily"], "info").await;
    assert!(out.status.success(), "{}", stderr(&out));
    let hook = rx.to("/hook");
    assert_eq!(hook.len(), 1, "{:?}", rx.received());
    verify_webhook(&hook[0]);
    let v = hook[0].json();
    assert_eq!(v["type"], "digest");
    assert_eq!(v["watch"], "daily");
    assert_eq!(v["urgent"], false);
    assert_eq!(v["items"][0]["watch"], "syria");
    assert!(
        v["items"][0]["title"]
            .as_str()
            .unwrap()
            .contains("offensive"),
        "{v}"
    );
}

#[tokio::test]
async fn a_mail_outage_does_not_hold_the_channels_back() {
    let http = HttpServer::start().await;
    feed(&http);
    let rx = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &http,
        &rx,
        &["duty@example.org", "desk@example.org", "channel:hook"],
        false,
    );
    // Mail goes to a port where nothing listens.
    let mut main = std::fs::read_to_string(&cfg).unwrap();
    main.push('\n');
    main.push_str(&smtp_toml(free_port()));
    std::fs::write(&cfg, main).unwrap();
    let out = run(&cfg, &["poll"], "info").await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        rx.to("/hook").len(),
        1,
        "the webhook is sent: {}",
        stderr(&out)
    );
    let listed = stdout(&run(&cfg, &["outbox"], "info").await);
    assert!(
        listed.contains("duty@example.org") && listed.contains("desk@example.org"),
        "{listed}"
    );
    assert!(!listed.contains("channel:hook"), "{listed}");
}
