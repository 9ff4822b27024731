//! Names in every spelling, the words of a text: runs of letters, digits and marks, with an
//! apostrophe inside a word joining it («Da'esh», «Hay'at» are one word) except after an
//! elided prefix («d'Alep») and before a possessive «s» («Assad's» ends the name). Each word
//! is folded to ASCII for its key (`key`). The scan reads one word at a time, from a word start
//! that it chose (capitalised words only), so nothing is done for the other words.
//!
//! Invariants: offsets are byte offsets into the original text, on char boundaries; a token
//! starts on a word char that no word char precedes; never panics, whatever the text.

use crate::rules::translit::key::{fold_piece, is_article, is_foreign, is_joiner};

/// Apostrophes (a word's inner apostrophe joins it; between words it separates them).
pub(crate) fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\'' | '\u{2019}' | '\u{02BC}' | '\u{2018}' | '`' | '\u{00B4}' | '\u{FF07}'
    )
}

fn is_hyphen(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}'
    )
}

/// What may stand between two words of a name: spaces, hyphens, apostrophes.
pub(crate) fn is_sep(c: char) -> bool {
    c.is_whitespace() || is_apostrophe(c) || is_hyphen(c)
}

/// A char of a word: a letter or digit (the ayn and hamza letters ʿ ʾ included), a combining
/// mark, or an invisible joiner that folding drops.
pub(crate) fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    (c.is_alphanumeric() && c != '\u{02BC}')
        || unicode_normalization::char::is_combining_mark(c)
        || is_joiner(c)
}

/// French and Italian elided prefixes (as vigie's folding knows them).
fn is_elided(fold: &str) -> bool {
    matches!(
        fold,
        "l" | "d"
            | "j"
            | "m"
            | "n"
            | "s"
            | "t"
            | "c"
            | "qu"
            | "jusqu"
            | "lorsqu"
            | "puisqu"
            | "quelqu"
            | "presqu"
            | "un"
            | "dell"
            | "all"
            | "dall"
            | "nell"
            | "sull"
            | "coll"
            | "quell"
            | "quest"
            | "bell"
            | "sant"
    )
}

fn char_at(text: &str, at: usize) -> Option<char> {
    text.get(at..).and_then(|s| s.chars().next())
}

/// End of the run of word chars starting at `at`.
pub(crate) fn word_end(text: &str, at: usize) -> usize {
    let rest = text.get(at..).unwrap_or("");
    rest.char_indices()
        .find(|&(_, c)| !is_word_char(c))
        .map_or(text.len(), |(k, _)| at + k)
}

/// Whether a word char precedes byte `at`.
pub(crate) fn word_before(text: &str, at: usize) -> bool {
    text.get(..at)
        .and_then(|s| s.chars().next_back())
        .is_some_and(is_word_char)
}

/// A word of the text, its inner apostrophes joined.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tok {
    pub start: usize,
    /// End of the word (before a possessive «'s»).
    pub end: usize,
    /// Where the next word may start: after the possessive, if any.
    pub next: usize,
    /// Followed by a possessive «'s»: nothing continues a name after it.
    pub possessive: bool,
    /// Folded to ASCII letters only (the fold is then in the caller's buffer).
    pub latin: bool,
    /// One of the article's forms (al, el, ash…).
    pub article: bool,
    /// Its first letter is a capital.
    pub cap: bool,
    /// Two letters or more, all capitals.
    pub allcaps: bool,
    /// Has a letter of another alphabet (ä ö ü ñ ß…).
    pub foreign: bool,
}

