//! Unit tests of the event comparison: terms, and the rules of one event against the next.

use super::*;

#[test]
fn terms_fold_stem_and_keep_figures_whole() {
    let (t, labels) = terms_labelled(
        "Négociations : l'ONU et le F.B.I. comptent 45 000 réfugiés",
        "Les négociateurs parlent de 2,6 % et de 45,000 personnes.",
        "",
    );
    let words: Vec<&str> = labels.iter().map(|(_, w)| w.as_str()).collect();
    assert!(words.contains(&"negoc"), "{words:?}");
    assert!(words.contains(&"fbi"), "{words:?}");
    assert!(words.contains(&"45000"), "{words:?}");
    assert!(words.contains(&"2.6"), "{words:?}");
    // «l'» is too short to be a term; «45 000» and «45,000» are one.
    assert!(!words.contains(&"l"));
    assert_eq!(words.iter().filter(|w| **w == "45000").count(), 1);
    assert!(t.terms.iter().any(|x| x.figure && x.title));
    assert_eq!(t.genre, Genre::Report);
    assert_eq!(
        terms("Pourquoi Trump veut-il le Groenland ?", "", "").genre,
        Genre::Question
    );
}

#[test]
fn stored_terms_read_back_and_damaged_ones_are_refused() {
    let t = terms(
        "Virgin Australia goes into administration",
        "The airline...",
        "",
    );
    assert_eq!(Terms::from_bytes(&t.to_bytes()), Some(t));
    assert_eq!(Terms::from_bytes(&[0, 1, 2]), None);
    assert_eq!(Terms::from_bytes(&[]), None);
    assert_eq!(Terms::from_bytes(&[7]), None);
}

#[test]
fn a_hostile_text_costs_at_most_max_words() {
    let huge =
        "mot ".repeat(1_000_000) + &(0..10_000).map(|i| format!("w{i}x ")).collect::<String>();
    let t = terms("", &huge, "");
    assert!(t.terms.len() <= MAX_WORDS);
    let digits = "9".repeat(100_000);
    assert_eq!(terms(&digits, "", "").terms.len(), 1);
}

/// Headlines and teasers of a news day on other subjects, in both languages: the window
/// that tells a story's specific terms from the language's common words.
const BACKGROUND: &str = include_str!("../../../tests/fixtures/events/background.tsv");

/// 10 February 2025, 06:00 UTC.
const T0: i64 = 1_739_167_200;
const HOUR: i64 = 3600;

/// A window holding the background news of the day before `T0`, one outlet per item.
fn background() -> Window {
    let mut w = Window::default();
    let rows = (BACKGROUND.lines())
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'));
    for (k, (title, summary)) in rows.enumerate() {
        let k = k as i64;
        w.insert(Member {
            article_id: 1_000 + k,
            story_id: 1_000 + k,
            seen: T0 - 24 * HOUR + k * 600,
            at: T0 - 24 * HOUR + k * 600,
            outlet: 100 + k,
            terms: terms(title, summary, ""),
        });
    }
    w
}

/// Whether `second` (outlet 2, `hours` after) joins the story of `first` (outlet 1) in a
/// window of the day's other news.
fn one_story(first: (&str, &str), second: (&str, &str), hours: i64) -> bool {
    joins_first(first, second, hours, |t| t)
}

/// [`one_story`], with `mark` applied to the second article's terms (its address, say).
fn joins_first(
    first: (&str, &str),
    second: (&str, &str),
    hours: i64,
    mark: impl FnOnce(Terms) -> Terms,
) -> bool {
    let mut w = background();
    w.insert(Member {
        article_id: 1,
        story_id: 1,
        seen: T0,
        at: T0,
        outlet: 1,
        terms: terms(first.0, first.1, ""),
    });
    let judged = w.judge(&mark(terms(second.0, second.1, "")), T0 + hours * HOUR, 2);
    if let Some(b) = &judged.best {
        let labels: std::collections::HashMap<u64, String> = [first, second]
            .iter()
            .flat_map(|(t, s)| terms_labelled(t, s, "").1)
            .collect();
        eprintln!("{}: {}", second.0, explain::describe(b, &labels));
    }
    judged.joins && judged.best.is_some_and(|b| b.story_id == 1)
}

