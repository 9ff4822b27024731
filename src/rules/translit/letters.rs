//! Names in every spelling, the letters of a word: a word of the text (or of a name) folded
//! to ASCII letters for its key — scholarly letters to their digraphs (š → sh, ḫ → kh), accents
//! dropped, the ayn and hamza letters (ʿ ʾ) dropped, an accented final e remembered (Kobané) —
//! and the words that are read apart: the article's forms, «Abdel» / «Ibn», letters of other
//! alphabets (docs/research/translit.md §3.1–3.2).
//!
//! Invariants: pure; what it appends is ASCII for the letters of French and English
//! transliterations (a word with anything else is no Latin word for the key); never panics.

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// Letters of other languages' alphabets that no French or English transliteration of Arabic
/// uses: a word with one («Hülle») is matched only as written.
pub(crate) fn is_foreign(c: char) -> bool {
    matches!(
        c,
        'ä' | 'ö'
            | 'ü'
            | 'Ä'
            | 'Ö'
            | 'Ü'
            | 'å'
            | 'Å'
            | 'ñ'
            | 'Ñ'
            | 'ø'
            | 'Ø'
            | 'ğ'
            | 'Ğ'
            | 'ş'
            | 'Ş'
            | 'ı'
            | 'ł'
            | 'Ł'
            | 'ß'
    )
}

/// Scholarly letters to their digraphs, before accents go (š → sh, ḫ → kh, ṣ → s…); the ayn
/// and hamza written as letters (ʿ ʾ ʻ) are dropped.
fn premap(c: char) -> Option<&'static str> {
    Some(match c {
        'š' | 'Š' => "sh",
        'ṯ' | 'Ṯ' => "th",
        'ḏ' | 'Ḏ' => "dh",
        'ḫ' | 'Ḫ' | 'ẖ' => "kh",
        'ġ' | 'Ġ' => "gh",
        'ǧ' | 'Ǧ' => "j",
        'č' | 'Č' => "ch",
        'ç' | 'Ç' => "s",
        'œ' | 'Œ' => "oe",
        'æ' | 'Æ' => "ae",
        'ß' => "ss",
        'ṣ' | 'Ṣ' => "s",
        'ḍ' | 'Ḍ' | 'ḑ' | 'Ḑ' => "d",
        'ṭ' | 'Ṭ' | 'ţ' | 'Ţ' => "t",
        'ẓ' | 'Ẓ' | 'ẕ' | 'Ẕ' => "z",
        'ḥ' | 'Ḥ' | 'ḩ' | 'Ḩ' => "h",
        'ʾ' | 'ʿ' | 'ʻ' => "",
        'ı' => "i",
        'ł' | 'Ł' => "l",
        'ø' | 'Ø' => "o",
        _ => return None,
    })
}

/// Append the ASCII folding of `piece` (a run of word chars) to `out`: lower case, scholarly
/// letters to digraphs, accents dropped. Returns whether the last letter is an accented e
/// (Kobané), the state carried from the previous piece otherwise.
pub(crate) fn fold_piece(piece: &str, out: &mut String, mut acute: bool) -> bool {
    for ch in piece.chars() {
        if ch.is_ascii() {
            out.push(ch.to_ascii_lowercase());
            acute = false;
            continue;
        }
        if let Some(m) = premap(ch) {
            out.push_str(m);
            acute = false;
            continue;
        }
        if is_joiner(ch) {
            continue;
        }
        let from = out.len();
        let mut plain = true;
        decompose_compatible(ch, |d| {
            if is_combining_mark(d) {
                plain = false;
            } else {
                out.extend(d.to_lowercase());
            }
        });
        if out.len() == from {
            continue;
        }
        acute = &out[from..] == "e" && !plain;
    }
    acute
}

/// Invisible chars that folding drops inside a word (soft hyphen, zero-width joiners).
pub(crate) fn is_joiner(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}'
    )
}

/// «Abdel», «Abdul»… are «Abd» and the article of the next word; «Abed» is «Abd», «Ibn» is
/// «bin», in a name as in the text.
pub(crate) fn abd_form(fold: &str) -> &str {
    match fold {
        "abdel" | "abdul" | "abdoul" | "abdal" | "abed" | "abdol" => "abd",
        "ibn" => "bin",
        other => other,
    }
}

/// The Arabic article and its assimilated forms, as words of their own (al-, el-, ash-…).
pub(crate) fn is_article(fold: &str) -> bool {
    fold.len() <= 3
        && matches!(
            fold,
            "al" | "el"
                | "il"
                | "ul"
                | "ad"
                | "adh"
                | "an"
                | "ar"
                | "as"
                | "ash"
                | "at"
                | "ath"
                | "az"
                | "ed"
                | "en"
                | "er"
                | "es"
                | "esh"
                | "et"
                | "ez"
                | "ud"
                | "un"
                | "ur"
                | "us"
                | "ush"
                | "ut"
                | "uz"
        )
}

/// Articles that a hit takes in when they stand before the name («al Bayarat», «el-Hol»); the
/// others («an», «as», «et»…) only when joined by a hyphen («ash-Sham»).
pub(crate) fn is_shown_article(fold: &str) -> bool {
    matches!(fold, "al" | "el" | "il" | "ul")
}
