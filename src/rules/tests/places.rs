//! `place:` and `within()` against the shipped gazetteer: every spelling the issue names is
//! caught, areas hold what is near and not what is far, common words are never places, and
//! what each term resolved to is reported.

use super::*;

fn all_match(query: &str, texts: &[&str]) {
    let m = matcher(&[query]);
    for text in texts {
        let found = m.match_document(&content(text));
        assert_eq!(found.len(), 1, "{query} should match «{text}»");
    }
}

#[test]
fn a_place_matches_its_names_in_every_language() {
    all_match(
        "place:Palmyra",
        &[
            "l'armée est entrée dans Palmyre",
            "near Tadmor, Syria",
            "à Tadmur",
            "الجيش السوري في تدمر",
            "PALMYRA",
        ],
    );
    all_match(
        "place:Aleppo",
        &["la bataille d'Alep", "in Halab", "Aleppo"],
    );
    all_match(
        "place:Geneva",
        &["à Genève", "in Genf", "GENEVE", "Geneva talks"],
    );
    all_match("place:Raqqa", &["à Raqa", "à al-Raqqa", "Raqqa"]);
    // The place may be named in any language the gazetteer knows.
    all_match("place:Palmyre", &["Tadmor"]);
    all_match("place:تدمر", &["Palmyre"]);
    // Still a word on word boundaries, like any term.
    assert!(!matches("place:Palmyra", "le désert palmyréen"));
    assert!(!matches("place:Aleppo", "Damas"));
}

#[test]
fn hits_are_the_place_names_as_written() {
    assert_eq!(
        hit_texts("place:Palmyra", "De Palmyre (Tadmor) à Alep, puis تدمر."),
        ["Palmyre", "Tadmor", "تدمر"]
    );
}

#[test]
fn a_country_code_picks_the_place_in_that_country() {
    let libya = matcher(&["place:Homs/LY"]);
    let report = &libya.places()[0];
    assert_eq!(
        (report.place.name.as_str(), report.place.country.as_str()),
        ("Al Khums", "LY")
    );
    assert!(!report.is_ambiguous(), "a country code settles it");
    assert_eq!(
        libya.match_document(&content("le port d'Al Khums")).len(),
        1
    );
    assert_eq!(libya.match_document(&content("à Khoms")).len(), 1);
    // Neither the Syrian city's own names nor its surroundings.
    assert!(
        libya
            .match_document(&content("à Hims, en Syrie"))
            .is_empty()
    );

    let syria = matcher(&["place:Homs"]);
    let report = &syria.places()[0];
    assert_eq!(report.place.country, "SY");
    assert!(
        report.rivals.iter().any(|p| p.country == "LY"),
        "Al Khums makes «Homs» ambiguous: {report:?}"
    );
    assert_eq!(syria.match_document(&content("à Hims")).len(), 1);
    assert!(syria.match_document(&content("à Al Khums")).is_empty());
}

#[test]
fn within_matches_what_is_near_and_not_what_is_far() {
    let m = matcher(&["within(60km, Homs)"]);
    assert_eq!(m.match_document(&content("à Hama, hier")).len(), 1);
    assert_eq!(m.match_document(&content("à Homs, hier")).len(), 1);
    assert!(m.match_document(&content("à Palmyre, hier")).is_empty());
    assert!(m.match_document(&content("à Tadmor, hier")).is_empty());
    // Palmyra is about 150 km from Homs.
    assert!(matches("within(160km, Homs)", "à Palmyre"));
    let report = &m.places()[0];
    assert_eq!(report.km, Some(60.0));
    assert_eq!(report.place.name, "Homs");
    assert!(
        report.places > 2 && report.names > report.places,
        "{report:?}"
    );
    // Countries are no members of an area.
    assert!(!matches("within(100km, Damascus)", "en Syrie"));
}

