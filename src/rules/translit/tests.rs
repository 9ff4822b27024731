//! Tests of names in every spelling: the cases table (tests/fixtures/translit/cases.tsv: 125
//! names, 1,190 sentences in French, English and Arabic) through the whole rule language —
//! recall of 0.9 or more, and no look-alike matched — and properties: no panic on any text, a
//! name always matches its own spelling, hits start and end on word boundaries.

use proptest::prelude::*;

use crate::rules::tests::{content, watches};
use crate::rules::{Matcher, WatchDef};

const CASES: &str = include_str!("../../../tests/fixtures/translit/cases.tsv");

struct Case<'a> {
    id: &'a str,
    watch: &'a str,
    expect: bool,
    spelling: &'a str,
    lang: &'a str,
    sentence: &'a str,
}

fn cases() -> Vec<Case<'static>> {
    let mut rows = CASES
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'));
    let header = rows.next().unwrap_or_default();
    assert!(header.starts_with("id\tcountry\tkind\twatch"), "{header}");
    rows.map(|l| {
        let c: Vec<&str> = l.split('\t').collect();
        assert_eq!(c.len(), 8, "{l}");
        Case {
            id: c[0],
            watch: c[3],
            expect: c[4] == "1",
            spelling: c[5],
            lang: c[6],
            sentence: c[7],
        }
    })
    .collect()
}

/// Where the spelling stands in the sentence (as written, or capitalised at its start).
fn span(sentence: &str, spelling: &str) -> Option<std::ops::Range<usize>> {
    let mut capitalised = String::new();
    let mut chars = spelling.chars();
    capitalised.extend(chars.next().into_iter().flat_map(char::to_uppercase));
    capitalised.push_str(chars.as_str());
    [spelling, capitalised.as_str()]
        .iter()
        .find_map(|s| sentence.find(s).map(|k| k..k + s.len()))
}

#[test]
fn the_cases_table_is_matched_with_recall_and_without_look_alikes() {
    let rows = cases();
    let mut names: Vec<&str> = rows.iter().map(|r| r.watch).collect();
    names.sort_unstable();
    names.dedup();
    let defs: Vec<WatchDef> = watches(&names);
    let m = Matcher::build(&[], &defs).expect("the table's watches compile");
    let (mut pos, mut found, mut neg, mut wrong) = (0, 0, 0, 0);
    let mut misses = Vec::new();
    for r in &rows {
        let w = names.binary_search(&r.watch).expect("listed");
        let matched = m.match_document(&content(r.sentence));
        let hits = matched.iter().find(|x| x.watch == w).map(|x| &x.hits[..]);
        if r.expect {
            pos += 1;
            let at = span(r.sentence, r.spelling).expect("the spelling is in its sentence");
            let ok = hits
                .unwrap_or_default()
                .iter()
                .any(|h| h.start < at.end && at.start < h.end);
            found += usize::from(ok);
            if !ok {
                misses.push(format!(
                    "MISS {} {} | {} | {}",
                    r.id, r.watch, r.spelling, r.lang
                ));
            }
        } else {
            neg += 1;
            if let Some(h) = hits {
                wrong += 1;
                misses.push(format!("LOOK-ALIKE {} | {} | {:?}", r.watch, r.spelling, h));
            }
        }
    }
    let recall = found as f64 / pos as f64;
    assert!(
        names.len() >= 40 && pos > 900 && neg > 150,
        "{} names",
        names.len()
    );
    assert!(
        recall >= 0.9 && wrong == 0,
        "recall {found}/{pos} = {recall:.3}, look-alikes matched {wrong}/{neg}:\n{}",
        misses.join("\n")
    );
    eprintln!("cases: recall {found}/{pos}, look-alikes matched {wrong}/{neg}");
    for m in misses {
        eprintln!("  {m}");
    }
}

