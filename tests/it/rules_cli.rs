//! `vigie rules test`: offline matching of feed files and article files, human and JSON.

use crate::support::*;

const RULES: &str = r#"
[entity.daech]
names = ["Etat islamique", "Daech", "Daesh", "EI"]

[[watch]]
name = "daech"
query = '@daech'

[[watch]]
name = "onu-geneve"
query = 'ONU AND "Genève"'

[[watch]]
name = "un"
query = 'UN'
"#;

#[tokio::test]
async fn json_lines_locate_every_hit_in_the_seed_article() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "rules = [\"rules.toml\"]\n", RULES);
    let article = dir.path().join("seed.txt");
    std::fs::write(&article, seed_article()).unwrap();
    let lines = rules_test_json(&cfg, &article).await;
    let watches: Vec<&str> = lines.iter().map(|l| l["watch"].as_str().unwrap()).collect();
    // «un» (French) and «inter-syriens» never make the UN watch fire.
    assert_eq!(watches, vec!["daech", "onu-geneve"]);
    let daech = &lines[0];
    assert_eq!(daech["item"], "seed.txt");
    let texts: Vec<&str> = daech["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["text"].as_str().unwrap())
        .collect();
    for form in ["Etat islamique", "Daech", "Daesh", "EI"] {
        assert!(texts.contains(&form), "{form} not in {texts:?}");
    }
    // Offsets are byte offsets into the field's plain text: recompute that text the
    // way the parser does (paragraph breaks collapse to one line break).
    let plain = vigie::parse::parse_any(seed_article().as_bytes(), "seed.txt")[0]
        .content
        .clone();
    for h in daech["hits"].as_array().unwrap() {
        let (s, e) = (
            h["start"].as_u64().unwrap() as usize,
            h["end"].as_u64().unwrap() as usize,
        );
        assert_eq!(h["field"], "content");
        assert_eq!(&plain[s..e], h["text"].as_str().unwrap());
    }
}

#[tokio::test]
async fn feed_files_report_each_matching_item() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "rules = [\"rules.toml\"]\n", RULES);
    let feed = rss(
        "t",
        &[
            FeedItem::new("a", "Offensive contre Daech", "http://ex.org/a", "texte"),
            FeedItem::new(
                "b",
                "La tour EIFFEL",
                "http://ex.org/b",
                "ei ou Ei, pas EI... si: EI",
            ),
            FeedItem::new("c", "Rien", "http://ex.org/c", "ei eiffel"),
        ],
        "UTF-8",
    );
    let path = dir.path().join("feed.xml");
    std::fs::write(&path, feed).unwrap();
    let out = vigie(&cfg, &["rules", "test", path.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let s = stdout(&out);
    assert!(s.contains("a  Offensive contre Daech"), "{s}");
    assert!(s.contains("b  La tour EIFFEL"), "{s}");
    assert!(!s.contains("c  Rien"), "{s}");
    assert_eq!(s.matches("daech:").count(), 2, "{s}");
}

#[tokio::test]
async fn rules_test_says_why_a_place_name_was_set_aside() {
    let dir = tempfile::tempdir().unwrap();
    let rules = "[[watch]]\nname = \"dc\"\nquery = 'place:Washington/US'\n\n\
                 [[watch]]\nname = \"damas\"\nquery = 'place:Damascus'\n";
    let cfg = write_config(dir.path(), "rules = [\"rules.toml\"]\n", rules);
    let path = dir.path().join("article.txt");
    std::fs::write(
        &path,
        "Un café rue de Damas\n\nA protest on Washington Street, then in Washington.",
    )
    .unwrap();
    let out = vigie(&cfg, &["rules", "test", path.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let s = stdout(&out);
    assert!(s.contains("  dc: «Washington» content"), "{s}");
    assert!(!s.contains("damas:"), "a street is no mention: {s}");
    assert!(
        s.contains("set aside: «Damas» title 16..21: a street or a square named after the place"),
        "{s}"
    );
    assert!(
        s.lines()
            .any(|l| l.starts_with("  set aside: «Washington» content ")
                && l.ends_with(": a street or a square named after the place")),
        "{s}"
    );
}
