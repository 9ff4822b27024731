//! Gazetteer tests, against the real shipped data (`data/gazetteer.tsv.gz`).

use std::io::Write;

use crate::rules::fold::fold_term;
use crate::rules::gazetteer::{Gazetteer, GazetteerError, Kind, distance_km, get};

fn gaz() -> &'static Gazetteer {
    get().expect("the shipped gazetteer loads")
}

fn id(name: &str, cc: Option<&str>) -> u32 {
    gaz().resolve(name, cc).expect(name).place.id
}

fn has_name(place: u32, name: &str) -> bool {
    let want = fold_term(name);
    gaz().names(place).iter().any(|n| fold_term(n) == want)
}

#[test]
fn palmyra_has_its_names_in_every_language() {
    let resolution = gaz().resolve("Palmyra", None).unwrap();
    assert!(resolution.ambiguous.iter().any(|p| p.country == "US"));
    assert_eq!(resolution.rivals().count(), 0, "Palmyra, PA is no rival");
    let palmyra = resolution.place;
    assert_eq!(
        (palmyra.name.as_str(), palmyra.country.as_str()),
        ("Tadmur", "SY")
    );
    for name in ["Palmyre", "Tadmor", "Tadmur", "تدمر", "PALMYRE", "Palmyra"] {
        assert!(
            has_name(palmyra.id, name),
            "{name} in {:?}",
            gaz().names(palmyra.id)
        );
    }
}

#[test]
fn aleppo_geneva_and_raqqa_have_the_press_spellings() {
    let aleppo = id("Aleppo", None);
    assert!(has_name(aleppo, "Alep") && has_name(aleppo, "Halab"));
    let geneva = gaz().resolve("Geneva", None).unwrap().place;
    assert_eq!(geneva.country, "CH");
    assert!(has_name(geneva.id, "Genève") && has_name(geneva.id, "Genf"));
    assert_eq!(id("GENEVE", None), geneva.id);
    assert_eq!(id("Genf", None), geneva.id);
    let raqqa = id("Raqqa", None);
    assert!(has_name(raqqa, "Raqa"));
    assert_eq!(id("Raqa", None), raqqa);
    // al-/ar-/er- transliteration variants reach the same city.
    for variant in ["al-Raqqa", "ar-Raqqa", "er Raqqa"] {
        assert_eq!(id(variant, None), raqqa, "{variant}");
    }
    let daraa = id("Daraa", Some("SY"));
    assert!(has_name(daraa, "Deraa"));
}

#[test]
fn homs_is_in_syria_unless_libya_is_asked_for() {
    let syria = gaz().resolve("Homs", None).unwrap();
    assert_eq!(
        (syria.place.name.as_str(), syria.place.country.as_str()),
        ("Homs", "SY")
    );
    assert!(
        syria.rivals().any(|p| p.country == "LY"),
        "Al Khums is a rival"
    );
    let libya = gaz().resolve("Homs", Some("LY")).unwrap().place;
    assert_eq!(
        (libya.name.as_str(), libya.country.as_str()),
        ("Al Khums", "LY")
    );
    assert_eq!(
        gaz().resolve("homs", Some("ly")).unwrap().place.id,
        libya.id
    );
    // Damascus, Maryland is no rival for Damascus, Syria.
    let damascus = gaz().resolve("Damascus", None).unwrap();
    assert_eq!(damascus.place.country, "SY");
    assert!(damascus.ambiguous.iter().any(|p| p.country == "US"));
    assert!(
        damascus.rivals().all(|p| p.country == "SY"),
        "only its governorate"
    );
}

#[test]
fn within_60_km_of_homs_holds_hama_and_not_palmyra() {
    let homs = id("Homs", None);
    let hama = id("Hama", Some("SY"));
    let palmyra = id("Palmyra", None);
    let area = gaz().within(homs, 60.0).unwrap();
    assert_eq!(area[0], homs, "the centre comes first");
    assert!(area.contains(&hama));
    assert!(!area.contains(&palmyra));
    let names = gaz().names_of(&area);
    assert!(names.contains(&"hama") && names.contains(&"homs"));
    assert!(!names.contains(&"palmyre"));
    // Every member is within the distance, and a wider circle holds Palmyra (150 km away).
    let at = |id| {
        let p = gaz().place(id).unwrap();
        (p.lat, p.lon)
    };
    assert!(area.iter().all(|&p| distance_km(at(homs), at(p)) <= 60.0));
    assert!(gaz().within(homs, 160.0).unwrap().contains(&palmyra));
}

