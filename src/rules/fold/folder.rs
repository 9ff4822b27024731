//! Rules, text folding: the writer of a [`Folded`] text, one original char (or ASCII run)
//! at a time, with the tables of what each char folds to. Invariant: every byte it
//! appends is mapped back to the original char that produced it (see `Seg`).

use unicode_normalization::char::decompose_compatible;

use super::{ELIDED, ELIDED_MAX, Folded, Seg};

pub(super) struct Folder<'f> {
    pub(super) out: &'f mut Folded,
    /// The last thing emitted was a separator space (so another separator adds nothing).
    pub(super) after_separator: bool,
}

impl Folder<'_> {
    /// Append `run`, lower-cased, whose bytes are one-byte chars of the original from `at` on.
    pub(super) fn push_ascii_run(&mut self, run: &str, at: usize) {
        self.identity(at);
        let base = self.out.text.len();
        self.out.text.push_str(run);
        self.out.text[base..].make_ascii_lowercase();
        self.after_separator = false;
    }

    /// Make sure the text appended next maps byte for byte to the original from `at` on.
    fn identity(&mut self, at: usize) {
        let len = to_u32(self.out.text.len());
        let at = to_u32(at);
        let contiguous = self
            .out
            .segs
            .last()
            .is_some_and(|last| !last.atomic && last.orig + (len - last.fold) == at);
        if contiguous {
            return;
        }
        self.out.segs.push(Seg {
            fold: len,
            orig: at,
            end: 0,
            atomic: false,
        });
    }

    /// Emit one already-folded char produced by the original char at [start, end).
    fn emit(&mut self, c: char, start: usize, end: usize) {
        if c.is_ascii() && end == start + 1 {
            self.identity(start);
        } else {
            let len = to_u32(self.out.text.len());
            let (start, end) = (to_u32(start), to_u32(end));
            match self.out.segs.last_mut() {
                // More output of the same original char.
                Some(last) if last.atomic && last.orig == start => {
                    last.end = last.end.max(end);
                    self.out.expanded = true;
                }
                _ => self.out.segs.push(Seg {
                    fold: len,
                    orig: start,
                    end,
                    atomic: true,
                }),
            }
        }
        self.out.text.push(c);
        self.after_separator = false;
    }

    /// A separator char at [start, end): a run of them becomes one space.
    pub(super) fn separator(&mut self, start: usize, end: usize, apostrophe: bool) {
        if self.after_separator {
            return;
        }
        if apostrophe {
            self.note_elision();
        }
        self.emit(' ', start, end);
        self.after_separator = true;
    }

    /// A dropped combining mark ending at `end`: it belongs to the char emitted before it.
    fn drop_mark(&mut self, end: usize) {
        let len = to_u32(self.out.text.len());
        let end = to_u32(end);
        let Some(last) = self.out.segs.last_mut() else {
            return;
        };
        if last.atomic {
            last.end = last.end.max(end);
            return;
        }
        // The last byte of a byte-for-byte segment becomes an atomic segment of its own.
        let orig = last.orig + (len - 1 - last.fold);
        if last.fold == len - 1 {
            *last = Seg {
                end,
                atomic: true,
                ..*last
            };
        } else {
            self.out.segs.push(Seg {
                fold: len - 1,
                orig,
                end,
                atomic: true,
            });
        }
    }

    /// Called at an apostrophe: if the text ends with an elided prefix, remember where it starts.
    fn note_elision(&mut self) {
        let text = self.out.text.as_bytes();
        let mut k = text.len();
        while k > 0 && text.len() - k <= ELIDED_MAX && text[k - 1].is_ascii_lowercase() {
            k -= 1;
        }
        let word = &text[k..];
        if word.is_empty() || !ELIDED.iter().any(|e| e.as_bytes() == word) {
            return;
        }
        let boundary_before = self
            .out
            .text
            .get(..k)
            .and_then(|s| s.chars().next_back())
            .is_none_or(|c| !super::is_word_char(c));
        if boundary_before {
            self.out.elided.push(to_u32(k));
        }
    }

    /// Fold one non-trivial char (anything but a plain ASCII run) found at [start, end).
    pub(super) fn push_char(&mut self, c: char, start: usize, end: usize) {
        match special(c) {
            Special::Apostrophe => self.separator(start, end, true),
            Special::Space => self.separator(start, end, false),
            Special::Drop => {}
            Special::Text(s) => s.chars().for_each(|t| self.emit(t, start, end)),
            Special::None if c.is_ascii() => self.emit(c.to_ascii_lowercase(), start, end),
            Special::None if latin1_base(c).is_some() => {
                self.emit(latin1_base(c).unwrap_or(c), start, end);
            }
            Special::None => {
                decompose_compatible(c, |d| {
                    if is_accent(d) {
                        self.drop_mark(end);
                    } else if d.is_ascii() || !matches!(special(d), Special::None) {
                        self.push_decomposed(d, start, end);
                    } else {
                        for l in d.to_lowercase() {
                            // Lower-casing may yield decomposable chars or marks ('İ' → i + ◌̇).
                            decompose_compatible(l, |e| {
                                if is_accent(e) {
                                    self.drop_mark(end);
                                } else {
                                    self.push_decomposed(e, start, end);
                                }
                            });
                        }
                    }
                });
            }
        }
    }

    /// A char that came out of a decomposition: classify it again, but do not decompose again.
    fn push_decomposed(&mut self, d: char, start: usize, end: usize) {
        match special(d) {
            Special::Apostrophe => self.separator(start, end, true),
            Special::Space => self.separator(start, end, false),
            Special::Drop => {}
            Special::Text(s) => s.chars().for_each(|t| self.emit(t, start, end)),
            Special::None => {
                if d.is_ascii() {
                    self.emit(d.to_ascii_lowercase(), start, end);
                } else {
                    for l in d.to_lowercase() {
                        if !is_accent(l) {
                            self.emit(l, start, end);
                        }
                    }
                }
            }
        }
    }
}

