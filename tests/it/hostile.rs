//! Hostile servers (contract §7), on a real loopback server, all in one `vigie poll`:
//! a gzip bomb (1 GB of zeros), a 60 MB body (announced, and not announced), a body
//! that trickles one byte a second, a redirect loop, too many redirects, 429 with
//! Retry-After, 410 and an XML entity bomb. Each costs only its own feed one failed poll
//! with a clear cause; the good feed in the same run is processed; the whole run stays
//! under 100 MB more memory than a run with the good feed alone.
//!
//! Memory is the peak RSS (`VmHWM`) of the `vigie` process itself (`poll_measured`).

use std::io::Write;

use std::sync::OnceLock;
use std::time::Duration;

use crate::support::http::{HttpServer, Route, Stream};
use crate::support::*;

/// 1 GB of zeros, gzip-compressed (about 1 MB), made once.
fn gzip_bomb() -> &'static [u8] {
    static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
    BOMB.get_or_init(|| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let block = vec![0u8; 1 << 20];
        for _ in 0..1024 {
            gz.write_all(&block).unwrap();
        }
        gz.finish().unwrap()
    })
}

const LAUGHS: &str = r#"<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title><item><guid>1</guid><title>&lol9;</title><description>&lol9;</description></item></channel></rss>"#;

fn line<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_servers_cost_only_their_own_feed() {
    let http = HttpServer::start().await;
    let good = rss(
        "good",
        &[FeedItem::new(
            "g1",
            "Palmyre libérée",
            "http://example.org/g1",
            "texte",
        )],
        "UTF-8",
    );
    http.route("/good.xml", Route::ok("application/rss+xml", good));
    let mut bomb = Route::ok("application/rss+xml", gzip_bomb().to_vec());
    bomb.headers
        .push(("Content-Encoding".into(), "gzip".into()));
    http.route("/bomb.xml", bomb);
    let zeros = |content_length| Route {
        status: 200,
        stream: Some(Stream::Zeros {
            len: 60_000_000,
            content_length,
        }),
        ..Route::default()
    };
    http.route("/big.xml", zeros(true));
    http.route("/big-unannounced.xml", zeros(false));
    http.route(
        "/trickle.xml",
        Route {
            status: 200,
            stream: Some(Stream::Trickle {
                len: 1000,
                every: Duration::from_secs(1),
            }),
            ..Route::default()
        },
    );
    http.route("/loop.xml", Route::redirect(301, "/loop.xml"));
    for i in 0..12 {
        http.route(
            &format!("/hop{i}.xml"),
            Route::redirect(302, &format!("/hop{}.xml", i + 1)),
        );
    }
    let mut busy = Route::status(429);
    busy.headers.push(("Retry-After".into(), "120".into()));
    http.route("/busy.xml", busy);
    http.route("/gone.xml", Route::status(410));
    http.route("/laughs.xml", Route::ok("application/rss+xml", LAUGHS));

    let rules = "[[watch]]\nname = \"p\"\nquery = 'Palmyre'\n";
    let poll = "[poll]\ntimeout = \"3s\"\nmax_body = \"10MB\"\n";
    let base_dir = tempfile::tempdir().unwrap();
    let base_cfg = write_config(
        base_dir.path(),
        &format!(
            "state_dir = \"state\"\nrules = [\"rules.toml\"]\n{poll}{}{DIGEST_TOML}",
            feeds_toml(&[("good", http.url("/good.xml"))])
        ),
        rules,
    );
    let (base, base_peak) = poll_measured(&base_cfg).await;
    assert!(
        line(&stdout(&base), "good").contains("1 new"),
        "{}",
        stdout(&base)
    );

    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            "state_dir = \"state\"\nrules = [\"rules.toml\"]\n{poll}{}{DIGEST_TOML}",
            feeds_toml(&[
                ("bomb", http.url("/bomb.xml")),
                ("big", http.url("/big.xml")),
                ("big-unannounced", http.url("/big-unannounced.xml")),
                ("trickle", http.url("/trickle.xml")),
                ("loop", http.url("/loop.xml")),
                ("hops", http.url("/hop0.xml")),
                ("busy", http.url("/busy.xml")),
                ("gone", http.url("/gone.xml")),
                ("laughs", http.url("/laughs.xml")),
                ("good", http.url("/good.xml")),
            ])
        ),
        rules,
    );
    let started = std::time::Instant::now();
    let (out, peak) = poll_measured(&cfg).await;
    let elapsed = started.elapsed();
    let s = stdout(&out);
    let e = stderr(&out);
    assert!(out.status.success(), "{e}");
    eprintln!(
        "hostile poll: {elapsed:?}, peak RSS {peak} kB (good feed alone: {base_peak} kB)\n{s}"
    );
    let expect = [
        ("bomb", "larger than the 10000000-byte limit"),
        ("big", "larger than the 10000000-byte limit"),
        ("big-unannounced", "larger than the 10000000-byte limit"),
        ("trickle", "within the 3s timeout"),
        ("loop", "redirect loop"),
        ("hops", "more than 8 redirects"),
        ("busy", "HTTP 429 (the server asks to retry after 120s)"),
        ("gone", "HTTP 410"),
    ];
    for (name, cause) in expect {
        let l = line(&s, name);
        assert!(
            l.contains("failed") && l.contains(cause),
            "{name}: {l}\n{s}"
        );
        // Logged with the feed's name and the cause.
        assert!(
            e.lines()
                .any(|x| x.contains(&format!("feed={name} ")) && x.contains(cause)),
            "{name} not logged:\n{e}"
        );
    }
    // The entity bomb is refused or read without expansion: either way one line, no blow-up.
    assert!(!line(&s, "laughs").is_empty(), "{s}");
    assert!(line(&s, "good").contains("1 new, 1 matches"), "{s}");
    assert!(
        s.contains("10 feeds, 9 failed") || s.contains("10 feeds, 8 failed"),
        "{s}"
    );
    // Each hostile feed cost exactly one request (the hops: the limit's worth).
    assert_eq!(http.hits("/bomb.xml"), 1);
    assert_eq!(http.hits("/trickle.xml"), 1);
    assert_eq!(http.hits("/loop.xml"), 1);
    assert_eq!(http.hits("/hop9.xml"), 0);
    let growth_mb = peak.saturating_sub(base_peak) / 1024;
    assert!(
        growth_mb < 100,
        "peak RSS grew by {growth_mb} MB ({base_peak} kB → {peak} kB)"
    );
}