#[test]
fn countries_resolve_in_french_and_english_and_are_areas_not_members() {
    let syria = gaz().resolve("Syrie", None).unwrap().place;
    assert_eq!((syria.kind, syria.country.as_str()), (Kind::Country, "SY"));
    assert_eq!(id("Syria", None), syria.id);
    assert!(has_name(syria.id, "سوريا"));
    assert_eq!(
        gaz().resolve("Etats-Unis", None).unwrap().place.country,
        "US"
    );
    let damascus = id("Damascus", None);
    let area = gaz().within(damascus, 100.0).unwrap();
    assert!(area.len() > 50, "{} places", area.len());
    assert!(
        area.iter()
            .all(|&p| gaz().place(p).unwrap().kind.is_point())
    );
    // A country is an area: its towns, from Damascus to Qamishli, and those 20 km around.
    let syria_area = gaz().within(syria.id, 20.0).unwrap();
    assert_eq!(syria_area[0], syria.id, "the centre comes first");
    assert!(syria_area.contains(&damascus));
    assert!(syria_area.contains(&id("Qamishli", None)));
    assert!(!syria_area.contains(&id("Baghdad", None)));
}

#[test]
fn common_words_codes_and_short_names_are_never_patterns() {
    let g = gaz();
    let banned = ["selon", "mardi", "port", "de", "sam", "gva", "pms"];
    for id in 0..g.len() as u32 {
        for name in g.names(id) {
            let key = fold_term(name);
            assert!(
                !banned.contains(&key.as_str()),
                "{name} of {:?}",
                g.place(id)
            );
            assert!(
                key.chars().filter(|c| c.is_alphabetic()).count() >= 2,
                "{name}"
            );
        }
    }
    assert_eq!(
        g.resolve("selon", None).unwrap_err(),
        GazetteerError::CommonWord {
            name: "selon".into()
        }
    );
    assert!(g.is_common_word("Selon") && !g.is_common_word("Palmyre"));
    // The main name of a large place stays a name: Nice is Nice.
    assert_eq!(g.resolve("Nice", None).unwrap().place.country, "FR");
}

#[test]
fn unknown_names_and_countries_are_errors_that_name_them() {
    let g = gaz();
    let err = g.resolve("Zzyzxopolis", None).unwrap_err();
    assert!(err.to_string().contains("«Zzyzxopolis»"), "{err}");
    let err = g.resolve("Homs", Some("XX")).unwrap_err();
    assert_eq!(err, GazetteerError::UnknownCountry { code: "XX".into() });
    let err = g.resolve("Palmyre", Some("FR")).unwrap_err();
    assert!(matches!(&err, GazetteerError::NotInCountry { elsewhere, .. } if elsewhere == "SY"));
    assert!(err.to_string().contains("«Palmyre»"), "{err}");
    assert_eq!(
        g.resolve(" - ", None).unwrap_err(),
        GazetteerError::EmptyName
    );
    assert!(g.names(u32::MAX).is_empty() && g.within(u32::MAX, 10.0).unwrap().is_empty());
    assert_eq!(g.within(id("Homs", None), f64::NAN).unwrap().len(), 1);
}

#[test]
fn stored_names_are_what_vigie_folding_gives() {
    // The generator folds names in Python; a name that vigie's own folding would change could
    // never be matched nor resolved.
    let g = gaz();
    let mut wrong = Vec::new();
    for id in 0..g.len() as u32 {
        for name in g.names(id) {
            let acronym = name.chars().any(char::is_uppercase);
            let folded = fold_term(name);
            if !acronym && folded != name {
                wrong.push(format!("{name} → {folded}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} names, e.g. {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(10)]
    );
}

fn gzip(text: &str) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap()
}

#[test]
fn damaged_data_is_an_error_naming_the_line() {
    assert!(matches!(
        Gazetteer::parse(b"not gzip"),
        Err(GazetteerError::Corrupt { .. })
    ));
    let bad = gzip("vigie-gazetteer 3\t2\t0\nP\tSY\t\t10\t1\t2\tA\ta\nP\tSY\t\tmany\t1\t2\tB\n");
    let err = Gazetteer::parse(&bad).unwrap_err();
    assert_eq!(
        err,
        GazetteerError::Corrupt {
            line: 3,
            reason: "bad population".into()
        }
    );
    let ok =
        gzip("vigie-gazetteer 3\t1\t1\nA\tSY\t\t10\t33510\t36291\tSyria\tsyrie\tsyria\nselon\n");
    let g = Gazetteer::parse(&ok).unwrap();
    assert_eq!(g.resolve("Syrie", None).unwrap().place.name, "Syria");
    assert_eq!(g.names(0), ["syrie", "syria"]);
}