proptest! {
    #[test]
    fn any_text_is_scanned_without_panic_and_hits_are_whole_words(
        text in "([A-Z][a-zé'ʿ]{0,8}|al|el|-|'|’|ʿ|\\s|\\.|حلب|بال|و|[a-z]{1,6}|É|Œ|\u{301}|\u{AD}){0,30}"
    ) {
        let m = Matcher::build(&[], &watches(&[
            "~Kadhafi OR ~\"al-Kallabiyeh\" OR ~\"Hayat Tahrir al-Cham\" OR ~Kafranbel",
            "~Daech حلب الرقة",
        ])).expect("compiles");
        for w in m.match_document(&content(&text)) {
            for h in w.hits {
                prop_assert!(text.is_char_boundary(h.start) && text.is_char_boundary(h.end));
                prop_assert_eq!(&text[h.start..h.end], h.text.as_str());
                let before = text[..h.start].chars().next_back();
                prop_assert!(!before.is_some_and(char::is_alphanumeric), "{:?} in {:?}", h, text);
            }
        }
    }

    #[test]
    fn a_name_matches_its_own_spelling(name in "[A-Z][a-z]{2,9}( [A-Z][a-z]{2,9}){0,2}") {
        let q = format!("~\"{name}\"");
        let m = Matcher::build(&[], &watches(&[q.as_str()])).expect("compiles");
        let text = format!("Hier, {name} a parlé.");
        prop_assert_eq!(m.match_document(&content(&text)).len(), 1);
    }
}

const HELDOUT: &str = include_str!("../../../bench/translit/heldout.tsv");

/// The held-out pairs (written apart from the table, bench/translit/heldout.tsv): each
/// spelling alone in a line of text. Reported, and held to the table's bar.
#[test]
fn held_out_spelling_pairs() {
    let rows: Vec<Vec<&str>> = (HELDOUT.lines())
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect();
    let (mut pos, mut found, mut neg, mut wrong) = (0, 0, 0, 0);
    for r in &rows {
        let q = format!("~\"{}\"", r[0]);
        let m = Matcher::build(&[], &watches(&[q.as_str()])).expect("compiles");
        let mut chars = r[1].chars();
        let spelled: String = chars
            .next()
            .into_iter()
            .flat_map(char::to_uppercase)
            .collect();
        let text = format!("{spelled}{} spoke.", chars.as_str());
        let hit = !m.match_document(&content(&text)).is_empty();
        if r[2] == "1" {
            pos += 1;
            found += usize::from(hit);
            if !hit {
                eprintln!("  held-out MISS: ~{} | {}", r[0], r[1]);
            }
        } else {
            neg += 1;
            wrong += usize::from(hit);
            if hit {
                eprintln!("  held-out LOOK-ALIKE MATCHED: ~{} | {}", r[0], r[1]);
            }
        }
    }
    eprintln!("held-out: other spellings {found}/{pos}, look-alikes matched {wrong}/{neg}");
    assert!(
        found * 10 >= pos * 9 && wrong * 10 <= neg,
        "{found}/{pos}, {wrong}/{neg}"
    );
}

fn hit_texts(query: &str, text: &str) -> Vec<String> {
    let m = Matcher::build(&[], &watches(&[query])).expect("compiles");
    let mut found = m.match_document(&content(text));
    found
        .pop()
        .map(|w| w.hits.into_iter().map(|h| h.text).collect())
        .unwrap_or_default()
}

