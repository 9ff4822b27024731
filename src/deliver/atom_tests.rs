use super::*;
use crate::rules::{Field, Hit};
use crate::store::articles::ArticleRow;
use crate::store::published::Sighting;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn hostile() -> Published {
    let title = "Palmyre <script>alert(1)</script> & \"co\" \u{1}]]>";
    let content = "Les combats reprennent à Palmyre, où l'EI <b>avance</b> & recule.";
    let hit = |field, text: &str, word: &str| {
        let start = text.find(word).unwrap();
        Hit {
            field,
            start,
            end: start + word.len(),
            text: word.into(),
        }
    };
    let hits = vec![
        hit(Field::Title, title, "Palmyre"),
        hit(Field::Content, content, "Palmyre"),
        hit(Field::Content, content, "EI"),
    ];
    Published {
        story_key: "id:abc".into(),
        alerted_at: at("2024-05-01T10:00:00Z"),
        watches: vec![
            (
                "palmyra-front".into(),
                crate::store::outbox::encode_hits(&hits),
            ),
            ("other".into(), "[]".into()),
        ],
        article: ArticleRow {
            id: 1,
            key: "id:abc".into(),
            feed: "le-fil".into(),
            link: Some("https://ex.org/a?x=1&y=<2>".into()),
            title: title.into(),
            summary: String::new(),
            content: content.into(),
            published_at: Some(at("2024-05-01T09:30:00Z")),
            first_seen_at: at("2024-05-01T09:59:00Z"),
        },
        outlets: vec![
            Sighting {
                feed: "le-fil".into(),
                link: Some("https://ex.org/a?x=1&y=<2>".into()),
                published: Some(at("2024-05-01T09:30:00Z")),
                seen_at: at("2024-05-01T09:59:00Z"),
            },
            Sighting {
                feed: "la \"dépêche\"".into(),
                link: Some("javascript:alert(1)".into()),
                published: None,
                seen_at: at("2024-05-01T11:00:00Z"),
            },
        ],
        updated: at("2024-05-01T11:00:00Z"),
    }
}

fn document(entries: &[Published]) -> String {
    let meta = FeedMeta {
        which: Which::Watch("palmyra-front"),
        self_url: "http://127.0.0.1:9477/feeds/watch/palmyra-front.atom?token=t&x=<1>",
        subtitle: "Stories that alerted for the watch: Palmyre AND @daech".into(),
    };
    render_feed(&meta, entries, "Europe/Paris".parse().unwrap())
}

/// Every event of a strict XML reader, so that a document that is not well-formed fails.
fn well_formed(doc: &str) {
    let mut r = quick_xml::Reader::from_str(doc);
    let mut depth = 0i32;
    loop {
        match r.read_event() {
            Ok(quick_xml::events::Event::Start(_)) => depth += 1,
            Ok(quick_xml::events::Event::End(_)) => depth -= 1,
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed at {}: {e}\n{doc}", r.buffer_position()),
        }
    }
    assert_eq!(depth, 0);
}