#[test]
fn common_words_are_never_places() {
    let text = "selon l'agence, mardi, au port de la ville";
    let m = matcher(&["within(500km, Damascus)"]);
    let found = m.match_document(&content(text));
    let texts: Vec<&str> = found
        .iter()
        .flat_map(|w| w.hits.iter().map(|h| h.text.as_str()))
        .collect();
    for word in ["selon", "mardi", "port", "de", "la"] {
        assert!(!texts.contains(&word), "«{word}» matched: {texts:?}");
    }
    assert!(found.is_empty(), "{texts:?}");
    // And naming one is an error that says why.
    let errors = Matcher::build(&[], &watches(&["place:selon"])).unwrap_err();
    assert!(errors[0].message.contains("common"), "{errors:?}");
}

#[test]
fn unknown_places_and_countries_are_errors_at_the_term() {
    let ws = watches(&[
        "Palmyre OR place:Zzyzxopolis",
        "x AND place:Homs/XX",
        "within(10km, Nowhereville) OR y",
        "place:Palmyre/FR",
    ]);
    let errors = Matcher::build(&daech(), &ws).unwrap_err();
    let got: Vec<(usize, usize)> = errors.iter().map(|e| (e.watch, e.offset)).collect();
    assert_eq!(got, [(0, 11), (1, 6), (2, 0), (3, 0)]);
    assert!(errors[0].message.contains("«Zzyzxopolis»"), "{errors:?}");
    assert!(errors[1].message.contains("XX"), "{errors:?}");
    assert!(errors[2].message.contains("«Nowhereville»"), "{errors:?}");
    assert!(errors[3].message.contains("SY"), "{errors:?}");
}

#[test]
fn place_terms_combine_and_are_reported_once_with_their_watches() {
    let m = matcher(&[
        "place:Palmyra AND (@daech OR offensive)",
        "NEAR/5(place:Palmyra, within(60km, Homs))",
        "title:place:Aleppo",
        "Genève",
    ]);
    let terms: Vec<(&str, &[usize])> = m
        .places()
        .iter()
        .map(|r| (r.term.as_str(), r.watches.as_slice()))
        .collect();
    assert_eq!(
        terms,
        [
            ("place:Palmyra", &[0, 1][..]),
            ("within(60km, Homs)", &[1][..]),
            ("place:Aleppo", &[2][..]),
        ]
    );
    let palmyra = &m.places()[0];
    assert_eq!(
        (palmyra.place.name.as_str(), palmyra.place.country.as_str()),
        ("Tadmur", "SY")
    );
    assert!(palmyra.place.population > 10_000 && (palmyra.place.lat - 34.56).abs() < 0.1);
    assert!(!palmyra.is_ambiguous(), "Palmyra, PA is no rival");
    let doc = content("Offensive de l'EI à Palmyre ; on se bat aussi dans les faubourgs de Homs.");
    let found: Vec<usize> = m.match_document(&doc).iter().map(|w| w.watch).collect();
    assert_eq!(found, [0]);
    let near = content("les environs de Tadmor et de Hama");
    let found: Vec<usize> = m.match_document(&near).iter().map(|w| w.watch).collect();
    assert_eq!(found, [1]);
    let titled = Document {
        title: "Alep sous les bombes",
        summary: "",
        content: "Alep",
    };
    let found = m.match_document(&titled);
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].hits.len(),
        1,
        "only the title: {:?}",
        found[0].hits
    );
}

#[test]
fn rules_without_places_report_none() {
    let m = matcher(&["Palmyre OR @daech", "title:Genève"]);
    assert!(m.places().is_empty());
}

#[test]
fn an_area_too_large_to_be_useful_is_an_error() {
    let errors = Matcher::build(&[], &watches(&["x OR within(20000km, Paris)"])).unwrap_err();
    assert_eq!((errors[0].watch, errors[0].offset), (0, 5));
    assert!(errors[0].message.contains("smaller distance"), "{errors:?}");
}

