//! Places read in their article (issue 26), one test per cause, in French and English: a
//! homonymous place is decided by the other places the article names, and by the feed's
//! country when it names none; first names, titles, institutions, clubs and governments
//! speaking are no places; `vigie rules test` says which evidence decided.

use super::*;

fn matches_from(query: &str, text: &str, feed: Option<[u8; 2]>) -> bool {
    !matcher(&[query])
        .match_document_from(&content(text), feed)
        .is_empty()
}

#[test]
fn georgia_is_decided_by_the_other_places_the_article_names() {
    let state = "Protests in Atlanta and Savannah: Georgia lawmakers met on Monday.";
    let country = "From Tbilisi, Georgia asked for talks; Batumi was calm.";
    assert!(matches("place:Georgia/US", state));
    assert!(!matches("place:Georgia/GE", state));
    assert!(matches("place:Georgia/GE", country));
    assert!(!matches("place:Georgia/US", country));
    // French: «Géorgie» with Tbilissi, and the American state with Atlanta.
    let pays = "À Tbilissi, la Géorgie a demandé des négociations.";
    assert!(matches("place:Georgia/GE", pays));
    assert!(!matches("place:Georgia/US", pays));
    let etat = "À Atlanta, la Géorgie vote.";
    assert!(!matches("place:Georgia/GE", etat));
}

#[test]
fn a_neighbouring_country_decides_for_the_country() {
    let en = "Georgia in no hurry to demine its border with Azerbaijan.";
    let fr = "La Géorgie tarde à déminer sa frontière avec l'Azerbaïdjan.";
    for t in [en, fr] {
        assert!(matches("place:Georgia/GE", t), "{t}");
        assert!(!matches("place:Georgia/US", t), "{t}");
    }
}

#[test]
fn a_state_government_means_the_federation_state() {
    let en = "The team joined the Georgia National Guard for the Super Bowl.";
    let en2 = "Georgia's governor signed the bill.";
    let fr = "Le gouverneur de Géorgie a signé la loi.";
    for t in [en, en2, fr] {
        assert!(!matches("place:Georgia/GE", t), "{t}");
        assert!(matches("place:Georgia/US", t), "{t}");
    }
    // The country's own government is no state's.
    assert!(matches(
        "place:Georgia/GE",
        "Georgia's parliament met in Tbilisi."
    ));
}

#[test]
fn a_state_listed_with_states_is_the_state() {
    // Washington state, not the capital, beside California or Oregon.
    let en = "tech jobs from western states such as California or Washington";
    let en2 = "wildfires in Washington and Oregon";
    let fr = "des emplois en Californie ou Washington";
    for t in [en, en2, fr] {
        assert!(!matches("within(50km, Washington)", t), "{t}");
    }
    // The capital with another city is still the capital.
    assert!(matches(
        "within(50km, Washington)",
        "flights between Chicago and Washington"
    ));
}

#[test]
fn an_institution_located_elsewhere_is_not_the_place() {
    let en = "He studied at Washington University in St. Louis.";
    let fr = "Il a étudié à l'Université de Washington à Saint-Louis.";
    for t in [en, fr] {
        assert!(!matches("within(50km, Washington)", t), "{t}");
        assert!(!matches("place:Washington/US", t), "{t}");
    }
    // Located nowhere else, the university is in its town.
    assert!(matches(
        "within(50km, Cambridge)",
        "Cambridge University said on Monday"
    ));
}

#[test]
fn an_assumed_name_is_a_person_throughout_the_article() {
    let en = "Noma (not her real name) opened a case. Later Noma said the police failed her.";
    let fr = "Noma (nom d'emprunt) a porté plainte. Noma attend toujours.";
    for t in [en, fr] {
        assert!(!matches("within(50km, Washington)", t), "{t}");
    }
    assert!(matches(
        "within(50km, Washington)",
        "A fire in Noma, Maryland, on Monday."
    ));
}

#[test]
fn a_town_near_the_centre_is_not_its_namesake_elsewhere() {
    // Springfield, Virginia is near Washington; an article on Illinois means its capital.
    let illinois =
        "Legionella in the Illinois Capitol: Springfield officials and Chicago experts met.";
    assert!(!matches("within(50km, Washington)", illinois));
    assert!(matches(
        "within(50km, Washington)",
        "Traffic in Springfield and Alexandria, Virginia."
    ));
    let illinois_fr = "Springfield, capitale de l'Illinois, et Chicago.";
    assert!(!matches("within(50km, Washington)", illinois_fr));
}

#[test]
fn the_feed_country_breaks_the_tie() {
    // London, Ontario and London, England: nothing in the text says which.
    let text = "London police closed the bridge overnight.";
    let texte = "La police de London a fermé le pont.";
    for t in [text, texte] {
        assert!(matches_from("place:London/GB", t, None), "{t}");
        assert!(!matches_from("place:London/GB", t, Some(*b"CA")), "{t}");
        assert!(matches_from("place:London/GB", t, Some(*b"GB")), "{t}");
        assert!(matches_from("place:London/CA", t, Some(*b"CA")), "{t}");
    }
}