#[test]
fn loose_names_work_in_phrases_near_fields_and_negations() {
    assert_eq!(
        hit_texts(
            "~\"Hayat Tahrir al-Cham\"",
            "Les jihadistes de Hay'at Tahrir ash-Sham."
        ),
        ["Hay'at Tahrir ash-Sham"]
    );
    assert_eq!(
        hit_texts("\"~Hayat Tahrir al-Cham\"", "Hayat Tahrir el-Sham."),
        ["Hayat Tahrir el-Sham"]
    );
    assert_eq!(
        hit_texts(
            "NEAR/3(~Kadhafi, Libye)",
            "En Libye, le colonel Gaddafi est mort."
        ),
        ["Libye", "Gaddafi"]
    );
    assert!(
        hit_texts(
            "NEAR/2(~Kadhafi, Libye)",
            "En Libye, le colonel Gaddafi est mort."
        )
        .is_empty()
    );
    assert!(hit_texts("~Kadhafi -Gaddafi", "Qaddafi, Gaddafi.").is_empty());
    assert_eq!(hit_texts("~Kadhafi -Gaddafi", "Qaddafi."), ["Qaddafi"]);
    let m = Matcher::build(&[], &watches(&["title:~Kadhafi"])).expect("compiles");
    let doc = |title, text| crate::rules::Document {
        title,
        summary: "",
        content: text,
    };
    assert!(m.match_document(&doc("Rien", "Gaddafi")).is_empty());
    let found = m.match_document(&doc("Mort de Gadhafi", ""));
    assert_eq!(found[0].hits[0].text, "Gadhafi");
    assert_eq!(found[0].loose[0].name, "~Kadhafi");
    // The name as written is no other spelling; its article is no other spelling either.
    let m = Matcher::build(&[], &watches(&["~\"al-Bayarat\""])).expect("compiles");
    let found = m.match_document(&content("D'al-Bayarat à Bayarat, puis el-Bayyarat."));
    let texts: Vec<&str> = found[0].hits.iter().map(|h| h.text.as_str()).collect();
    assert_eq!(texts, ["al-Bayarat", "Bayarat", "el-Bayyarat"]);
    assert_eq!(found[0].loose.len(), 1);
    assert_eq!(
        (found[0].loose[0].hit, found[0].loose[0].name.as_str()),
        (2, "~\"al-Bayarat\"")
    );
}

#[test]
fn entities_take_any_spelling_name_by_name() {
    let entities = [crate::rules::EntityDef {
        name: "libye".into(),
        names: vec!["~Kadhafi".into(), "Tripoli".into()],
    }];
    let m = Matcher::build(&entities, &watches(&["@libye"])).expect("compiles");
    let found = m.match_document(&content("Qaddafi à Tripoli; Tripolis."));
    let texts: Vec<&str> = found[0].hits.iter().map(|h| h.text.as_str()).collect();
    assert_eq!(texts, ["Qaddafi", "Tripoli"]);
}

#[test]
fn place_names_are_not_loosened_and_tilde_errors_are_positioned() {
    assert!(hit_texts("place:Raqqa", "Les combats à Raqqeh.").is_empty());
    assert_eq!(hit_texts("~Raqqa", "Les combats à Raqqeh."), ["Raqqeh"]);
    for (query, at, message) in [
        ("Daech ~ Raqqa", 6, "`~` goes right before a name"),
        ("a OR ~syri*", 5, "not a prefix"),
        ("~place:Raqqa", 0, "does not widen place:"),
        ("x ~title:Raqqa", 2, "title:~Name"),
        ("~@daech", 0, "`~` goes right before a name"),
    ] {
        let e = crate::rules::parse_query(query).expect_err(query);
        assert_eq!(e.offset, at, "{query}");
        assert!(e.message().contains(message), "{query}: {}", e.message());
    }
}

#[test]
fn arabic_script_reads_joined_prefixes_and_never_a_longer_word() {
    assert_eq!(
        hit_texts("حلب", "قصف في حلب وبحلب ولحلب والحلب، وحلبة ومحلب"),
        ["حلب", "وبحلب", "ولحلب", "والحلب"]
    );
    assert_eq!(
        hit_texts("الرقة", "في الرقة وبالرقة وللرقة"),
        ["الرقة", "وبالرقة", "وللرقة"]
    );
    assert!(hit_texts("الرقة", "ورقة برقة").is_empty());
    assert!(hit_texts("تدمر", "تدمير المدينة").is_empty());
    // Letter forms are one: hamza on alef, ta marbuta, alef maqsura, tatweel, harakat.
    assert_eq!(hit_texts("إدلب", "في ادلب"), ["ادلب"]);
    assert_eq!(hit_texts("الرقه", "في الرقـة"), ["الرقـة"]);
    assert_eq!(hit_texts("مصطفى", "مصطفي"), ["مصطفي"]);
    assert_eq!(hit_texts("place:Raqqa", "وصلوا إلى الرقة."), ["الرقة"]);
}