#[test]
fn ambiguous_names_say_how_to_pick_the_other_place() {
    let m = matcher(&["place:Homs", "within(60km, Homs)", "place:Homs/LY"]);
    let [homs, area, libya] = m.places() else {
        panic!("{:?}", m.places());
    };
    let line = homs.describe();
    assert!(line.starts_with("place:Homs → Homs, SY-HI: "), "{line}");
    assert!(
        line.contains(" inhabitants, 34.7") && line.contains("°N 36.7"),
        "{line}"
    );
    let warning = homs.warning().unwrap_or_default();
    assert!(warning.contains("Al Khums, LY"), "{warning}");
    assert!(
        warning.contains("place:Homs/SY or place:Homs/LY"),
        "{warning}"
    );
    // within() takes no country code: it names the rival in a way that picks it.
    let warning = area.warning().unwrap_or_default();
    assert!(warning.contains("within(60km, \"Al Khums\")"), "{warning}");
    assert!(matches("within(60km, \"Al Khums\")", "à Khoms"));
    assert!(!matches("within(60km, \"Al Khums\")", "à Hama"));
    assert_eq!(libya.warning(), None);
}

#[test]
fn a_place_name_counts_only_where_the_text_capitalises_it() {
    // Lower-case words are not places, in French or English...
    // (Orange, California: large enough that its name was kept despite being a word.)
    assert!(!matches("place:Orange/US", "il a pressé une orange"));
    assert!(!matches("place:Orange/US", "squeeze an orange"));
    assert!(matches(
        "place:Orange/US",
        "the mayor of Orange, California"
    ));
    assert!(!matches(
        "within(5km, London)",
        "the city council met on Monday"
    ));
    assert!(!matches("within(5km, London)", "la ville a voté"));
    assert!(matches(
        "within(5km, London)",
        "bankers in the City of London"
    ));
    // ...while every way the press writes a place still is: capitals, a lower-case
    // article before it, and scripts without case.
    all_match("place:Aleppo", &["à Alep", "ALEP", "in Halab", "في حلب"]);
    all_match("place:Raqqa", &["à al-Raqqa"]);
}

#[test]
fn a_quoted_place_takes_its_country_after_the_quotes() {
    let m = matcher(&["place:\"Los Angeles\"/US"]);
    let report = &m.places()[0];
    assert_eq!(
        (report.place.name.as_str(), report.place.country.as_str()),
        ("Los Angeles", "US")
    );
    assert!(matches(
        "place:\"Los Angeles\"/US",
        "a fire near Los Angeles"
    ));
    // What follows the slash must be a country code, or it is an error at its position.
    let errors = Matcher::build(&[], &watches(&["place:\"Los Angeles\"/USA"])).unwrap_err();
    assert_eq!(errors[0].offset, 20, "{errors:?}");
}

#[test]
fn counties_are_places_near_their_towns() {
    // A United States county by its whole name, a United Kingdom county by its name or its
    // customary abbreviation: within() around the nearby city holds them.
    assert!(matches(
        "within(50km, \"Los Angeles\")",
        "A wildfire in Orange County forced thousands to leave."
    ));
    assert!(matches(
        "within(50km, London)",
        "the Essex and Herts Air Ambulance flew him to hospital"
    ));
    assert!(matches(
        "within(50km, London)",
        "Les pompiers du Surrey ont maîtrisé l'incendie près d'Andover, dans le Hampshire."
    ));
    // The bare first word of a county's name is not the county.
    assert!(!matches("within(50km, \"Los Angeles\")", "an Orange juice"));
    // A county is named explicitly, with its country; far from the city, it is not near it.
    assert!(matches(
        "place:\"Orange County\"/US",
        "in Orange County, California"
    ));
    assert!(!matches("within(50km, London)", "the Lancs police said"));
    assert!(matches("place:Surrey/GB", "a crash in Surrey on Sunday"));
}
