//! Tests of the rule language: parsing, compilation and matching, on the seed article and on
//! targeted snippets; property tests for offsets and for parser robustness.

use super::*;
use crate::fold::fold_term;
use proptest::prelude::*;

const SEED: &str = include_str!("../../../shared/seed-article.txt");

fn daech() -> Vec<EntityDef> {
    let names = [
        "Etat islamique",
        "Islamic State",
        "Daech",
        "Daesh",
        "ISIS",
        "ISIL",
        "EI",
        "EIIL",
    ];
    vec![EntityDef {
        name: "daech".into(),
        names: names.iter().map(|s| s.to_string()).collect(),
    }]
}

fn watches(queries: &[&str]) -> Vec<WatchDef> {
    queries
        .iter()
        .enumerate()
        .map(|(i, q)| WatchDef {
            name: format!("w{i}"),
            query: q.to_string(),
        })
        .collect()
}

fn matcher(queries: &[&str]) -> Matcher {
    match Matcher::build(&daech(), &watches(queries)) {
        Ok(m) => m,
        Err(e) => panic!("build failed: {e:?}"),
    }
}

fn content(text: &str) -> Document<'_> {
    Document {
        title: "",
        summary: "",
        content: text,
    }
}

/// Hits of a one-watch query on a content-only document, or None if it does not match.
fn hits(query: &str, text: &str) -> Option<Vec<Hit>> {
    let m = matcher(&[query]);
    let mut found = m.match_document(&content(text));
    assert!(found.len() <= 1);
    found.pop().map(|w| w.hits)
}

fn matches(query: &str, text: &str) -> bool {
    hits(query, text).is_some()
}

fn hit_texts(query: &str, text: &str) -> Vec<String> {
    hits(query, text)
        .unwrap_or_default()
        .into_iter()
        .map(|h| h.text)
        .collect()
}

#[test]
fn word_is_case_and_accent_insensitive_on_word_boundaries() {
    assert!(matches("Palmyre", "près de PALMYRE."));
    assert!(matches("Palmyre", "près de palmyre"));
    assert!(!matches("Palmyre", "le désert palmyréen"));
    assert!(!matches("Palmyre", "Palmyréen"));
    assert!(matches("Genève", "à GENEVE"));
    assert!(matches("Genève", "à Gene\u{300}ve, hier"));
    assert!(matches("GENEVE", "à Genève"));
    assert!(!matches("Genève", "Genèvois"));
    assert_eq!(hit_texts("Genève", "à Gene\u{300}ve"), ["Gene\u{300}ve"]);
}

#[test]
fn phrase_treats_spaces_hyphens_and_apostrophes_alike() {
    assert!(matches("\"al-Bayarat\"", "le village d'al Bayarat"));
    assert!(matches("\"al-Bayarat\"", "le village d’al-Bayarat"));
    assert!(matches("al-Bayarat", "AL BAYARAT"));
    assert!(matches("\"al Bayarat\"", "al-Bayarat"));
    assert!(matches("\"Etat islamique\"", "l'«Etat  islamique»"));
    assert!(matches("\"Etat islamique\"", "l'ÉTAT-ISLAMIQUE"));
    assert!(!matches("\"Etat islamique\"", "Etat très islamique"));
    assert!(!matches("\"Etat islamique\"", "islamique Etat"));
    assert!(matches("«Etat islamique»", "Etat islamique"));
    assert_eq!(
        hit_texts("\"al-Bayarat\"", "village d’al – Bayarat."),
        ["al – Bayarat"]
    );
}

#[test]
fn prefix_matches_word_starts() {
    assert!(matches("syri*", "les pourparlers inter-syriennes"));
    assert!(matches("syri*", "la Syrie"));
    assert!(!matches("syri*", "les Assyriens"));
    assert_eq!(
        hit_texts("syri*", "négociations inter-syriennes, Syrie"),
        ["syriennes", "Syrie"]
    );
}

#[test]
fn acronyms_match_only_in_capitals() {
    assert!(matches("EI", "les dirigeants de l'EI"));
    assert!(matches("EI", "qu’EI"));
    assert!(!matches("EI", "ei"));
    assert!(!matches("EI", "Ei"));
    assert!(!matches("EI", "la tour EIFFEL"));
    assert!(matches("ISIS", "ISIS fighters"));
    assert!(!matches("ISIS", "la déesse Isis"));
    assert!(matches("UN", "the UN said"));
    assert!(!matches("UN", "un soldat"));
    assert!(!matches("UN", "les ÉTATS-UNIS"));
    assert!(!matches("UN", "Un soldat"));
    // Not an acronym: lower case, too long, or not only letters.
    assert!(matches("ei", "l'Ei"));
    assert!(matches("PALMYRE", "à Palmyre"));
    assert!(!matches("SYRIE", "la Syrie"));
    assert!(matches("G7", "le g7"));
}

