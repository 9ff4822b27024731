//! Stories stage, events: two items from different outlets are one story when they report the
//! same event, whatever their words — re-headlined, rewritten, with another teaser. Pure: the
//! window of recent articles, their times and outlets come in as arguments.
//!
//! Invariants: an article is reduced once to its [`Terms`] (its title and teaser, folded as the
//! watches fold text; words cut to their first [`STEM`] letters, a language-blind stemmer;
//! figures kept whole, `45,000` and `45 000` alike), stored with it and never re-read from its
//! text; a term is a stable 64-bit hash, so stored terms stay comparable across runs. What an
//! article costs does not grow with the window: it looks up at most [`QUERY_TERMS`] ×
//! [`POSTINGS`] earlier articles ([`window`]), and the score ([`score`]) compares it with
//! those only. The method, its constants and how they were chosen are in
//! `docs/research/stories.md`.

pub mod explain;
pub mod genre;
pub mod reprint;
pub mod score;
pub mod window;

use std::hash::Hasher;

use siphasher::sip::SipHasher13;

pub use genre::Genre;
pub use score::{Judged, Why};
pub use window::{Member, Window};

/// Words are cut to their first this many letters: «négociations» and «négocier», "negotiate"
/// and "negotiations" are one term, in any language written with spaces.
pub const STEM: usize = 5;
/// Shorter words say nothing of an event (elided articles, «à», "a").
pub const MIN_LETTERS: usize = 2;
/// At most this many words of an article are read: a title and a teaser, or the head of a
/// whole article. Beyond, a body tells the story's background rather than its event.
pub const MAX_WORDS: usize = 120;
/// How many of its heaviest terms an article looks up in the window.
pub const QUERY_TERMS: usize = 12;
/// How many earlier articles each of those terms leads to, newest first.
pub const POSTINGS: usize = 64;

/// Fixed keys: changing them changes every stored term.
const KEYS: (u64, u64) = (0x7669_6769_652d_6576, 0x656e_7473_2d76_3031);

/// One term of an article: the hash of its folded, stemmed word or figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    pub hash: u64,
    /// In the headline (the title vector counts it).
    pub title: bool,
    /// A figure (counted higher: a number tells one event from the next).
    pub figure: bool,
}

/// What the event comparison keeps of an article.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Terms {
    /// Distinct terms, sorted by hash.
    pub terms: Vec<Term>,
    /// What the headline announces: anything but a report is a story of its own.
    pub genre: Genre,
}

/// A term as it reads, for explanations: (term, its text).
pub type Label = (u64, String);

/// The terms of an article from its title and teaser (or the head of its body when the feed
/// carries no teaser), and the text of each term for explanations.
pub fn terms_labelled(title: &str, summary: &str, content: &str) -> (Terms, Vec<Label>) {
    let mut labels = Vec::new();
    let terms = build(title, summary, content, Some(&mut labels));
    labels.sort_by_key(|l: &Label| l.0);
    labels.dedup_by_key(|l| l.0);
    (terms, labels)
}

/// The terms of an article (see [`terms_labelled`]); what ingest keeps, without the labels.
pub fn terms(title: &str, summary: &str, content: &str) -> Terms {
    build(title, summary, content, None)
}

fn build(title: &str, summary: &str, content: &str, mut labels: Option<&mut Vec<Label>>) -> Terms {
    let teaser = if summary.trim().is_empty() {
        content
    } else {
        summary
    };
    let mut terms: Vec<Term> = Vec::new();
    let mut budget = MAX_WORDS;
    for (text, in_title) in [(title, true), (teaser, false)] {
        for (word, figure) in words(text, &mut budget) {
            let hash = term_hash(&word, figure);
            terms.push(Term {
                hash,
                title: in_title,
                figure,
            });
            if let Some(labels) = labels.as_deref_mut() {
                labels.push((hash, word));
            }
        }
    }
    // One term per hash, in the headline if any of its words is.
    terms.sort_unstable_by_key(|t| (t.hash, !t.title));
    terms.dedup_by_key(|t| t.hash);
    Terms {
        terms,
        genre: genre::genre(title),
    }
}