/// The penny report of 10 February 2025, and another outlet's re-headlined version.
const PENNY: (&str, &str) = (
    "\"C'est du gaspillage !\" : Donald Trump veut arrêter la production du penny, jugée trop coûteuse",
    "Le président américain a demandé au Trésor de cesser de frapper la pièce d'un cent, qui coûte près de trois cents à produire.",
);
const PENNY_AGAIN: (&str, &str) = (
    "«Éliminons le gaspillage» : Trump demande d'arrêter la production du penny, jugée trop coûteuse",
    "Donald Trump a ordonné au secrétaire au Trésor de ne plus produire de pièces d'un cent.",
);

#[test]
fn a_re_headlined_report_is_one_story_in_french_and_english() {
    assert!(one_story(PENNY, PENNY_AGAIN, 3));
    assert!(one_story(
        (
            "Virgin Australia goes into administration",
            "The airline has appointed administrators after failing to secure a government bailout."
        ),
        (
            "Coronavirus: Virgin Australia goes into administration",
            "Virgin Australia has become the first major airline to collapse, entering voluntary administration."
        ),
        2
    ));
}

#[test]
fn the_next_days_development_is_another_story_in_french_and_english() {
    let search = (
        "Meurtre de Louise : une fouille minutieuse du bois d'Épinay-sur-Orge dimanche",
        "Les enquêteurs ont ratissé le bois où le corps de la collégienne de 11 ans a été retrouvé.",
    );
    let school = (
        "Meurtre de Louise : la mairie d'Épinay-sur-Orge sécurise le trajet de l'école",
        "Des agents accompagneront les collégiens sur le chemin de l'école après la mort de Louise, 11 ans.",
    );
    // The saga's first day, told by two more outlets: what every article of it repeats
    // (the victim, the town) tells the saga, not the development.
    let mut w = background();
    let day_one = [
        search,
        (
            "Épinay-sur-Orge : Louise, 11 ans, retrouvée morte dans un bois",
            "Le corps de la collégienne a été découvert dans un bois d'Épinay-sur-Orge, en Essonne.",
        ),
        (
            "Meurtre de Louise, 11 ans : l'émotion à Épinay-sur-Orge",
            "Les habitants d'Épinay-sur-Orge rendent hommage à la collégienne tuée dans un bois.",
        ),
    ];
    for (k, (title, teaser)) in (1..).zip(day_one) {
        w.insert(Member {
            article_id: k,
            story_id: k,
            seen: T0 + k * HOUR,
            at: T0 + k * HOUR,
            outlet: k,
            terms: terms(title, teaser, ""),
        });
    }
    let next = w.judge(&terms(school.0, school.1, ""), T0 + 26 * HOUR, 9);
    assert!(!next.joins, "{:?}", next.best);
    let search = (
        "Police search woods near Invercargill for missing hiker",
        "Dozens of volunteers joined officers on Sunday in the search for the 34-year-old man.",
    );
    let found = (
        "Invercargill hiker: family thanks rescuers as inquest is opened",
        "The coroner opened an inquest into the death of the 34-year-old man whose body was found near Invercargill.",
    );
    assert!(!one_story(search, found, 28));
}

#[test]
fn different_daily_figures_are_different_stories_in_french_and_english() {
    assert!(!one_story(
        (
            "Grippe : 2 350 nouveaux cas hospitalisés mardi selon Santé publique France",
            "L'épidémie de grippe reste à un niveau élevé : 2 350 hospitalisations en une journée."
        ),
        (
            "Grippe : 1 980 nouveaux cas hospitalisés mercredi selon Santé publique France",
            "L'épidémie de grippe recule légèrement : 1 980 hospitalisations en une journée."
        ),
        24
    ));
    assert!(!one_story(
        (
            "Covid-19: Three new cases in New Zealand, two further deaths reported",
            "The Ministry of Health reported three new cases of Covid-19 on Tuesday."
        ),
        (
            "Covid-19: Nine new cases in New Zealand, no further deaths reported",
            "The Ministry of Health reported nine new cases of Covid-19 on Wednesday."
        ),
        24
    ));
}