#[test]
fn elision_is_understood() {
    assert!(matches("Alep", "la bataille d’Alep"));
    assert!(matches("ONU", "l'ONU a dit"));
    assert!(matches("ONU", "l’ONU a dit"));
    assert_eq!(hit_texts("ONU", "de l’ONU."), ["ONU"]);
}

#[test]
fn entity_catches_every_name_in_the_seed_article() {
    let m = matcher(&["@daech"]);
    let found = m.match_document(&content(SEED));
    assert_eq!(found.len(), 1);
    let texts: Vec<&str> = found[0].hits.iter().map(|h| h.text.as_str()).collect();
    for name in ["Etat islamique", "Daech", "Daesh", "EI"] {
        assert!(texts.contains(&name), "{name} missing from {texts:?}");
    }
    // «Daech/EI» and «l'EI»: two EI hits.
    assert_eq!(texts.iter().filter(|&&t| t == "EI").count(), 2);
    for h in &found[0].hits {
        assert_eq!(&SEED[h.start..h.end], h.text);
        assert_eq!(h.field, Field::Content);
    }
    // Sorted by start, no duplicates.
    assert!(found[0].hits.windows(2).all(|w| w[0].start < w[1].start));
}

#[test]
fn hits_are_byte_offsets_into_the_original_field() {
    let text = "À Genève, l’ONU et Palmyre.";
    let h = hits("Genève OR ONU OR palmyre", text).unwrap();
    let got: Vec<(usize, usize, &str)> = h.iter().map(|h| (h.start, h.end, &*h.text)).collect();
    assert_eq!(
        got,
        [(3, 10, "Genève"), (16, 19, "ONU"), (23, 30, "Palmyre")]
    );
    for h in &h {
        assert_eq!(&text[h.start..h.end], h.text);
    }
}

#[test]
fn field_scopes_restrict_to_one_field() {
    let m = matcher(&[
        "title:Palmyre",
        "summary:Palmyre",
        "content:Palmyre",
        "Palmyre",
        "title:(Genève OR Palmyre) Daech",
    ]);
    let doc = Document {
        title: "Offensive",
        summary: "",
        content: "près de Palmyre, Daech",
    };
    let ids: Vec<usize> = m.match_document(&doc).iter().map(|w| w.watch).collect();
    assert_eq!(ids, [2, 3]);
    let doc = Document {
        title: "Palmyre",
        summary: "Daech",
        content: "",
    };
    let found = m.match_document(&doc);
    let ids: Vec<usize> = found.iter().map(|w| w.watch).collect();
    assert_eq!(ids, [0, 3, 4]);
    let last = &found[2].hits;
    assert_eq!(
        last.iter().map(|h| (h.field, &*h.text)).collect::<Vec<_>>(),
        [(Field::Title, "Palmyre"), (Field::Summary, "Daech")]
    );
}

#[test]
fn not_and_minus_exclude() {
    assert!(matches("Palmyre NOT Daech", "Palmyre"));
    assert!(!matches("Palmyre NOT Daech", "Palmyre et Daech"));
    assert!(!matches("Palmyre -Daech", "Palmyre et Daech"));
    assert!(matches("Palmyre -Daech", "Palmyre et Homs"));
    assert!(matches("Palmyre -(Daech OR EI)", "Palmyre et Homs"));
    assert!(!matches("Palmyre -(Daech OR EI)", "Palmyre, EI"));
    // A watch that holds with no hit at all.
    let m = matcher(&["NOT Daech", "Palmyre"]);
    let found = m.match_document(&content("rien à signaler"));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].watch, 0);
    assert!(found[0].hits.is_empty());
    assert!(m.match_document(&content("Daech")).is_empty());
}

