//! Names in every spelling, the words of a text: runs of letters, digits and marks, with an
//! apostrophe inside a word joining it («Da'esh», «Hay'at» are one word) except after an
//! elided prefix («d'Alep») and before a possessive «s» («Assad's» ends the name). Each word
//! is folded to ASCII for its key (`key`). The scan reads one word at a time, from a word start
//! that it chose (capitalised words only, found eight bytes at a time), so nothing is done for
//! the other words; the article before a name and the word after it are read only for a hit.
//!
//! Invariants: offsets are byte offsets into the original text, on char boundaries; a token
//! starts on a word char that no word char precedes; never panics, whatever the text.

use crate::rules::translit::letters::{
    fold_piece, is_article, is_foreign, is_joiner, is_shown_article,
};

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
    if let Some(letter) = latin_letter(c) {
        return letter;
    }
    (c.is_alphanumeric() && c != '\u{02BC}')
        || unicode_normalization::char::is_combining_mark(c)
        || is_joiner(c)
}

/// Whether a char of Latin-1 or Latin Extended-A and B is a letter (all are but × and ÷); `None`
/// outside those blocks. The accented letters of the press, without Unicode's tables.
fn latin_letter(c: char) -> Option<bool> {
    matches!(c, '\u{C0}'..='\u{24F}').then_some(c != '×' && c != '÷')
}