#[test]
fn a_weekly_gallery_is_a_story_of_its_own_in_french_and_english() {
    assert_eq!(terms("La semaine en images", "", "").genre, Genre::Gallery);
    assert!(!one_story(
        (
            "Week in pictures: 18-24 April 2020",
            "A selection of news photographs taken around the world this week, Anzac Day among them."
        ),
        (
            "Anzac Day 2020 in pictures",
            "Australians marked Anzac Day at dawn in their driveways this week."
        ),
        5
    ));
    assert!(!one_story(
        (
            "Les photos de la semaine du 3 au 9 février 2025",
            "Sommet de l'IA à Paris, Super Bowl, neige sur le Massif central."
        ),
        (
            "Sommet de l'IA à Paris : la semaine du 3 au 9 février 2025 en images",
            "Sommet de l'IA, Super Bowl, neige : les photos de la semaine."
        ),
        5
    ));
}

#[test]
fn an_explainer_or_an_opinion_beside_the_report_is_a_story_of_its_own() {
    let report = (
        "Procès de l'attentat de la basilique de Nice : l'accusé Brahim Aouissaoui plaide l'amnésie",
        "Au premier jour de son procès, Brahim Aouissaoui a assuré ne se souvenir de rien de l'attaque de la basilique de Nice.",
    );
    let explainer = (
        "Procès de l'attentat de la basilique de Nice : cinq choses à savoir sur l'accusé Brahim Aouissaoui",
        "Brahim Aouissaoui, jugé pour l'attaque de la basilique de Nice, assure ne se souvenir de rien.",
    );
    assert!(!one_story(report, explainer, 2));
    assert!(!one_story(
        (
            "Trump suspends green cards for 60 days",
            "President Donald Trump signed an order halting green cards for 60 days."
        ),
        (
            "Opinion: Trump's green card freeze for 60 days is about the election",
            "The order halting green cards for 60 days says more about Donald Trump's campaign."
        ),
        3
    ));
    assert!(!one_story(
        (
            "Trump suspends green cards for 60 days",
            "President Donald Trump signed an order halting green cards for 60 days."
        ),
        (
            "Will Trump's 60-day green card pause change anything?",
            "The order halting green cards signed by Donald Trump has many exceptions."
        ),
        3
    ));
}

/// Whether the penny report re-headlined by another outlet, at the address `link`, joins the
/// first outlet's story (both published on 10 February 2025).
fn penny_at(link: &str) -> bool {
    let hours = 3;
    let seen = chrono::DateTime::from_timestamp(T0 + hours * HOUR, 0).unwrap();
    joins_first(PENNY, PENNY_AGAIN, hours, |t| {
        t.with_address(Some(link), Some(seen), seen)
    })
}

#[test]
fn an_earlier_piece_put_back_is_a_story_of_its_own() {
    assert!(penny_at(
        "https://www.lefigaro.fr/conjoncture/eliminons-le-gaspillage-20250210"
    ));
    assert!(penny_at("https://example.org/monde/penny-gaspillage"));
    // The same words at an address written in January: an earlier piece, put back.
    assert!(!penny_at(
        "https://www.lefigaro.fr/conjoncture/eliminons-le-gaspillage-20250115"
    ));
}

#[test]
fn a_piece_already_apart_keeps_its_genre_and_a_reprint_is_stored() {
    let seen = chrono::DateTime::from_timestamp(T0, 0).unwrap();
    let old = Some("https://example.org/2024/10/18/portrait");
    let question = terms("Qui est Violette Dorange ?", "", "").with_address(old, Some(seen), seen);
    assert_eq!(question.genre, Genre::Question);
    let reprint = terms(
        "Violette Dorange, la bleue",
        "La navigatrice de 23 ans.",
        "",
    )
    .with_address(old, Some(seen), seen);
    assert_eq!(reprint.genre, Genre::Reprint);
    assert!(reprint.apart());
    assert_eq!(Terms::from_bytes(&reprint.to_bytes()), Some(reprint));
}