/// A stress run: every town of Syria, Iraq, Libya and Yemen in the gazetteer (894, in BGN
/// romanisation, most of them short) as a `~` watch, against its GeoNames alternate names,
/// each alone in a line. GeoNames mixes in other names and exonyms: a floor, not the recall
/// (the prototype: 0.52). Ignored: `cargo test --lib gazetteer_towns -- --ignored --nocapture`.
#[test]
#[ignore = "a stress run over the gazetteer's towns"]
fn gazetteer_towns_find_their_alternate_names() {
    use std::io::Read;
    let mut text = String::new();
    flate2::read::GzDecoder::new(&include_bytes!("../../../data/gazetteer.tsv.gz")[..])
        .read_to_string(&mut text)
        .unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let n: usize = head[1].parse().unwrap();
    let (mut pairs, mut found) = (0, 0);
    for _ in 0..n {
        let cols: Vec<&str> = lines.next().unwrap().split('\t').collect();
        if cols[0] != "P" || !["SY", "IQ", "LY", "YE"].contains(&cols[1]) {
            continue;
        }
        let disp = cols[6];
        let own = super::spelling_key(disp).replace(' ', "");
        let mut alts: Vec<&str> = cols[7..]
            .iter()
            .map(|a| a.trim_start_matches('!'))
            .filter(|a| a.is_ascii() && a.replace(' ', "") != own)
            .collect();
        alts.sort();
        alts.dedup();
        let q = format!("~\"{disp}\"");
        let m = Matcher::build(&[], &watches(&[q.as_str()])).unwrap();
        for alt in alts {
            let t: Vec<String> = alt
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .into_iter()
                        .flat_map(char::to_uppercase)
                        .chain(c)
                        .collect()
                })
                .collect();
            let text = format!("{} .", t.join(" "));
            pairs += 1;
            found += usize::from(!m.match_document(&content(&text)).is_empty());
        }
    }
    eprintln!("gazetteer alternates found: {found}/{pairs}");
    assert!(pairs > 4_000 && found * 2 >= pairs, "{found}/{pairs}");
}

#[test]
fn arabic_letter_forms_fold_to_one() {
    use crate::rules::fold::fold_term;
    assert_eq!(fold_term("الرقة"), "الرقه");
    assert_eq!(fold_term("مصطفى"), "مصطفي");
    assert_eq!(fold_term("ٱلرقة"), "الرقه");
    assert_eq!(fold_term("أدلب إدلب آدلب"), "ادلب ادلب ادلب");
    assert_eq!(fold_term("حـلـب"), "حلب");
    assert_eq!(fold_term("کرکوک"), "كركوك");
    assert_eq!(fold_term("حَلَب"), "حلب");
}

proptest! {
    #[test]
    fn fold_offsets_of_word_bounds_map_back_to_them(
        s in "([a-zA-Zéœß’'ʿ\u{301}\u{AD}ـة -]|حلب|\\.){0,30}"
    ) {
        let f = crate::rules::fold::fold(&s);
        for w in super::text::words(&s, false) {
            let (a, b) = (f.fold_offset(w.tok.start), f.fold_offset(w.tok.end));
            prop_assert!(a <= b && f.text.is_char_boundary(a) && f.text.is_char_boundary(b));
            let r = f.original_range(a, b);
            prop_assert!(r.start >= w.tok.start && r.end <= w.tok.end.max(r.start), "{:?} {:?}", r, w);
        }
    }
}