#[test]
fn and_or_and_precedence() {
    assert!(matches("Palmyre Homs", "Homs et Palmyre"));
    assert!(matches("Palmyre AND Homs", "Homs et Palmyre"));
    assert!(!matches("Palmyre AND Homs", "Palmyre"));
    assert!(matches("Palmyre OR Homs", "Homs"));
    // a OR b c == a OR (b AND c)
    assert!(matches("Alep OR Homs Raqa", "Alep"));
    assert!(!matches("Alep OR Homs Raqa", "Homs"));
    assert!(matches("Alep OR Homs Raqa", "Homs, Raqa"));
    assert!(matches("(Alep OR Homs) Raqa", "Homs, Raqa"));
    assert!(!matches("(Alep OR Homs) Raqa", "Alep"));
    // NOT binds tighter than AND: NOT a b == (NOT a) AND b
    assert!(matches("NOT Alep Homs", "Homs"));
    assert!(!matches("NOT Alep Homs", "Alep"));
    // Only the true side of an OR reports hits.
    assert_eq!(hit_texts("(Alep Raqa) OR Homs", "Alep et Homs"), ["Homs"]);
}

/// `a`, then `gap` filler words, then `b`.
fn spaced(gap: usize) -> String {
    let filler = vec!["mot"; gap].join(" ");
    format!("Palmyre {filler} Daech")
}

#[test]
fn near_counts_words_apart() {
    // Palmyre and Daech are 8 words apart with 7 words between them.
    assert!(matches("NEAR/8(Palmyre, Daech)", &spaced(7)));
    assert!(!matches("NEAR/8(Palmyre, Daech)", &spaced(8)));
    assert!(matches("NEAR/1(Palmyre, Daech)", &spaced(0)));
    assert!(!matches("NEAR/1(Palmyre, Daech)", &spaced(1)));
    // Order does not matter.
    assert!(matches("NEAR/8(Daech, Palmyre)", &spaced(7)));
    // Elided prefixes do not count: «d'», «l'» are not words.
    let text = "Palmyre d'a l'b d'c l'd qu'e j'f l'g Daech";
    assert!(matches("NEAR/8(Palmyre, Daech)", text));
    assert!(!matches("NEAR/7(Palmyre, Daech)", text));
    // Phrases, prefixes, entities and OR-groups as operands; same field only.
    assert!(matches(
        "NEAR/4(\"Etat islamique\", syri* OR Palmyre)",
        "l'Etat islamique près de Palmyre"
    ));
    assert!(matches(
        "NEAR/5(@daech, Palmyre)",
        "(Daech/EI) près de Palmyre"
    ));
    let m = matcher(&["NEAR/50(Palmyre, Daech)"]);
    let doc = Document {
        title: "Palmyre",
        summary: "",
        content: "Daech",
    };
    assert!(m.match_document(&doc).is_empty());
    // One word does not make a pair with itself.
    assert!(!matches("NEAR/3(syri*, syrien)", "le régime syrien"));
    assert!(matches("NEAR/3(syri*, syrien)", "le syrien syrien"));
    // Only the hits that are near each other are reported.
    let t = format!("Daech {} Palmyre mot Daech", vec!["x"; 20].join(" "));
    let h = hits("NEAR/3(Palmyre, Daech)", &t).unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[1].start, t.rfind("Daech").unwrap());
}

#[test]
fn the_seed_article_matches_realistic_watches() {
    let m = matcher(&[
        "@daech Palmyre",
        "title:Palmyre",
        "NEAR/8(ONU, Genève)",
        "\"al-Bayarat\" AND syri*",
        "Tadmor OR Raqqa",
        "ISIS OR \"Islamic State\"",
        "Palmyre -Daech",
        "NEAR/3(Genève, Constitution)",
    ]);
    let doc = Document {
        title: "Syrie : l'armée progresse vers Palmyre",
        summary: "",
        content: SEED,
    };
    let ids: Vec<usize> = m.match_document(&doc).iter().map(|w| w.watch).collect();
    assert_eq!(ids, [0, 1, 2, 3]);
}

#[test]
fn patterns_are_shared_between_watches() {
    let m = matcher(&["Palmyre", "PALMYRE OR palmyre*", "@daech", "Daech Palmyre"]);
    assert_eq!(m.watch_count(), 4);
    // palmyre, etat islamique, islamic state, daech, daesh, isis, isil, ei, eiil
    assert_eq!(m.pattern_count(), 9);
}

