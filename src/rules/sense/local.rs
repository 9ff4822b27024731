//! Places in context, the words around a place name: a person («Mayor Kasim Reed», «Ariel
//! Leal», «Chris Stapleton»), an institution («the State Duma», «the Duma's committee»), a club
//! («Al-Gaish beat Ittihad 4-1»), a government speaking («the Kremlin said», «Washington says»)
//! or a park («Zion National Park»): none is the place.
//!
//! Invariants: reads the folded text and the original around one hit, nothing else; the word
//! lists are closed and written here (French and English); out-of-range offsets read as
//! empty, never a panic.

use crate::rules::fold::Folded;
use crate::rules::gazetteer::{Kind, persons};
use crate::rules::sense::assumed::{Marks, pseudonym};
use crate::rules::sense::words::{PARLIAMENT, PARLIAMENT_AFTER, SPEECH, SPORTS, TITLES};
use crate::rules::sense::{AREA, FIRST_NAME, LANDMARK, Sense, TOWN};

/// Auxiliaries before a verb of speech («Moscou a dénoncé», «Washington has said»).
const AUXILIARY: &[&str] = &[
    "a", "has", "have", "had", "would", "will", "avait", "aurait",
];
/// A state's government after its name («Georgia National Guard», «Georgia's governor»,
/// «the Georgia Legislature»): a state of a federation, not a country of that name.
const STATE_AFTER: &[&[&str]] = &[
    &["national", "guard"],
    &["state", "guard"],
    &["state", "senate"],
    &["state", "house"],
    &["state", "patrol"],
    &["state", "legislature"],
    &["legislature"],
    &["general", "assembly"],
    &["governor"],
    &["gov"],
    &["lt", "gov"],
];
/// A state's government before its name («the governor of Georgia», «l'État de Géorgie»).
const STATE_BEFORE: &[[&str; 2]] = &[
    ["state", "of"],
    ["governor", "of"],
    ["etat", "de"],
    ["gouverneur", "de"],
    ["gouverneure", "de"],
];
/// Function words written with a capital at a sentence's start, never first names here.
const FUNCTION: &[&str] = &[
    "on", "by", "for", "with", "of", "and", "but", "or", "as", "if", "en", "et", "ou", "de", "par",
    "pour", "avec",
];
/// Seats of power that stand for their government (folded gazetteer names): other landmarks
/// (an airport, a square, a tower) are where events happen.
const SEATS: &[&str] = &[
    "kremlin",
    "white house",
    "maison blanche",
    "oval office",
    "bureau ovale",
    "west wing",
    "elysee",
    "elysee palace",
    "palais de l elysee",
    "matignon",
    "hotel de matignon",
    "quai d orsay",
    "downing street",
    "number 10",
    "no 10",
    "whitehall",
    "pentagon",
    "pentagone",
    "capitol hill",
    "us capitol",
    "capitole",
    "zhongnanhai",
    "reichstag",
    "bundestag",
    "buckingham palace",
    "palais de buckingham",
];
/// Prepositions that put an event at a landmark («at the White House», «au Kremlin»).
const AT: &[&str] = &[
    "at", "in", "inside", "outside", "near", "into", "to", "from", "a", "au", "dans", "devant",
    "pres", "sur", "vers", "hors",
];

/// The words of a folded text before byte `start`, nearest first: only words directly before
/// (a punctuation mark between stops the walk, which yields it as a word of its own).
fn words_before(text: &str, start: usize) -> impl Iterator<Item = &str> {
    let before = text.get(..start).unwrap_or_default();
    before
        .trim_end_matches(' ')
        .rsplit(' ')
        .map(|w| w.trim_end_matches('.'))
}

/// The next word after byte `end` when only a space separates it, with its byte range.
fn word_after(text: &str, end: usize) -> Option<(&str, usize, usize)> {
    let rest = text.get(end..)?.strip_prefix(' ')?;
    let len = rest
        .find(|c: char| !c.is_alphanumeric())
        .unwrap_or(rest.len());
    (len > 0).then(|| (&rest[..len], end + 1, end + 1 + len))
}