#[test]
fn feed_text_is_escaped_and_the_document_reads_back_whole() {
    let doc = document(&[hostile()]);
    well_formed(&doc);
    assert!(!doc.contains('\u{1}'));
    assert!(!doc.contains("<script"), "{doc}");
    let feed = feed_rs::parser::parse(doc.as_bytes()).unwrap();
    assert_eq!(feed.id, identify::feed_id("watch", "palmyra-front"));
    assert_eq!(feed.title.unwrap().content, "vigie: palmyra-front");
    assert_eq!(feed.updated, Some(at("2024-05-01T11:00:00Z")));
    let e = &feed.entries[0];
    assert_eq!(
        e.id,
        identify::feed_entry_id("watch", "palmyra-front", "id:abc")
    );
    let title = &e.title.as_ref().unwrap().content;
    assert_eq!(title, "Palmyre <script>alert(1)</script> & \"co\" ]]>");
    let html = e.content.as_ref().unwrap().body.clone().unwrap();
    // The HTML carries the feed's text as text: its markup escaped once more.
    assert!(html.contains("&lt;b&gt;avance&lt;/b&gt;"), "{html}");
    assert!(
        html.contains("<mark><strong>Palmyre</strong></mark>"),
        "{html}"
    );
    assert!(html.contains("<mark><strong>EI</strong></mark>"), "{html}");
    // Links as they are: a reader resolving relative links must not see `&#x2f;`.
    assert!(
        html.contains("<a href=\"https://ex.org/a?x=1&amp;y=&lt;2&gt;\">le-fil</a>"),
        "{html}"
    );
    assert!(
        html.contains(
            "Watch “palmyra-front” matched: <strong>EI</strong>, <strong>Palmyre</strong>"
        ),
        "{html}"
    );
    assert!(html.contains("Watch “other” matched.</p>"), "{html}");
    assert!(
        html.contains("01 May 2024, 11:30 CEST") || html.contains("1 May 2024, 11:30 CEST"),
        "{html}"
    );
    // An outlet's link that is not a web address is shown as its name, never as a link.
    assert!(
        !html.contains("javascript:") && !doc.contains("javascript:"),
        "{html}"
    );
    let links: Vec<(Option<&str>, &str)> = e
        .links
        .iter()
        .map(|l| (l.rel.as_deref(), l.href.as_str()))
        .collect();
    assert_eq!(
        links,
        [
            (Some("alternate"), "https://ex.org/a?x=1&y=%3C2%3E"),
            (Some("related"), "https://ex.org/a?x=1&y=%3C2%3E")
        ]
    );
    assert!(
        doc.contains("href=\"https://ex.org/a?x=1&amp;y=&lt;2&gt;\""),
        "{doc}"
    );
    let authors: Vec<&str> = e.authors.iter().filter_map(|p| p.name.as_deref()).collect();
    assert_eq!(authors, ["le-fil"]);
    let contributors: Vec<&str> = e
        .contributors
        .iter()
        .filter_map(|p| p.name.as_deref())
        .collect();
    assert_eq!(contributors, ["la \"dépêche\""]);
    let categories: Vec<&str> = e.categories.iter().map(|c| c.term.as_str()).collect();
    assert_eq!(categories, ["palmyra-front", "other"]);
    assert_eq!(e.updated, Some(at("2024-05-01T11:00:00Z")));
    assert_eq!(e.published, Some(at("2024-05-01T09:30:00Z")));
    let summary = &e.summary.as_ref().unwrap().content;
    assert!(
        summary.contains("Palmyre, où l'EI <b>avance</b>"),
        "{summary}"
    );
}

#[test]
fn an_empty_feed_is_valid_and_does_not_change() {
    let doc = document(&[]);
    well_formed(&doc);
    assert_eq!(doc, document(&[]));
    assert!(doc.contains("<updated>1970-01-01T00:00:00Z</updated>"));
    assert!(
        feed_rs::parser::parse(doc.as_bytes())
            .unwrap()
            .entries
            .is_empty()
    );
}

#[test]
fn paths_round_trip_any_name_and_refuse_everything_else() {
    for name in [
        "palmyra-front",
        "a b/c?d#e%f",
        "Genève ☂",
        "..",
        "x.atom",
        "~_.",
    ] {
        for which in [Which::Watch(name), Which::Digest(name)] {
            let p = path(which);
            let segment = p.rsplit_once('/').unwrap().1;
            assert!(!segment.contains(['?', '#', ' ']), "{p}");
            assert_eq!(parse_path(&p).unwrap().which(), which, "{p}");
        }
    }
    for bad in [
        "/feeds/watch/.atom",
        "/feeds/watch/a/b.atom",
        "/feeds/watch/a",
        "/feeds/other/a.atom",
        "/feeds/watch/%ff%fe.atom",
        "/feeds//a.atom",
        "/feeds/",
        "/feeds/watch",
        "/healthz",
    ] {
        assert_eq!(parse_path(bad), None, "{bad}");
    }
    let huge = format!("/feeds/watch/{}.atom", "%41".repeat(100_000));
    assert_eq!(
        parse_path(&huge).map(|n| n.which() == Which::Watch(&"A".repeat(100_000))),
        Some(true)
    );
    assert_eq!(
        url(
            "https://news.example.org/vigie/",
            Which::Digest("matin"),
            "a+b/c"
        ),
        "https://news.example.org/vigie/feeds/digest/matin.atom?token=a%2Bb%2Fc"
    );
}