#[test]
fn parse_builds_the_expected_tree() {
    let e = parse_query("a OR b c").unwrap();
    let Expr::Or(items) = e else {
        panic!("expected OR, got {e:?}")
    };
    assert_eq!(items.len(), 2);
    assert!(matches!(&items[1], Expr::And(v) if v.len() == 2));
    assert_eq!(
        parse_query("place:Homs/LY").unwrap(),
        Expr::Place {
            name: "Homs".into(),
            country: Some("LY".into()),
            offset: 0
        }
    );
    assert_eq!(
        parse_query("x within(50km, Palmyra)").unwrap(),
        Expr::And(vec![
            Expr::Word {
                text: "x".into(),
                offset: 0
            },
            Expr::Within {
                km: 50.0,
                name: "Palmyra".into(),
                offset: 2
            }
        ])
    );
    assert!(matches!(
        parse_query("NEAR/8(a, b OR \"c d\")").unwrap(),
        Expr::Near { distance: 8, .. }
    ));
    assert!(matches!(
        parse_query("-a").unwrap(),
        Expr::Not { offset: 0, .. }
    ));
    assert!(matches!(
        parse_query("syri*").unwrap(),
        Expr::Prefix { stem, .. } if stem == "syri"
    ));
}

#[test]
fn parse_errors_carry_their_offset() {
    let cases: &[(&str, usize)] = &[
        ("", 0),
        ("   ", 0),
        ("Palmyre AND (Daech OR EI", 12),
        ("Palmyre )", 8),
        ("a OR OR b", 5),
        ("Palmyre \"Etat islamique", 8),
        ("NEAR(a, b)", 0),
        ("x NEAR/(a, b)", 7),
        ("NEAR/x(a, b)", 5),
        ("NEAR/8(a b)", 7),
        ("NEAR/8(a, NOT b)", 10),
        ("NEAR/8(a, b", 6),
        ("NEAR/8 a, b", 7),
        ("a AND", 5),
        ("foo:bar", 0),
        ("title:(content:a)", 7),
        ("@ Daech", 0),
        ("s*", 0),
        ("sy*ri", 2),
        ("\"  \"", 0),
        ("a ()", 3),
        ("a - b", 2),
        ("within(km, X)", 7),
    ];
    for &(q, offset) in cases {
        match parse_query(q) {
            Ok(e) => panic!("{q:?} parsed as {e:?}"),
            Err(e) => assert_eq!(e.offset, offset, "{q:?}: {e}"),
        }
    }
}

#[test]
fn build_reports_every_error() {
    let ws = watches(&[
        "Palmyre",
        "(Daech",
        "@nobody OR @daech OR @nothing",
        "place:Palmyra",
        "Homs OR within(30km, Homs)",
    ]);
    let errors = match Matcher::build(&daech(), &ws) {
        Ok(_) => panic!("bad watches compiled"),
        Err(e) => e,
    };
    let got: Vec<(usize, usize)> = errors.iter().map(|e| (e.watch, e.offset)).collect();
    assert_eq!(got, [(1, 0), (2, 0), (2, 21), (3, 0), (4, 8)]);
    assert!(errors[1].message.contains("@nobody"));
    assert!(errors[3].message.contains("gazetteer"));
}

#[test]
fn caret_line_points_at_the_fault() {
    assert_eq!(caret_line("(Daech OR EI", 0), "(Daech OR EI\n^");
    assert_eq!(caret_line("Genève )", 8), "Genève )\n       ^");
    assert_eq!(caret_line("a\nb", 9), "a b\n   ^");
}

#[test]
fn an_empty_rule_set_matches_nothing() {
    let m = matcher(&[]);
    assert_eq!(m.pattern_count(), 0);
    assert!(m.match_document(&content(SEED)).is_empty());
}

/// Pieces for generated texts: names in many spellings, separators, noise.
const PIECES: &[&str] = &[
    "Palmyre",
    "PALMYRE",
    "palmyréen",
    "Gene\u{300}ve",
    "GENÈVE",
    "Genève",
    "Syriens",
    "inter-",
    "al Bayarat",
    "al-Bayarat",
    "l’ONU",
    "l'",
    "ONU",
    "EI",
    "ei",
    "EIFFEL",
    "Cœur",
    "coeur",
    "œ",
    "État-Islamique",
    "etat islamique",
    " ",
    "  ",
    " - ",
    "’",
    "\u{AD}",
    ",",
    "\u{A0}",
    "\u{301}",
    "İ",
    "ß",
    "ﬁ",
    "¼",
    "d’",
    "qu'",
    "Daech",
    "-",
];

const TERMS: &[(&str, bool)] = &[
    ("Palmyre", false),
    ("Genève", false),
    ("syri", true),
    ("al-Bayarat", false),
    ("ONU", false),
    ("EI", false),
    ("cœur", false),
    ("co", true),
    ("Etat islamique", false),
    ("Daech", false),
    ("inter syr", true),
    ("ss", false),
    ("fi", true),
    ("1", false),
];