/// The terms of the days of the week in French and English, with the day (0 = Monday).
fn weekday_terms() -> &'static [(u64, u8)] {
    static DAYS: std::sync::LazyLock<Vec<(u64, u8)>> = std::sync::LazyLock::new(|| {
        let names = [
            ["lundi", "monday"],
            ["mardi", "tuesday"],
            ["mercredi", "wednesday"],
            ["jeudi", "thursday"],
            ["vendredi", "friday"],
            ["samedi", "saturday"],
            ["dimanche", "sunday"],
        ];
        let mut out = Vec::new();
        for (day, words) in (0u8..).zip(names) {
            for w in words {
                let stem: String = w.chars().take(STEM).collect();
                out.push((term_hash(&stem, false), day));
            }
        }
        out
    });
    &DAYS
}

fn term_hash(word: &str, figure: bool) -> u64 {
    let mut h = SipHasher13::new_with_keys(KEYS.0, KEYS.1);
    h.write_u8(u8::from(figure));
    h.write(word.as_bytes());
    h.finish()
}

/// The words (stemmed) and figures (normalised) of `text`, at most `budget` of them in all.
fn words(text: &str, budget: &mut usize) -> Vec<(String, bool)> {
    let head = super::head(text);
    let folded = crate::rules::fold::fold(&join_names(head)).text;
    let chars: Vec<char> = folded.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() && *budget > 0 {
        let c = chars[i];
        if c.is_ascii_digit() {
            let (figure, next) = figure_at(&chars, i);
            // «Covid-19», "G20", "F-16": a number joined to a word is part of a name.
            let named = i >= 1 && chars[i - 1].is_alphabetic();
            out.push((figure, !named));
            *budget -= 1;
            i = next;
        } else if c.is_alphabetic() {
            let start = i;
            while i < chars.len() && chars[i].is_alphabetic() {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if let Some(n) = number_word(&word) {
                out.push((n.to_string(), true));
                *budget -= 1;
            } else if i - start >= MIN_LETTERS {
                out.push((word.chars().take(STEM).collect(), false));
                *budget -= 1;
            }
        } else {
            i += 1;
        }
    }
    out
}

/// Counts written in words, French and English, from two («un», "one" are also articles
/// and pronouns): «trois morts» and "3 dead" are one figure.
fn number_word(word: &str) -> Option<u32> {
    const WORDS: [[&str; 2]; 19] = [
        ["deux", "two"],
        ["trois", "three"],
        ["quatre", "four"],
        ["cinq", "five"],
        ["six", "six"],
        ["sept", "seven"],
        ["huit", "eight"],
        ["neuf", "nine"],
        ["dix", "ten"],
        ["onze", "eleven"],
        ["douze", "twelve"],
        ["treize", "thirteen"],
        ["quatorze", "fourteen"],
        ["quinze", "fifteen"],
        ["seize", "sixteen"],
        ["vingt", "twenty"],
        ["trente", "thirty"],
        ["cent", "hundred"],
        ["mille", "thousand"],
    ];
    const VALUES: [u32; 19] = [
        2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20, 30, 100, 1000,
    ];
    (WORDS.iter().zip(VALUES))
        .find(|(w, _)| w.contains(&word))
        .map(|(_, v)| v)
}

/// A figure starting at `i`: digits, with decimals (`2,6`, `2.6` → `2.6`) and thousands
/// groups (`45,000`, `45 000` → `45000`, `1.234.567` → `1234567`); leading zeros and trailing decimal zeros
/// dropped. Returns it and where it ends.
fn figure_at(chars: &[char], mut i: usize) -> (String, usize) {
    let digits = |i: usize| chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    let n = digits(i);
    let mut int: String = chars[i..i + n].iter().collect();
    let mut frac = String::new();
    i += n;
    while i + 1 < chars.len() && frac.is_empty() {
        let sep = chars[i];
        if !matches!(sep, '.' | ',' | ' ') || !chars[i + 1].is_ascii_digit() {
            break;
        }
        let group = digits(i + 1);
        let more = chars
            .get(i + 1 + group)
            .is_some_and(|c| matches!(c, '.' | ','))
            && chars.get(i + 2 + group).is_some_and(char::is_ascii_digit);
        let thousands = match sep {
            ' ' if group == 3 => true,
            ' ' => break,
            ',' => group == 3,
            _ => group == 3 && more,
        };
        if thousands {
            int.extend(&chars[i + 1..i + 4]);
        } else {
            frac = chars[i + 1..i + 1 + group].iter().collect();
        }
        i += 1 + group;
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let frac = frac.trim_end_matches('0');
    let out = if frac.is_empty() {
        int.to_string()
    } else {
        format!("{int}.{frac}")
    };
    (out, i)
}

/// `F.B.I.` → `FBI`: dotted acronyms are one word; `Covid-19` → `Covid19`: the hyphen
/// between a word and a number goes (folding would make it a space), so that the number
/// reads as part of the name.
fn join_names(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_alphabetic() && (i == 0 || !chars[i - 1].is_alphabetic());
        let mut j = i;
        while starts && j + 1 < chars.len() && chars[j].is_alphabetic() && chars[j + 1] == '.' {
            j += 2;
        }
        let letters = (j - i) / 2;
        if letters >= 2 && chars.get(j).is_none_or(|c| !c.is_alphabetic()) {
            out.extend(chars[i..j].iter().step_by(2));
            out.push(' ');
            i = j;
        } else {
            let glue = chars[i] == '-'
                && i > 0
                && chars[i - 1].is_alphabetic()
                && chars.get(i + 1).is_some_and(char::is_ascii_digit);
            if !glue {
                out.push(chars[i]);
            }
            i += 1;
        }
    }
    out
}

impl Terms {
    /// Stored form: the genre's code ([`Genre::code`]), then per term 8 bytes of hash (little
    /// endian) and a flags byte (bit 0: title, bit 1: figure).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 9 * self.terms.len());
        out.push(self.genre.code());
        for t in &self.terms {
            out.extend_from_slice(&t.hash.to_le_bytes());
            out.push(u8::from(t.title) | (u8::from(t.figure) << 1));
        }
        out
    }

    /// The stored form read back; `None` for bytes that are not one (a damaged row).
    pub fn from_bytes(bytes: &[u8]) -> Option<Terms> {
        let (&code, rest) = bytes.split_first()?;
        let genre = Genre::from_code(code)?;
        if rest.len() % 9 != 0 {
            return None;
        }
        let mut terms = Vec::with_capacity(rest.len() / 9);
        for chunk in rest.chunks_exact(9) {
            let hash = u64::from_le_bytes(chunk[..8].try_into().ok()?);
            let f = chunk[8];
            terms.push(Term {
                hash,
                title: f & 1 != 0,
                figure: f & 2 != 0,
            });
        }
        Some(Terms { terms, genre })
    }

    /// These terms, marked as a reprint when the item's address is dated days before its
    /// publication ([`reprint`]; `seen`: when it was first seen); a piece already apart
    /// keeps its genre.
    pub fn with_address(
        mut self,
        link: Option<&str>,
        published: Option<chrono::DateTime<chrono::Utc>>,
        seen: chrono::DateTime<chrono::Utc>,
    ) -> Terms {
        if self.genre == Genre::Report && reprint::reprinted(link, published, seen) {
            self.genre = Genre::Reprint;
        }
        self
    }

    /// Not a report: never joins a story, never joined.
    pub fn apart(&self) -> bool {
        self.genre != Genre::Report
    }

    /// The days of the week the article names (bit 0 Monday … bit 6 Sunday).
    pub fn weekdays(&self) -> u8 {
        let days = weekday_terms();
        (self.terms.iter())
            .filter_map(|t| days.iter().find(|(h, _)| *h == t.hash))
            .fold(0, |acc, (_, d)| acc | (1 << d))
    }

    fn title_figures(&self) -> impl Iterator<Item = u64> + '_ {
        (self.terms.iter())
            .filter(|t| t.figure && t.title)
            .map(|t| t.hash)
    }

    /// Another day's figures: both headlines give figures and share none, and both texts
    /// name a day of the week and share none — Tuesday's count and Wednesday's, the same
    /// saga told on two days with other facts.
    pub fn other_day_figures(&self, other: &Terms) -> bool {
        let (mine, theirs) = (self.weekdays(), other.weekdays());
        let days_differ = mine != 0 && theirs != 0 && mine & theirs == 0;
        let mut figures = self.title_figures().peekable();
        days_differ
            && figures.peek().is_some()
            && other.title_figures().next().is_some()
            && !figures.any(|f| other.title_figures().any(|g| g == f))
    }

    /// The term of this hash, if the article has it.
    pub fn get(&self, hash: u64) -> Option<&Term> {
        let k = self.terms.binary_search_by_key(&hash, |t| t.hash).ok()?;
        self.terms.get(k)
    }

    pub fn contains(&self, hash: u64) -> bool {
        self.terms.binary_search_by_key(&hash, |t| t.hash).is_ok()
    }
}

#[cfg(test)]
mod tests;