/// Whether `c` is a letter.
fn is_letter(c: char) -> bool {
    match c {
        'a'..='z' | 'A'..='Z' => true,
        c if c.is_ascii() => false,
        c => latin_letter(c).unwrap_or_else(|| c.is_alphabetic() && !is_apostrophe(c)),
    }
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
    match at.checked_sub(1).and_then(|k| text.as_bytes().get(k)) {
        None => return false,
        Some(&b) if b < 0x80 => return b.is_ascii_alphanumeric(),
        Some(_) => {}
    }
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
    let mut tok = Tok {
        start,
        ..Tok::default()
    };
    // The common case: ASCII letters, then neither a letter nor an apostrophe.
    let bytes = text.as_bytes();
    let mut e = start;
    while bytes.get(e).is_some_and(u8::is_ascii_alphanumeric) {
        e += 1;
    }
    if e > start
        && bytes
            .get(e)
            .is_none_or(|&b| b < 0x80 && b != b'\'' && b != b'`')
    {
        let (mut upper, mut letters, mut first_upper) = (0, 0, None);
        for &b in &bytes[start..e] {
            fold.push(char::from(b.to_ascii_lowercase()));
            if b.is_ascii_alphabetic() {
                letters += 1;
                upper += usize::from(b.is_ascii_uppercase());
                first_upper.get_or_insert(b.is_ascii_uppercase());
            }
        }
        tok.end = e;
        tok.next = e;
        tok.latin = letters == e - start;
        tok.article = tok.latin && is_article(fold);
        tok.cap = first_upper == Some(true);
        tok.allcaps = letters >= 2 && upper == letters;
        return Some(tok);
    }
    let mut end = word_end(text, start);
    if end == start {
        return None;
    }
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
    let (mut letters, mut upper, mut first) = (0, 0, None);
    for c in word.chars() {
        tok.foreign |= is_foreign(c);
        if is_letter(c) {
            let up = c.is_uppercase();
            letters += 1;
            upper += usize::from(up);
            first.get_or_insert(up);
        }
    }
    tok.cap = first == Some(true);
    tok.allcaps = letters >= 2 && upper == letters;
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

/// The high bit of each of 8 bytes that is a capital A to Z (above 64 and below 91; a byte of
/// 128 or more never is).
pub(crate) fn capitals(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let low = x & (ONES * 127);
    (ONES * (127 + 91) - low) & !x & (low + ONES * (127 - 64)) & HIGH
}

/// Whether the non-ASCII char whose lead byte is at `i` is a capital letter (Latin-1's are
/// read from their bytes; Hebrew, Arabic, punctuation and the scripts beyond never are).
pub(crate) fn starts_capital(text: &str, i: usize) -> bool {
    let bytes = text.as_bytes();
    match bytes[i] {
        0xC3 => bytes.get(i + 1).is_some_and(|&n| n < 0x9F && n != 0x97),
        0x80..=0xC2 | 0xD6..=0xDF | 0xE2..=0xFF => false,
        _ => (text.get(i..).and_then(|r| r.chars().next()))
            .is_some_and(|c| c.is_uppercase() && is_word_char(c)),
    }
}

/// Whether a word of the forms of «Abdel», «Ibn» (read as «Abd», «bin»), in either case.
pub(crate) fn is_abd_form(word: &[u8]) -> bool {
    word.len() <= 6
        && ["abdel", "abdul", "abdoul", "abdal", "abed", "abdol", "ibn"]
            .iter()
            .any(|f| f.as_bytes().eq_ignore_ascii_case(word))
}

/// Whether the next word after byte `from`, 1 to 3 separators away, starts with a capital.
pub(crate) fn next_is_capital(text: &str, from: usize) -> bool {
    let bytes = text.as_bytes();
    // ASCII: up to 3 spaces, hyphens or apostrophes, then a capital or not.
    let ascii_gap = (bytes.get(from..)).map_or(0, |r| {
        let sep = |b: &&u8| b.is_ascii_whitespace() || matches!(b, 0x0b | b'-' | b'\'' | b'`');
        r.iter().take(4).take_while(sep).count()
    });
    match bytes.get(from + ascii_gap) {
        Some(b) if b.is_ascii() => return (1..=3).contains(&ascii_gap) && b.is_ascii_uppercase(),
        None => return false,
        Some(_) => {}
    }
    let Some(ns) = next_word_start(text, from) else {
        return false;
    };
    gap(text, from, ns).0
        && (text.get(ns..).and_then(|r| r.chars().next())).is_some_and(char::is_uppercase)
}

/// Whether the word at `at` continues the word before it across an apostrophe («Hay'At»,
/// «O'Brien»): it is then part of that word, not a word of its own (unless the word before is
/// an elided prefix: «d'Alep»).
pub(crate) fn joined_to_previous(text: &str, at: usize, fold: &mut String) -> bool {
    let Some(a) = text.get(..at).and_then(|s| s.chars().next_back()) else {
        return false;
    };
    let before = at - a.len_utf8();
    if !is_apostrophe(a) || !word_before(text, before) {
        return false;
    }
    let start = text[..before]
        .char_indices()
        .rev()
        .take_while(|&(_, c)| is_word_char(c))
        .last()
        .map_or(before, |(k, _)| k);
    token_at(text, start, true, fold).is_some()
}

/// The start of an article that a hit takes in: al/el/il/ul before the name, or any form
/// joined by a hyphen («ash-Sham»), 1 to 3 separators away.
pub(crate) fn article_before(text: &str, start: usize, fold: &mut String) -> Option<usize> {
    let before = text.get(..start)?;
    let mut seps = 0;
    let mut word_end = None;
    for (k, c) in before.char_indices().rev() {
        if is_sep(c) {
            seps += 1;
            if seps > 3 {
                return None;
            }
            continue;
        }
        word_end = Some(k + c.len_utf8());
        break;
    }
    let pe = word_end?;
    let ps = text[..pe]
        .char_indices()
        .rev()
        .take_while(|&(_, c)| is_word_char(c))
        .last()
        .map(|(k, _)| k)?;
    if joined_to_previous(text, ps, fold) {
        return None;
    }
    let t = token_at(text, ps, true, fold)?;
    let (ok, hyphen) = gap(text, t.end, start);
    (t.end == pe && t.article && ok && (is_shown_article(fold) || hyphen)).then_some(ps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_bytes_at_once_find_every_capital() {
        for b in 0u8..128 {
            for at in 0..8 {
                let mut chunk = [b'a'; 8];
                chunk[at] = b;
                let x = u64::from_le_bytes(chunk);
                let found = capitals(x) == 0x80 << (8 * at);
                assert_eq!(found, b.is_ascii_uppercase(), "{b} at {at}");
                assert!(found || capitals(x) == 0, "{b} at {at}");
            }
        }
        let capital = |s: &str| starts_capital(s, 0);
        assert!(capital("Éric") && capital("Ḥama") && capital("Ölü") && capital("Şam"));
        assert!(!capital("été") && !capital("حلب") && !capital("’s") && !capital("×"));
    }
}
