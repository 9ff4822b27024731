use super::*;

use crate::deliver::channel::{NoticeKind, Outlet};
use crate::deliver::render::Segment;

fn channel(kind: ChannelKind) -> ChannelConfig {
    ChannelConfig {
        name: "c".into(),
        kind,
        url: "https://hooks.example.org/x".into(),
        chat_id: Some("-100".into()),
        room: Some("!room:example.org".into()),
        secret: None,
    }
}

fn hostile() -> Notice {
    Notice {
        kind: NoticeKind::Alert,
        key: "<abc.123@vigie>".into(),
        watch: "syria".into(),
        title: "<b>Alep</b> *bold* <!channel> @here\nsecond line".into(),
        link: Some("https://example.org/a?x=1&y=2".into()),
        outlets: vec![Outlet {
            name: "<i>feed</i>".into(),
            link: None,
            published: None,
        }],
        excerpt: vec![
            Segment {
                text: "les combats à ".into(),
                mark: false,
            },
            Segment {
                text: "Alep".into(),
                mark: true,
            },
            Segment {
                text: " <script>".into(),
                mark: false,
            },
        ],
        terms: vec!["Alep".into()],
        urgent: true,
        items: Vec::new(),
    }
}

fn body(r: &Request) -> String {
    String::from_utf8(r.body.clone()).unwrap()
}

#[test]
fn slack_text_cannot_mention_the_room_nor_start_bold() {
    let r = request(&channel(ChannelKind::Slack), None, &hostile(), Utc::now()).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let text = v["text"].as_str().unwrap();
    assert!(
        !text.contains("<!channel>") && !text.contains("<b>"),
        "{text}"
    );
    assert!(
        text.contains("&lt;!channel&gt;") && text.contains("&lt;b&gt;"),
        "{text}"
    );
    assert!(
        !text.contains("@here") && !text.contains("*bold*"),
        "{text}"
    );
    // Without the zero-width spaces the words are all there, on one title line.
    let visible = text.replace('\u{200B}', "");
    assert!(
        visible.contains("@here") && visible.contains("*bold*"),
        "{visible}"
    );
    assert!(
        visible.lines().next().unwrap().contains("second line"),
        "{visible}"
    );
    // The link is the title's, the hit in bold.
    assert!(
        text.contains("<https://example.org/a?x=1&amp;y=2|"),
        "{text}"
    );
    assert!(text.contains("*Alep*"), "{text}");
}

#[test]
fn telegram_and_matrix_escape_html() {
    let t = request(
        &channel(ChannelKind::Telegram),
        Some("123:TOKEN"),
        &hostile(),
        Utc::now(),
    )
    .unwrap();
    assert_eq!(
        t.url,
        "https://hooks.example.org/x/bot123:TOKEN/sendMessage"
    );
    let v: serde_json::Value = serde_json::from_slice(&t.body).unwrap();
    let html = v["text"].as_str().unwrap();
    assert!(
        !html.contains("<b>Alep</b> *") && html.contains("&lt;b&gt;Alep"),
        "{html}"
    );
    assert!(
        html.contains("<b>Alep</b>") && !html.contains("<script>"),
        "{html}"
    );
    assert_eq!(v["parse_mode"], "HTML");
    let m = request(
        &channel(ChannelKind::Matrix),
        Some("tok"),
        &hostile(),
        Utc::now(),
    )
    .unwrap();
    assert_eq!(m.method, "PUT");
    // Room and transaction id are path segments, percent-encoded.
    assert!(
        m.url.ends_with(
            "/_matrix/client/v3/rooms/!room:example.org/send/m.room.message/%3Cabc.123@vigie%3E"
        ),
        "{}",
        m.url
    );
    let v: serde_json::Value = serde_json::from_slice(&m.body).unwrap();
    assert!(
        v["formatted_body"]
            .as_str()
            .unwrap()
            .contains("<strong>Alep</strong>")
    );
    assert!(
        v["body"].as_str().unwrap().contains("<b>Alep</b>"),
        "plain body is plain"
    );
}

#[test]
fn ntfy_headers_are_one_line_and_encoded() {
    let mut n = hostile();
    n.title = "Combats à Alep\nreprise".into();
    let r = request(&channel(ChannelKind::Ntfy), Some("tk"), &n, Utc::now()).unwrap();
    let header = |k: &str| {
        r.headers
            .iter()
            .find(|(h, _)| h == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let title = header("title");
    let encoded = title
        .strip_prefix("=?UTF-8?B?")
        .and_then(|t| t.strip_suffix("?="))
        .expect("a non-ASCII title is RFC 2047-encoded");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        "syria: Combats à Alep reprise"
    );
    assert_eq!(header("priority"), "high");
    assert_eq!(header("click"), "https://example.org/a?x=1&y=2");
    assert_eq!(header("authorization"), "Bearer tk");
    assert!(r.headers.iter().all(|(_, v)| !v.contains('\n')));
    assert!(body(&r).contains("Alep"));
}

#[test]
fn a_webhook_without_a_valid_secret_is_refused() {
    let ch = channel(ChannelKind::Webhook);
    assert_eq!(
        request(&ch, None, &hostile(), Utc::now()),
        Err(PayloadError::NoSecret)
    );
    assert_eq!(
        request(&ch, Some("whsec_not base64!"), &hostile(), Utc::now()),
        Err(PayloadError::BadSecret)
    );
}

#[test]
fn slack_links_with_underscores_and_at_signs_still_work() {
    let mut n = hostile();
    n.link = Some("https://example.org/a_b/@user?x=1&y=2".into());
    n.items = vec![crate::deliver::channel::Item {
        watch: "w".into(),
        title: "[Click](https://evil.example)".into(),
        link: Some("https://example.org/c_d".into()),
    }];
    let r = request(&channel(ChannelKind::Slack), None, &n, Utc::now()).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let text = v["text"].as_str().unwrap();
    assert!(
        text.contains("<https://example.org/a_b/@user?x=1&amp;y=2|"),
        "{text}"
    );
    assert!(text.contains(" https://example.org/c_d"), "{text}");
    // A Markdown masked link from a feed is no link on Mattermost or Discord.
    assert!(!text.contains("](https://evil"), "{text}");
}

#[test]
fn long_titles_and_digests_are_trimmed_for_the_services_limits() {
    let mut n = hostile();
    n.title = "x".repeat(5_000);
    n.items = (0..100)
        .map(|i| crate::deliver::channel::Item {
            watch: "w".into(),
            title: format!("story {i} {}", "y".repeat(400)),
            link: None,
        })
        .collect();
    let r = request(&channel(ChannelKind::Telegram), Some("t"), &n, Utc::now()).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let text = v["text"].as_str().unwrap();
    assert!(
        text.chars().count() < 4_096,
        "{} chars",
        text.chars().count()
    );
    assert!(text.contains("… and 90 more"), "{text}");
    // Matrix lines are HTML lines.
    let m = request(&channel(ChannelKind::Matrix), Some("t"), &n, Utc::now()).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&m.body).unwrap();
    assert!(v["formatted_body"].as_str().unwrap().contains("<br>"));
}

#[test]
fn a_request_debug_shows_no_credential() {
    let r = request(
        &channel(ChannelKind::Telegram),
        Some("123:TOKEN"),
        &hostile(),
        Utc::now(),
    )
    .unwrap();
    let shown = format!("{r:?}");
    assert!(!shown.contains("TOKEN"), "{shown}");
}