/// Whether the original text at folded [from, to) starts with a capital.
fn capitalised(original: &str, folded: &Folded, from: usize, to: usize) -> bool {
    original
        .get(folded.original_range(from, to))
        .is_some_and(|w| w.starts_with(char::is_uppercase))
}

/// The original's sentence around folded [start, end), folded.
fn sentence(original: &str, folded: &Folded, start: usize, end: usize) -> String {
    let r = folded.original_range(start, end);
    let stop = |c: char| matches!(c, '.' | '!' | '?' | '\n');
    let from = original
        .get(..r.start)
        .and_then(|b| b.rfind(stop))
        .map_or(0, |k| k + 1);
    let to = original
        .get(r.end..)
        .and_then(|a| a.find(stop))
        .map_or(original.len(), |k| r.end + k);
    crate::rules::fold::fold(original.get(from..to).unwrap_or_default()).text
}

/// Why the place name at folded [start, end) is not the place here, or `None`.
pub(crate) fn reading(
    original: &str,
    folded: &Folded,
    start: usize,
    end: usize,
    sense: &Sense,
    marks: &std::cell::OnceCell<Marks>,
) -> Option<String> {
    let text = folded.text.as_str();
    let written = original
        .get(folded.original_range(start, end))
        .unwrap_or_default();
    let mut before = words_before(text, start);
    let prev = before.next().unwrap_or_default();
    let prev2 = before.next().unwrap_or_default();
    let after = word_after(text, end);
    let next = after.map_or("", |a| a.0);
    let next_capital = after.is_some_and(|(_, f, t)| capitalised(original, folded, f, t));
    let head = text.get(..start).unwrap_or_default().trim_end_matches(' ');
    let prev_at = head.rfind(' ').map_or(0, |k| k + 1);
    let prev_capital = !prev.is_empty() && capitalised(original, folded, prev_at, start);

    // A title before: a person. «M.» only with its capital and period.
    let titled = TITLES.contains(&prev)
        || (prev == "m"
            && original
                .get(folded.original_range(prev_at, start))
                .is_some_and(|w| w.starts_with("M.")));
    if titled && !prev.is_empty() {
        return Some(format!(
            "{written} set aside: a person's name, after a title («{prev}»)"
        ));
    }
    if let Some(marker) = pseudonym(text, &sense.name, marks.get_or_init(|| Marks::find(text))) {
        return Some(format!(
            "{written} set aside: a person's assumed name («{marker}»)"
        ));
    }
    let people = persons();
    // A first name before a surname that is also a place: «Chris Stapleton».
    // Not a word of the language written with a capital at a sentence's start («In Washington»).
    if prev_capital
        && people.is_first_name(prev)
        && people.is_surname(&sense.name)
        && !AT.contains(&prev)
        && !FUNCTION.contains(&prev)
    {
        return Some(format!(
            "{written} set aside: a surname, after the first name «{prev}»"
        ));
    }
    // A first name before a surname: «Ariel Leal».
    if sense.has(FIRST_NAME) && next_capital && people.is_surname(next) && !is_common(next) {
        let (_, f, t) = after.unwrap_or_default();
        let surname = original.get(folded.original_range(f, t)).unwrap_or(next);
        return Some(format!(
            "{written} set aside: a first name before «{surname}»"
        ));
    }
    // An institution: «State Duma», «Duma deputies», «the Duma's committee».
    if prev == "state" && prev_capital {
        return Some(format!(
            "{written} set aside: an institution («State {written}»)"
        ));
    }
    if sense.has(TOWN)
        && !next_capital
        && PARLIAMENT_AFTER.contains(&next)
        && (next != "s" || {
            let after_s = after
                .and_then(|(_, _, t)| word_after(text, t))
                .map_or("", |a| a.0);
            PARLIAMENT_AFTER.contains(&after_s)
        })
    {
        return Some(format!(
            "{written} set aside: an institution («{written} {next}»)"
        ));
    }
    if sense.has(TOWN) && matches!(prev, "the" | "la" | "le") && !next_capital {
        let s = sentence(original, folded, start, end);
        let own: Vec<&str> = sense.name.split(' ').collect();
        let mut words = s.split(|c: char| !c.is_alphanumeric());
        if let Some(w) = words.find(|w| PARLIAMENT.contains(w) && !own.contains(w)) {
            return Some(format!(
                "{written} set aside: an institution (the {written}, with «{w}»)"
            ));
        }
    }
    // A country that is also a federation's state, with that state's government around it.
    if sense.meant.iter().any(|l| l.kind() == Kind::Country)
        && sense.others.iter().any(|l| l.kind() == Kind::Division)
    {
        let mut words = Vec::new();
        let mut at = end;
        while let Some((w, _, t)) = word_after(text, at).filter(|_| words.len() < 3) {
            if !(words.is_empty() && w == "s") {
                words.push(w);
            }
            at = t;
        }
        let after_state = STATE_AFTER.iter().find(|s| words.starts_with(s));
        let before_state = STATE_BEFORE.iter().find(|[a, b]| *b == prev && *a == prev2);
        if let Some(w) = after_state
            .map(|s| s.join(" "))
            .or(before_state.map(|s| s.join(" ")))
        {
            return Some(format!(
                "{written} set aside: a federation's state, with «{w}»"
            ));
        }
    }
    // An institution bearing the name, that the text locates elsewhere: «Washington University
    // in St. Louis», «l'Université de Washington à Saint-Louis».
    if let Some(w) = located_elsewhere(original, folded, prev, prev2, after) {
        return Some(format!(
            "{written} set aside: an institution named after it, in {w}"
        ));
    }
    // A state among states: «California or Washington», «l'Oregon et Washington».
    if let Some(w) = state_among_states(text, end, prev, prev2, next, sense) {
        return Some(format!("{written} set aside: a state, listed with «{w}»"));
    }
    // A park: «Zion National Park».
    let park = next == "park"
        || (next == "national"
            && after
                .and_then(|(_, _, t)| word_after(text, t))
                .is_some_and(|(w, ..)| w == "park"));
    if next_capital && park {
        return Some(format!(
            "{written} set aside: a park or a site named after the place"
        ));
    }
    // A club: a sports verb next to the name and a score in the sentence.
    if sense.has(TOWN) && (SPORTS.contains(&prev) || SPORTS.contains(&next)) {
        let s = original
            .get(folded.original_range(start, end).start..)
            .unwrap_or_default();
        let s = s.split(['.', '!', '?', '\n']).next().unwrap_or_default();
        if has_score(s) || has_score(sentence_before(original, folded, start)) {
            return Some(format!("{written} set aside: a club, in a match"));
        }
    }
    if sense.has(AREA) {
        // A government speaking: «Washington says», «the Kremlin said», «Moscou a dénoncé».
        let mut rest = after;
        if rest.is_some_and(|(w, ..)| AUXILIARY.contains(&w)) {
            rest = rest.and_then(|(_, _, t)| word_after(text, t));
        }
        if let Some((verb, ..)) = rest.filter(|(w, ..)| SPEECH.contains(w)) {
            return Some(format!(
                "{written} set aside: its government speaking («{written} {verb}»), not an event there"
            ));
        }
        // A seat of power stands for its government unless the text puts an event at it.
        if sense.has(LANDMARK) && SEATS.contains(&&*sense.name) {
            let at = if matches!(prev, "the" | "le" | "la" | "l") {
                prev2
            } else {
                prev
            };
            if !AT.contains(&at) {
                return Some(format!(
                    "{written} set aside: the seat of a government, not an event there"
                ));
            }
        }
    }
    None
}

