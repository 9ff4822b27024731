//! Names in every spelling (`~Kallabiyeh`, `~"Bachar al-Assad"`): a name written once matches
//! the other spellings that French, English and the usual transliteration schemes give it,
//! and never another name that looks alike. The method, its rules and its measures:
//! docs/research/translit.md; the user's side: docs/rules.md.
//!
//! - `letters`: a word's letters folded to ASCII, and the words read apart (articles…);
//! - `key`: a word → its phonemic analysis and key (consonant classes, initial vowel);
//! - `check`: the precise check of a text word against a name's token;
//! - `variants`: a name → the token sequences it is matched under;
//! - `text`: the words of a text, read from the original (case and accents count);
//! - `guards`: common words and other places (from the gazetteer);
//! - `keymap` and `scan` ([`LooseTable`]): every name's variants under the key of their first
//!   token, and the pass over a field that looks each capitalised word's key up, once, whatever
//!   the number of names;
//! - `arabic`: the joined prefixes of Arabic script (used by the automaton's scan, for every
//!   Arabic term, `~` or not).
//!
//! Invariants: pure, and never panics on any name or text; a name always matches its own
//! spelling; hits start and end on word boundaries of the original text.

pub(crate) mod arabic;
mod check;
mod guards;
mod key;
mod keymap;
mod letters;
mod scan;
#[cfg(test)]
mod tests;
mod text;
mod variants;

pub(crate) use scan::{LooseName, LooseTable, Scratch};

/// The spelling of a name or a hit as the variants listing compares them: folded words, the
/// article's forms left out («al-Kallabiyeh» and «Kallabiyeh» are one spelling).
pub fn spelling_key(s: &str) -> String {
    let mut out = String::new();
    for w in text::words(s, false) {
        if w.tok.article {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w.fold.trim_end_matches('!'));
    }
    out
}

/// Consonants of a name, w and y counted: at 2 or fewer it may catch other names
/// (`vigie check` warns).
pub fn consonants(name: &str) -> usize {
    variants::consonants(name)
}

/// Load the guards' data (from the gazetteer) now, so that a damaged gazetteer is reported at
/// the first `~` term of the rules.
pub(crate) fn load_guards() -> Result<(), crate::rules::gazetteer::GazetteerError> {
    guards::get().map(|_| ())
}

/// Whether `s` is written in Arabic script (Arabic names need no `~`: their rules always
/// apply).
pub fn is_arabic(s: &str) -> bool {
    text::is_arabic(s)
}