#[test]
fn first_names_and_titles_are_people() {
    assert!(!matches(
        "within(50km, Jerusalem)",
        "the death of Ariel Leal, 22, at the concert"
    ));
    assert!(!matches("within(50km, Atlanta)", "Mayor Kasim Reed said"));
    assert!(!matches(
        "within(50km, \"New York City\")",
        "acts including Chris Stapleton and Arcade Fire"
    ));
    assert!(!matches(
        "within(50km, Jerusalem)",
        "la mort d'Ariel Leal, 22 ans, au concert"
    ));
    assert!(!matches("within(50km, Paris)", "M. Paris a démissionné"));
    // The place itself still counts.
    assert!(matches(
        "within(50km, Jerusalem)",
        "a settlement near Ariel, in the West Bank"
    ));
    assert!(matches(
        "within(50km, Atlanta)",
        "a rally in Kasim Reed's Atlanta"
    ));
}

#[test]
fn the_duma_is_a_parliament() {
    for text in [
        "the State Duma approved the bill",
        "the Duma's committee on foreign affairs",
        "Duma deputies voted",
        "la Douma d'État a adopté la loi",
        "la Duma a voté le projet de loi au parlement",
    ] {
        assert!(!matches("within(50km, Jerusalem)", text), "{text}");
    }
    assert!(matches(
        "within(50km, Jerusalem)",
        "settlers attacked Duma, a village near Nablus"
    ));
}

#[test]
fn clubs_after_sports_verbs_are_no_towns() {
    assert!(!matches(
        "within(50km, Jerusalem)",
        "Al-Gaish beat Ittihad 4-1 on Friday"
    ));
    assert!(!matches(
        "within(50km, Jerusalem)",
        "Al-Gaish a battu Ittihad 4-1 vendredi"
    ));
    assert!(matches(
        "within(50km, Jerusalem)",
        "clashes in Ittihad on Friday"
    ));
}

#[test]
fn governments_speaking_are_no_events_in_their_town() {
    assert!(!matches(
        "within(50km, Moscow)",
        "the Kremlin said on Monday"
    ));
    assert!(!matches(
        "within(50km, Washington)",
        "Washington says it will respond"
    ));
    assert!(!matches(
        "within(50km, Moscow)",
        "Moscou a dénoncé les sanctions"
    ));
    assert!(!matches("within(50km, Paris)", "l'Élysée a démenti"));
    // Events there still count, and place: names the town's government too.
    assert!(matches(
        "within(50km, Moscow)",
        "a protest in Moscow on Monday"
    ));
    assert!(matches(
        "within(50km, Washington)",
        "talks at the White House"
    ));
    assert!(matches(
        "place:Washington/US",
        "Washington says it will respond"
    ));
}

#[test]
fn only_seats_of_power_stand_for_a_government() {
    // Trump Tower and Times Square are where things happen, said or not.
    assert!(matches(
        "within(50km, \"New York City\")",
        "Trump Tower has been a magnet for protesters"
    ));
    assert!(matches(
        "within(50km, \"New York City\")",
        "Trump Tower a été évacuée lundi"
    ));
    assert!(!matches(
        "within(50km, Washington)",
        "the Pentagon said on Monday"
    ));
}

#[test]
fn a_capitalised_preposition_is_no_first_name() {
    // «In Washington» at a sentence's start: not the surname after a first name «In».
    assert!(matches(
        "within(50km, Washington)",
        "Envoys left. In Washington, officials met."
    ));
    assert!(matches(
        "within(50km, Washington)",
        "Les diplomates sont partis. Pour Washington, rien ne change."
    ));
    assert!(!matches(
        "within(50km, \"New York City\")",
        "acts including Arcade Fire, Chris Stapleton and others"
    ));
}

#[test]
fn a_park_named_after_a_place_is_not_the_place() {
    assert!(!matches(
        "within(50km, Jerusalem)",
        "hikers in Utah's Zion National Park"
    ));
    assert!(!matches(
        "within(50km, Jerusalem)",
        "des randonneurs dans le Zion National Park, dans l'Utah"
    ));
}

#[test]
fn rules_test_says_which_evidence_decided() {
    let m = matcher(&["place:Georgia/US", "within(50km, Jerusalem)"]);
    let doc = content("In Atlanta, Georgia lawmakers mourned the death of Ariel Leal.");
    let said: Vec<(String, bool, String)> = m
        .set_aside_from(&doc, None)
        .into_iter()
        .map(|a| (a.text.clone(), a.kept, a.why()))
        .collect();
    assert!(
        said.iter().any(|(t, kept, why)| t == "Georgia"
            && *kept
            && why.contains("US-GA")
            && why.contains("Atlanta")),
        "{said:?}"
    );
    assert!(
        said.iter()
            .any(|(t, kept, why)| t == "Ariel" && !kept && why.contains("Leal")),
        "{said:?}"
    );
}