/// The word starting at `start` (a word start), its fold written to `fold` (a trailing `!`
/// when it ends in an accented e). `None` when the word is an elided prefix («d'» of
/// «d'Alep»), which is no word of its own. `possessive_s`: a final «'s» ends the word.
pub(crate) fn token_at(
    text: &str,
    start: usize,
    possessive_s: bool,
    fold: &mut String,
) -> Option<Tok> {
    fold.clear();
    let mut end = word_end(text, start);
    if end == start {
        return None;
    }
    let mut tok = Tok {
        start,
        ..Tok::default()
    };
    let mut acute = fold_piece(&text[start..end], fold, false);
    let mut first = true;
    while let Some(a) = char_at(text, end).filter(|&c| is_apostrophe(c)) {
        let ns = end + a.len_utf8();
        let ne = word_end(text, ns);
        if ne == ns {
            break;
        }
        if first && is_elided(fold) {
            return None;
        }
        first = false;
        let piece = &text[ns..ne];
        if possessive_s && (piece == "s" || piece == "S") {
            tok.possessive = true;
            tok.end = end;
            tok.next = ne;
            return Some(finish(text, tok, fold, acute));
        }
        acute = fold_piece(piece, fold, acute);
        end = ne;
    }
    tok.end = end;
    tok.next = end;
    Some(finish(text, tok, fold, acute))
}

fn finish(text: &str, mut tok: Tok, fold: &mut String, acute: bool) -> Tok {
    tok.latin = !fold.is_empty() && fold.bytes().all(|b| b.is_ascii_lowercase());
    tok.article = tok.latin && is_article(fold);
    if tok.latin && acute {
        fold.push('!');
    }
    let word = &text[tok.start..tok.end];
    let letter = |c: &char| c.is_alphabetic() && !is_apostrophe(*c);
    tok.cap = word.chars().find(letter).is_some_and(char::is_uppercase);
    let mut n = 0;
    tok.allcaps = word.chars().filter(letter).all(|c| {
        n += 1;
        c.is_uppercase()
    }) && n >= 2;
    tok.foreign = word.chars().any(is_foreign);
    tok
}

/// The next word start at or after `from`.
pub(crate) fn next_word_start(text: &str, from: usize) -> Option<usize> {
    let rest = text.get(from..)?;
    rest.char_indices()
        .find(|&(_, c)| is_word_char(c))
        .map(|(k, _)| from + k)
}

/// The gap between two words: whether a name may run across it (1 to 3 separators: spaces,
/// hyphens, apostrophes), and whether it holds a hyphen.
pub(crate) fn gap(text: &str, from: usize, to: usize) -> (bool, bool) {
    let Some(g) = text.get(from..to) else {
        return (false, false);
    };
    let n = g.chars().count();
    let ok = (1..=3).contains(&n) && g.chars().all(is_sep);
    (ok, ok && g.chars().any(is_hyphen))
}

/// A word with its fold, for whole-string tokenisation (names, tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Word {
    pub tok: Tok,
    pub fold: String,
    /// The gap to the next word lets a name run on (see [`gap`]), and holds a hyphen.
    pub gap_ok: bool,
    pub gap_hyphen: bool,
}

/// Every word of `text`, in order (elided prefixes left out).
pub(crate) fn words(text: &str, possessive_s: bool) -> Vec<Word> {
    let mut out: Vec<Word> = Vec::new();
    let mut fold = String::new();
    let mut at = 0;
    while let Some(start) = next_word_start(text, at) {
        match token_at(text, start, possessive_s, &mut fold) {
            Some(tok) => {
                at = tok.next.max(start + 1);
                out.push(Word {
                    tok,
                    fold: fold.clone(),
                    gap_ok: false,
                    gap_hyphen: false,
                });
            }
            None => at = word_end(text, start).max(start + 1),
        }
    }
    for k in 1..out.len() {
        let (a, b) = (out[k - 1].tok, out[k].tok);
        if !a.possessive {
            let (ok, hyphen) = gap(text, a.end, b.start);
            out[k - 1].gap_ok = ok;
            out[k - 1].gap_hyphen = hyphen;
        }
    }
    out
}

/// Whether any char of `s` is an Arabic letter.
pub(crate) fn is_arabic(s: &str) -> bool {
    s.chars()
        .any(|c| matches!(c, '\u{0600}'..='\u{06FF}' | '\u{0750}'..='\u{077F}'))
}
