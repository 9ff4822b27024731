//! Property tests: hit offsets, candidate selection against evaluating every watch, and
//! robustness of the parser to any input.

use super::*;
use crate::rules::fold::fold_term;
use proptest::prelude::*;

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
    fn the_scan_finds_what_a_search_iterator_finds(text in text_strategy()) {
        let mut queries: Vec<String> = TERMS
            .iter()
            .map(|&(t, prefix)| if prefix { format!("\"{t}*\"") } else { format!("\"{t}\"") })
            .collect();
        // Terms that start or end with punctuation, and short ones found inside words.
        queries.extend(
            ["\"(ONU)\"", "\"e\"", "\"ei*\"", "\"O.N.U.\"", "\"#syrie\"", "\"-inter\""].map(String::from),
        );
        let qs: Vec<&str> = queries.iter().map(String::as_str).collect();
        let m = matcher(&qs);
        let folded = crate::rules::fold::fold(&text);
        let (mut fast, mut reference) = (Vec::new(), Vec::new());
        m.scan_field(0, &text, &folded, &mut fast);
        m.scan_reference(&m.patterns, 0, &text, &folded, &mut reference);
        fast.sort_unstable();
        reference.sort_unstable();
        prop_assert_eq!(&fast, &reference);
        // The automaton of large rule sets, on the same patterns.
        let mut large = m.clone();
        large.scanner = Some(crate::rules::scan::build_nfa(&m.patterns).unwrap());
        let mut by_nfa = Vec::new();
        large.scan_field(0, &text, &folded, &mut by_nfa);
        by_nfa.sort_unstable();
        prop_assert_eq!(by_nfa, reference);
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