/// Institutions named after a place (folded), in English after the name and in French before.
const INSTITUTION: &[&str] = &[
    "university",
    "college",
    "institute",
    "commission",
    "academy",
    "universite",
    "institut",
    "ecole",
    "academie",
];

/// The place a text locates an institution named after a place name in, when it says so right
/// after: «Washington University in St. Louis», «l'Université de Washington à Saint-Louis».
fn located_elsewhere<'a>(
    original: &'a str,
    folded: &Folded,
    prev: &str,
    prev2: &str,
    after: Option<(&str, usize, usize)>,
) -> Option<&'a str> {
    let text = folded.text.as_str();
    let (preposition, at) = match after {
        Some((w, f, t)) if INSTITUTION.contains(&w) && capitalised(original, folded, f, t) => {
            (word_after(text, t)?, "in")
        }
        Some(a) if matches!(prev, "de" | "d") && INSTITUTION.contains(&prev2) => (a, "a"),
        _ => return None,
    };
    if preposition.0 != at {
        return None;
    }
    let (_, f, t) = word_after(text, preposition.2)?;
    capitalised(original, folded, f, t).then(|| original.get(folded.original_range(f, t)))?
}

/// For a name that is also a first-level division elsewhere than the places meant (Washington
/// state beside Washington, D.C.): the division of that same country it is coordinated with
/// («California or Washington», «Washington and Oregon»), if any.
fn state_among_states<'a>(
    text: &'a str,
    end: usize,
    prev: &'a str,
    prev2: &'a str,
    next: &str,
    sense: &Sense,
) -> Option<&'a str> {
    let states: Vec<[u8; 2]> = (sense.others.iter())
        .filter(|l| l.kind() == Kind::Division)
        .map(|l| l.cc)
        .collect();
    if states.is_empty() || sense.meant.iter().any(|l| l.kind() == Kind::Division) {
        return None;
    }
    const AND: &[&str] = &["or", "and", "ou", "et", "nor"];
    let sibling = if AND.contains(&prev) {
        Some(prev2)
    } else if AND.contains(&next) {
        word_after(text, end)
            .and_then(|(_, _, t)| word_after(text, t))
            .map(|(w, ..)| w)
    } else {
        None
    }?;
    let g = crate::rules::gazetteer::get().ok()?;
    let is_state = states.iter().any(|cc| {
        let cc = String::from_utf8_lossy(cc);
        g.resolve(sibling, Some(&cc)).is_ok_and(|r| {
            std::iter::once(&r.place)
                .chain(&r.ambiguous)
                .any(|p| p.kind == Kind::Division)
        })
    });
    is_state.then_some(sibling)
}