enum Special {
    None,
    Apostrophe,
    Space,
    Drop,
    Text(&'static str),
}

fn special(c: char) -> Special {
    match c {
        '\'' | '`' | '\u{2019}' | '\u{2018}' | '\u{02BC}' | '\u{00B4}' | '\u{FF07}' => {
            Special::Apostrophe
        }
        '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}' => {
            Special::Space
        }
        '\u{00AD}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' => Special::Drop,
        '\u{200B}' => Special::Space,
        c if c.is_whitespace() || c.is_control() => Special::Space,
        'œ' | 'Œ' => Special::Text("oe"),
        'æ' | 'Æ' => Special::Text("ae"),
        'ß' | 'ẞ' => Special::Text("ss"),
        'ø' | 'Ø' => Special::Text("o"),
        'ł' | 'Ł' => Special::Text("l"),
        'đ' | 'Đ' => Special::Text("d"),
        'ı' => Special::Text("i"),
        'ς' => Special::Text("σ"),
        // Arabic letters that readers take as one (ta marbuta and ha, alef maqsura and ya, alef
        // wasla, the Persian kaf, ya and ha); the tatweel only stretches a word.
        'ة' | 'ھ' | 'ۀ' | 'ە' => Special::Text("ه"),
        'ى' | 'ی' => Special::Text("ي"),
        'ٱ' => Special::Text("ا"),
        'ک' => Special::Text("ك"),
        '\u{0640}' => Special::Drop,
        _ => Special::None,
    }
}

/// Fast path for the accented letters of Latin-1 (most accents of French text): the base
/// letter, lower-cased, as NFKD + lower-casing + dropping marks would give.
fn latin1_base(c: char) -> Option<char> {
    Some(match c {
        'À'..='Å' | 'à'..='å' => 'a',
        'Ç' | 'ç' => 'c',
        'È'..='Ë' | 'è'..='ë' => 'e',
        'Ì'..='Ï' | 'ì'..='ï' => 'i',
        'Ñ' | 'ñ' => 'n',
        'Ò'..='Ö' | 'ò'..='ö' => 'o',
        'Ù'..='Ü' | 'ù'..='ü' => 'u',
        'Ý' | 'ý' | 'ÿ' => 'y',
        _ => return None,
    })
}

/// 1 for ASCII letters and digits.
pub(super) const WORD: [u8; 128] = {
    let mut t = [0; 128];
    let mut b = 0;
    while b < 128 {
        t[b] = (b as u8).is_ascii_alphanumeric() as u8;
        b += 1;
    }
    t
};

/// ASCII that folds to itself lower-cased: everything but separators and control chars.
pub(super) fn is_plain_ascii(b: u8) -> bool {
    PLAIN[b as usize]
}

const PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0x21;
    while b < 0x7F {
        t[b] = !matches!(b as u8, b'-' | b'\'' | b'`');
        b += 1;
    }
    t
};

pub(super) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Offsets are below `u32::MAX`: [`fold`] truncates longer input first.
pub(super) fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Whether a combining mark is an accent, which folding drops: the marks of Latin, Greek and
/// Cyrillic, Hebrew points and Arabic harakat. The vowel signs, viramas and nuktas of Indic,
/// Thai and other scripts are letters' parts, not accents: dropping them would make «ईरान»
/// (Iran) «ईरन», another word. Kana voicing marks are kept for the same reason.
pub(super) fn is_accent(c: char) -> bool {
    matches!(
        c as u32,
        0x0300..=0x036F     // combining diacritical marks (Latin, Greek, Cyrillic)
            | 0x0483..=0x0489 // Cyrillic titlo and signs
            | 0x0591..=0x05C7 // Hebrew points and cantillation
            | 0x0610..=0x061A // Arabic honorifics marks
            | 0x064B..=0x065F // Arabic harakat
            | 0x0670          // Arabic superscript alef
            | 0x06D6..=0x06ED // Arabic Quranic marks
            | 0x1AB0..=0x1AFF // combining diacritical marks extended
            | 0x1DC0..=0x1DFF // combining diacritical marks supplement
            | 0x20D0..=0x20FF // combining marks for symbols
            | 0xFE20..=0xFE2F // combining half marks
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latin1_fast_path_agrees_with_decomposition() {
        for c in ('\u{C0}'..='\u{FF}').filter(|&c| latin1_base(c).is_some()) {
            let mut slow = String::new();
            decompose_compatible(c, |d| {
                if !is_accent(d) {
                    slow.extend(d.to_lowercase());
                }
            });
            assert_eq!(latin1_base(c).map(String::from), Some(slow), "{c}");
        }
    }
}
