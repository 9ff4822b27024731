//! `place:` and `within()` through the binary: `vigie check` shows what each place term resolved
//! to and warns about ambiguous names, reports an unknown place at its position, and loads the
//! gazetteer only for rules that use it; `vigie rules test` catches the seed article's spellings.

use crate::support::*;

const MAIN: &str = "state_dir = \"state\"\nrules = [\"rules.toml\"]\n";

const PLACE_RULES: &str = r#"
[entity.daech]
names = ["Etat islamique", "Daech", "EI"]

[[watch]]
name = "palmyra-front"
query = 'place:Palmyra AND (@daech OR offensive)'

[[watch]]
name = "homs"
query = 'place:Homs OR place:Homs/LY'

[[watch]]
name = "damascus-area"
query = 'within(100km, Damascus)'
"#;

#[tokio::test]
async fn check_shows_each_resolution_and_warns_about_ambiguous_names() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), MAIN, PLACE_RULES);
    let out = vigie(&cfg, &["check"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (s, err) = (stdout(&out), stderr(&out));
    assert!(s.contains("places:     4 (gazetteer loaded)"), "{s}");
    // Name, country, population and coordinates of each.
    let line = |term: &str| {
        s.lines()
            .find(|l| l.trim_start().starts_with(&format!("{term} → ")))
            .unwrap_or_else(|| panic!("no line for {term} in\n{s}"))
            .to_owned()
    };
    let palmyra = line("place:Palmyra");
    assert!(palmyra.contains("Tadmur, SY"), "{palmyra}");
    assert!(palmyra.contains(" inhabitants, 34.5"), "{palmyra}");
    assert!(palmyra.contains("°N 38.2"), "{palmyra}");
    assert!(palmyra.contains("[watch palmyra-front]"), "{palmyra}");
    assert!(
        line("place:Homs").contains("Homs, SY-HI: 775,404 inhabitants"),
        "{s}"
    );
    assert!(line("place:Homs/LY").contains("Al Khums, LY"), "{s}");
    let area = line("within(100km, Damascus)");
    assert!(
        area.contains("Damascus, SY-DI") && area.contains(" places, "),
        "{area}"
    );
    // «Homs» alone may be Al Khums; no warning names a small namesake abroad (Damascus,
    // Maryland; Palmyra, Pennsylvania), and «Palmyra» is found among Tadmur's other names.
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("warning:")).collect();
    let homs = (warnings.iter())
        .find(|w| w.contains("watch \"homs\"") && w.contains("may also mean"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(homs.contains("Al Khums, LY"), "{err}");
    assert!(homs.contains("place:Homs/SY or place:Homs/LY"), "{err}");
    assert!(!warnings.iter().any(|w| w.contains(", US")), "{err}");
    assert!(
        (warnings.iter()).any(|w| w.contains("palmyra-front") && w.contains("Tadmur")),
        "{err}"
    );
}

#[tokio::test]
async fn rules_without_places_never_load_the_gazetteer() {
    let dir = tempfile::tempdir().unwrap();
    let rules = "[[watch]]\nname = \"w\"\nquery = 'Palmyre OR Tadmor OR \"place\" OR within'\n";
    let cfg = write_config(dir.path(), MAIN, rules);
    let out = vigie(&cfg, &["check"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s = stdout(&out);
    assert!(s.contains("places:     none (gazetteer not loaded)"), "{s}");
}

#[tokio::test]
async fn an_unknown_place_is_an_error_at_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let rules = "[[watch]]\nname = \"w\"\nquery = 'Palmyre OR place:Zzyzxopolis'\n\n\
                 [[watch]]\nname = \"v\"\nquery = 'x AND place:Palmyre/FR'\n";
    let cfg = write_config(dir.path(), MAIN, rules);
    let out = vigie(&cfg, &["check"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    let rules_name = dir.path().join("rules.toml").display().to_string();
    // `query = '` is 9 characters: the term starts at column 10 + 11.
    assert!(
        err.contains(&format!(
            "{rules_name}:3:21: watch \"w\": no place named «Zzyzxopolis» in the gazetteer"
        )),
        "{err}"
    );
    assert!(err.contains("Palmyre OR place:Zzyzxopolis\n"), "{err}");
    assert!(
        err.contains(&format!(
            "{rules_name}:7:16: watch \"v\": no place named «Palmyre» in FR"
        )),
        "{err}"
    );
    assert!(err.contains("2 errors"), "{err}");
}

#[tokio::test]
async fn the_seed_article_is_caught_under_its_own_spellings() {
    let dir = tempfile::tempdir().unwrap();
    let rules = "[[watch]]\nname = \"raqqa\"\nquery = 'place:Raqqa'\n\n\
                 [[watch]]\nname = \"palmyra\"\nquery = 'place:Palmyra'\n\n\
                 [[watch]]\nname = \"homs-area\"\nquery = 'within(60km, Homs)'\n\n\
                 [[watch]]\nname = \"geneva\"\nquery = 'place:Geneva'\n";
    let cfg = write_config(dir.path(), MAIN, rules);
    let article = dir.path().join("seed.txt");
    std::fs::write(&article, seed_article()).unwrap();
    let lines = rules_test_json(&cfg, &article).await;
    let hits = |watch: &str| -> Vec<String> {
        let line = lines
            .iter()
            .find(|l| l["watch"] == watch)
            .unwrap_or_else(|| panic!("{watch} did not match: {lines:?}"));
        let mut texts: Vec<String> = line["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["text"].as_str().unwrap().to_owned())
            .collect();
        texts.dedup();
        texts
    };
    assert_eq!(hits("raqqa"), ["Raqa"]);
    assert_eq!(hits("palmyra"), ["Palmyre"]);
    assert_eq!(hits("geneva"), ["Genève"]);
    // Around Homs: Homs itself, and never the «Selon»/«selon» of the article.
    let around = hits("homs-area");
    assert!(around.contains(&"Homs".to_owned()), "{around:?}");
    assert!(
        around.iter().all(|t| !t.eq_ignore_ascii_case("selon")),
        "{around:?}"
    );
}