fn text_strategy() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => proptest::sample::select(PIECES).prop_map(str::to_owned),
        1 => any::<char>().prop_map(|c| c.to_string()),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

/// Random watches over a small vocabulary, as (query, text) material.
const VOCAB: &[&str] = &[
    "Palmyre",
    "Daech",
    "EI",
    "ONU",
    "Genève",
    "syri*",
    "\"al-Bayarat\"",
    "@daech",
    "Homs",
    "\"Etat islamique\"",
    "armée",
    "title:Palmyre",
    "content:Daech",
];

fn query_strategy() -> impl Strategy<Value = String> {
    let leaf = proptest::sample::select(VOCAB).prop_map(str::to_owned);
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 2..4)
                .prop_map(|v| format!("({})", v.join(" "))),
            proptest::collection::vec(inner.clone(), 2..4)
                .prop_map(|v| format!("({})", v.join(" OR "))),
            inner.clone().prop_map(|q| format!("NOT {q}")),
            (1u32..6).prop_map(|n| format!("NEAR/{n}(Palmyre, @daech OR syri*)")),
        ]
    })
}

fn doc_strategy() -> impl Strategy<Value = (String, String)> {
    const WORDS: &[&str] = &[
        "Palmyre",
        "Daech",
        "l'EI",
        "ei",
        "l’ONU",
        "Genève",
        "syriens",
        "al Bayarat",
        "Homs",
        "Etat islamique",
        "armée",
        "le",
        "de",
        "village",
        "Daesh",
    ];
    let text =
        proptest::collection::vec(proptest::sample::select(WORDS), 0..25).prop_map(|v| v.join(" "));
    (text.clone(), text)
}

proptest! {
    #[test]
    fn candidate_selection_agrees_with_evaluating_every_watch(
        queries in proptest::collection::vec(query_strategy(), 1..12),
        docs in proptest::collection::vec(doc_strategy(), 1..4),
    ) {
        let qs: Vec<&str> = queries.iter().map(String::as_str).collect();
        let m = matcher(&qs);
        for (title, body) in &docs {
            let doc = Document { title, summary: "", content: body };
            prop_assert_eq!(m.match_document(&doc), m.match_document_naive(&doc));
        }
    }

    #[test]
    fn hits_fall_on_char_boundaries_and_fold_to_their_term(text in text_strategy()) {
        let queries: Vec<String> = TERMS
            .iter()
            .map(|&(t, prefix)| if prefix { format!("\"{t}*\"") } else { format!("\"{t}\"") })
            .collect();
        let qs: Vec<&str> = queries.iter().map(String::as_str).collect();
        let m = matcher(&qs);
        let doc = Document { title: &text, summary: "", content: &text };
        for wm in m.match_document(&doc) {
            let (term, prefix) = TERMS[wm.watch];
            let want = fold_term(term);
            prop_assert!(!wm.hits.is_empty());
            for h in &wm.hits {
                prop_assert!(text.is_char_boundary(h.start) && text.is_char_boundary(h.end));
                prop_assert_eq!(&text[h.start..h.end], h.text.as_str());
                let got = fold_term(&h.text);
                if prefix {
                    prop_assert!(got.starts_with(&want), "{:?} vs {:?}", got, want);
                } else {
                    prop_assert_eq!(&got, &want);
                }
            }
        }
    }

    #[test]
    fn random_queries_parse_or_fail_at_a_position(q in any::<String>()) {
        if let Err(e) = parse_query(&q) {
            prop_assert!(e.offset <= q.len());
            prop_assert!(q.is_char_boundary(e.offset));
        }
        let _ = Matcher::build(&daech(), &watches(&[q.as_str()]));
    }

    #[test]
    fn query_like_strings_never_panic(
        q in "[a-zA-Zé@*:/\"«»(),\\- ]{0,12}( (AND|OR|NOT|NEAR/[0-9]{0,2}|title:|place:|within)[ (]?[a-zé\"(),*@-]{0,6}){0,4}"
    ) {
        match parse_query(&q) {
            Err(e) => prop_assert!(e.offset <= q.len() && q.is_char_boundary(e.offset)),
            Ok(_) => {
                if let Ok(m) = Matcher::build(&daech(), &watches(&[q.as_str()])) {
                    let _ = m.match_document(&content(SEED));
                }
            }
        }
        let _ = caret_line(&q, q.len() / 2);
    }
}