/// An article built to make NEAR expensive: 275 KB of «alpha beta» against
/// `NEAR/1000(alpha, beta)`, every hit within reach of a thousand others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_near_query_on_a_hostile_article_stays_within_memory() {
    let dir = tempfile::tempdir().unwrap();
    let rules = "[[watch]]\nname = \"n\"\nquery = 'NEAR/1000(alpha, beta)'\n";
    let cfg = write_config(dir.path(), "rules = [\"rules.toml\"]\n", rules);
    let small = dir.path().join("small.txt");
    std::fs::write(&small, "Titre\n\nalpha beta").unwrap();
    let (out, base) = vigie_measured(&cfg, &["rules", "test", &small.to_string_lossy()]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let article = dir.path().join("hostile.txt");
    std::fs::write(
        &article,
        format!("Titre\n\n{}", "alpha beta ".repeat(25_000)),
    )
    .unwrap();
    let (out, peak) = vigie_measured(&cfg, &["rules", "test", &article.to_string_lossy()]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("  n: «alpha»"),
        "{}",
        stdout(&out).chars().take(300).collect::<String>()
    );
    eprintln!("NEAR/1000 over 275 KB: peak RSS {peak} kB (a tiny article: {base} kB)");
    assert!(peak < 100 * 1024, "peak RSS {peak} kB");
}