/// The original text of the sentence up to folded `start`.
fn sentence_before<'a>(original: &'a str, folded: &Folded, start: usize) -> &'a str {
    let at = folded.original_range(start, start).start;
    let head = original.get(..at).unwrap_or_default();
    let from = head.rfind(['.', '!', '?', '\n']).map_or(0, |k| k + 1);
    head.get(from..).unwrap_or_default()
}

/// Whether `s` holds a score: digits, a hyphen or dash, digits («4-1», «2–0»).
fn has_score(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    chars.windows(3).enumerate().any(|(k, w)| {
        w[0].is_ascii_digit()
            && matches!(w[1], '-' | '–' | '—')
            && w[2].is_ascii_digit()
            && chars.get(k + 3).is_none_or(|c| {
                !c.is_ascii_digit() || chars.get(k + 4).is_none_or(|c| !c.is_ascii_digit())
            })
    })
}

/// Whether `word` is a common French or English word (the gazetteer's list).
fn is_common(word: &str) -> bool {
    crate::rules::gazetteer::get().is_ok_and(|g| g.is_common_word(word))
}

#[cfg(test)]
mod tests {
    use super::has_score;

    #[test]
    fn a_score_is_two_numbers_and_a_dash() {
        assert!(has_score("Al-Gaish beat Ittihad 4-1"));
        assert!(has_score("battu Lyon 3–0 samedi"));
        assert!(!has_score("the 2017-2018 budget"));
    }
}
