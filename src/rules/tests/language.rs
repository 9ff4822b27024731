//! Matching tests: one per row of the rule language table, plus the seed article.

use super::*;

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
fn an_empty_rule_set_matches_nothing() {
    let m = matcher(&[]);
    assert_eq!(m.pattern_count(), 0);
    assert!(m.match_document(&content(SEED)).is_empty());
}

#[test]
fn matcher_can_be_shared_between_threads() {
    fn shared<T: Send + Sync>(_: &T) {}
    let m = std::sync::Arc::new(matcher(&["Palmyre"]));
    shared(&m);
    let worker = {
        let m = std::sync::Arc::clone(&m);
        std::thread::spawn(move || m.match_document(&content("près de Palmyre")).len())
    };
    assert_eq!(worker.join().ok(), Some(1));
}

#[test]
fn the_documented_examples_compile() {
    let m = matcher(&[
        "NEAR/10(@daech, Palmyre OR Tadmor)",
        "\"al-Bayarat\" AND syri* AND (offensive OR combat*)",
        "(Genève OR Geneva) ONU négociations -football",
        "title:Palmyre",
    ]);
    let doc = Document {
        title: "",
        summary: "",
        content: SEED,
    };
    let ids: Vec<usize> = m.match_document(&doc).iter().map(|w| w.watch).collect();
    assert_eq!(ids, [0, 1, 2]);
}

#[test]
fn hits_never_split_an_original_char() {
    // «¼» folds to «1⁄4»: the «1» alone is not a whole original char, so it is no hit.
    assert!(!matches("1", "¼"));
    assert!(matches("1", "1 ¼"));
    // «ﬁ» folds to «fi» and is one char: a prefix hit covers it whole.
    assert_eq!(hit_texts("fi*", "la ﬁn"), ["ﬁn"]);
}
