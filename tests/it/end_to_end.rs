//! The walking skeleton end to end: a real HTTP server serves a feed, the `vigie` binary
//! polls it twice, a real SMTP server receives the alert — exactly once.

use crate::support::http::{HttpServer, Route};
use crate::support::smtp::SmtpServer;
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_article_alerts_once_by_email() {
    let http = HttpServer::start().await;
    let smtp = SmtpServer::start().await;
    let seed = seed_article();
    let title = "Syrie : l'armée progresse vers Palmyre";
    let link = format!("{}/articles/palmyre-offensive", http.url(""));
    let feed = rss(
        "El Watan - International",
        &[
            FeedItem::new("seed-1", title, &link, &seed),
            FeedItem::new(
                "other-1",
                "Le prix du blé au plus haut",
                "http://example.org/ble",
                "Les marchés céréaliers s'envolent à Chicago.",
            ),
        ],
        "ISO-8859-1",
    );
    let mut route = Route::ok("application/rss+xml", latin1(&feed));
    route.etag = Some("\"v1\"".into());
    http.route("/feed.xml", route);

    let dir = tempfile::tempdir().unwrap();
    let main = format!(
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n{}\n{}",
        feeds_toml(&[("elwatan", http.url("/feed.xml"))]),
        smtp_toml(smtp.addr.port())
    );
    let cfg = write_config(dir.path(), &main, PALMYRA_FRONT);

    let first = vigie(&cfg, &["poll"]).await;
    assert!(first.status.success(), "first poll: {}", stderr(&first));
    assert!(stdout(&first).contains("elwatan"), "{}", stdout(&first));
    let second = vigie(&cfg, &["poll"]).await;
    assert!(second.status.success(), "second poll: {}", stderr(&second));
    // The second poll was conditional and answered 304.
    assert!(
        stdout(&second).contains("not modified"),
        "{}",
        stdout(&second)
    );

    let msgs = smtp.messages();
    assert_eq!(msgs.len(), 1, "exactly one email: {msgs:#?}");
    let m = &msgs[0];
    assert_eq!(m.to, vec!["duty@example.org".to_string()]);
    let subject = m.header("Subject").unwrap();
    assert!(subject.contains("palmyra-front"), "{subject}");
    // The title arrives intact (decoded from ISO-8859-1), in the subject and the body.
    let body = decoded_body(&m.data);
    assert!(body.contains(title), "title missing from body:\n{body}");
    assert!(body.contains(&link), "link missing from body:\n{body}");
    assert!(m.header("Message-ID").unwrap().ends_with("@vigie>"));
    assert_eq!(
        m.header("Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    assert_eq!(http.hits("/feed.xml"), 2);
}

/// Undo quoted-printable and base64 transfer encodings well enough to read the body.
pub fn decoded_body(data: &str) -> String {
    let mut out = String::new();
    for part in data.split("\r\n\r\n").skip(1) {
        let unfolded = part.replace("=\r\n", "");
        let mut bytes = Vec::new();
        let b = unfolded.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'='
                && i + 2 < b.len()
                && let Ok(v) = u8::from_str_radix(&unfolded[i + 1..i + 3], 16)
            {
                bytes.push(v);
                i += 3;
                continue;
            }
            bytes.push(b[i]);
            i += 1;
        }
        out.push_str(&String::from_utf8_lossy(&bytes));
        out.push('\n');
    }
    out
}
