//! Text folding, the first stage of matching: original text → folded text plus an offset map.
//!
//! Invariants: folding is char-local apart from separator collapsing (so re-folding the original
//! slice of a hit gives the folded slice back); every folded byte maps to the original char that
//! produced it, so [`Folded::original_range`] always lands on char boundaries of the original;
//! folding never panics, whatever the input.
//!
//! What folding does: Unicode compatibility decomposition (NFKD) with combining marks dropped,
//! full Unicode lower-casing, œ→oe, æ→ae, ß→ss and a few letters without decomposition (ø, ł,
//! đ, ı, final ς), Arabic letters that readers take as one made one (ة→ه, ى→ي, ٱ→ا, ک→ك, ی→ي,
//! ھ ۀ ە→ه; the hamza forms of alef, waw and ya lose their hamza by decomposition, harakat and
//! the tatweel go), soft hyphens and zero-width joiners removed, and every run of whitespace,
//! hyphens, dashes and apostrophes (all their variants) turned into one ASCII space. French and
//! Italian elided prefixes (l' d' qu' jusqu' dell'…) stay in the text but are remembered, so that
//! they do not count as words for word distances.
//!
//! This file holds the folded text and its offset map; `folder` writes them, char by char.

mod folder;

use std::ops::Range;

use folder::{Folder, WORD, is_plain_ascii, to_u32, truncate};

/// Whether a char of folded text belongs to a word: a letter or digit, or a combining mark that
/// folding kept (an Indic vowel sign or virama is part of its word, not a break in it).
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || unicode_normalization::char::is_combining_mark(c)
}

/// Elided prefixes, folded, that do not count as words when followed by an apostrophe.
const ELIDED: &[&str] = &[
    "l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu", "quelqu", "presqu",
    // Italian
    "un", "dell", "all", "dall", "nell", "sull", "coll", "quell", "quest", "bell", "sant",
];
/// Longest entry of [`ELIDED`], in bytes.
const ELIDED_MAX: usize = 6;

/// Text folded for matching, with a map back to byte offsets of the original.
#[derive(Clone, Debug, Default)]
pub struct Folded {
    /// The folded text.
    pub text: String,
    /// The offset map, by ascending `fold`; the first starts at 0. Each segment runs to the
    /// next one's `fold` (or the end of the text).
    segs: Vec<Seg>,
    /// Folded offsets of word starts that are elided prefixes («l'», «d'»…), ascending.
    elided: Vec<u32>,
    /// Length of the original text that was folded.
    original_len: u32,
    /// Some original char produced more than one folded char (œ → oe): not every char
    /// boundary of the folded text is a boundary between original chars.
    expanded: bool,
}

/// A stretch of folded text and where it comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seg {
    /// Where the segment starts in the folded text.
    fold: u32,
    /// Where its first byte comes from in the original.
    orig: u32,
    /// Atomic: the whole segment is the output of one original char spanning `orig..end`
    /// (`end` stretched over the combining marks dropped after it). Not atomic: byte `k` of the
    /// segment is the one-byte original char at `orig + k` (`end` unused).
    end: u32,
    atomic: bool,
}

/// Fold `original` for matching. Texts longer than 4 GiB are folded up to the last char boundary
/// before 4 GiB (the fetch layer refuses bodies that large anyway).
pub fn fold(original: &str) -> Folded {
    let mut folded = Folded::default();
    folded.refold(original);
    folded
}

/// The folded form of a query term: folded, with leading and trailing separators trimmed.
pub fn fold_term(term: &str) -> String {
    fold(term).text.trim_matches(' ').to_owned()
}

impl Folded {
    /// Fold `original` into `self`, reusing its buffers: `f.refold(s)` gives the same result
    /// as `f = fold(s)` without allocating once the buffers are large enough.
    pub fn refold(&mut self, original: &str) {
        let original = truncate(original, u32::MAX as usize - 1);
        self.text.clear();
        self.segs.clear();
        self.elided.clear();
        self.text.reserve(original.len() + 16);
        self.original_len = to_u32(original.len());
        self.expanded = false;
        let mut f = Folder {
            out: self,
            after_separator: false,
        };
        let bytes = original.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b.is_ascii() {
                if is_plain_ascii(b) {
                    // A run of plain ASCII, single spaces between plain chars included (they
                    // map to themselves: nothing to collapse).
                    let mut j = i + 1;
                    while j < bytes.len() {
                        if is_plain_ascii(bytes[j]) {
                            j += 1;
                        } else if bytes[j] == b' '
                            && bytes.get(j + 1).is_some_and(|&n| is_plain_ascii(n))
                        {
                            j += 2;
                        } else {
                            break;
                        }
                    }
                    f.push_ascii_run(&original[i..j], i);
                    i = j;
                } else {
                    f.separator(i, i + 1, b == b'\'' || b == b'`');
                    i += 1;
                }
                continue;
            }
            // `i` is on a char boundary: ASCII runs and whole chars are consumed.
            let Some(c) = original[i..].chars().next() else {
                break;
            };
            let end = i + c.len_utf8();
            f.push_char(c, i, end);
            i = end;
        }
    }

    /// Byte range in the ORIGINAL text for folded byte range [start, end). Always on char
    /// boundaries of the original. Out-of-range or reversed bounds are clamped.
    pub fn original_range(&self, start: usize, end: usize) -> Range<usize> {
        let len = self.text.len();
        let start = start.min(len);
        let end = end.clamp(start, len);
        let Some(first) = self.seg_at(start) else {
            let at = self.original_len as usize;
            return at..at;
        };
        let from = if first.atomic {
            first.orig
        } else {
            first.orig + (to_u32(start) - first.fold)
        };
        if start == end {
            return from as usize..from as usize;
        }
        let to = match self.seg_at(end - 1) {
            Some(last) if last.atomic => last.end,
            Some(last) => last.orig + (to_u32(end - 1) - last.fold) + 1,
            None => from,
        };
        from as usize..to as usize
    }

    /// The folded offset where the output of the original text from byte `orig` on begins:
    /// how many folded bytes the original bytes before `orig` made. For a word's start or end
    /// in the original, the start or end of that word in the folded text; monotone in `orig`.
    pub fn fold_offset(&self, orig: usize) -> usize {
        let orig = to_u32(orig.min(self.original_len as usize));
        let k = self.segs.partition_point(|g| g.orig < orig);
        // The segment that starts at `orig`, or the one before it that may cover it.
        if let Some(g) = self.segs.get(k)
            && g.orig == orig
        {
            return g.fold as usize;
        }
        let Some(g) = k.checked_sub(1).and_then(|p| self.segs.get(p)) else {
            return 0;
        };
        let seg_end = self
            .segs
            .get(k)
            .map_or(self.text.len(), |n| n.fold as usize);
        let at = if g.atomic {
            seg_end
        } else {
            (g.fold + (orig - g.orig)) as usize
        };
        at.min(seg_end)
    }

    /// The segment holding folded byte `pos`, if `pos < text.len()`.
    fn seg_at(&self, pos: usize) -> Option<Seg> {
        if pos >= self.text.len() {
            return None;
        }
        let pos = to_u32(pos);
        let k = self.segs.partition_point(|g| g.fold <= pos);
        self.segs.get(k.checked_sub(1)?).copied()
    }

    /// True if folded offset `pos` (a char boundary of the folded text) lies between the
    /// outputs of two different original chars, or at either end: a hit may start or end there.
    pub fn is_source_boundary(&self, pos: usize) -> bool {
        if !self.expanded {
            return true;
        }
        match self.seg_at(pos) {
            None => true,
            Some(seg) => !seg.atomic || seg.fold as usize == pos,
        }
    }

    /// True if the char just before folded offset `pos` is a letter or digit.
    pub fn word_char_before(&self, pos: usize) -> bool {
        match self.text.as_bytes().get(pos.wrapping_sub(1)) {
            None => false,
            Some(b) if b.is_ascii() => b.is_ascii_alphanumeric(),
            Some(_) => self
                .text
                .get(..pos)
                .and_then(|s| s.chars().next_back())
                .is_some_and(is_word_char),
        }
    }

    /// True if the char starting at folded offset `pos` is a letter or digit.
    pub fn word_char_at(&self, pos: usize) -> bool {
        match self.text.as_bytes().get(pos) {
            None => false,
            Some(b) if b.is_ascii() => b.is_ascii_alphanumeric(),
            Some(_) => self
                .text
                .get(pos..)
                .and_then(|s| s.chars().next())
                .is_some_and(is_word_char),
        }
    }

    /// End of the word that goes on at folded offset `pos` (`pos` itself if no word char there).
    pub fn word_end(&self, pos: usize) -> usize {
        let Some(rest) = self.text.get(pos..) else {
            return pos;
        };
        rest.char_indices()
            .find(|&(_, c)| !is_word_char(c))
            .map_or(self.text.len(), |(k, _)| pos + k)
    }

    /// Folded offsets of the words that count for word distances, ascending: every start of a
    /// run of letters and digits, except elided prefixes («l'», «d'», «qu'»…).
    pub fn counted_word_starts(&self) -> Vec<u32> {
        let mut starts = Vec::new();
        self.counted_word_starts_into(&mut starts);
        starts
    }

    /// [`Folded::counted_word_starts`] into a reused buffer (cleared first).
    pub fn counted_word_starts_into(&self, starts: &mut Vec<u32>) {
        // Branch-free over ASCII: every position is written, and kept only at a word start.
        let bytes = self.text.as_bytes();
        starts.clear();
        starts.resize(bytes.len() + 1, 0);
        let mut n = 0;
        let mut prev = 0u8;
        for (k, &b) in bytes.iter().enumerate() {
            let word = if b < 0x80 {
                WORD[b as usize]
            } else if b >= 0xC0 {
                // A lead byte: the char it starts.
                let c = self.text.get(k..).and_then(|s| s.chars().next());
                u8::from(c.is_some_and(is_word_char))
            } else {
                // A continuation byte: same char as before.
                prev
            };
            starts[n] = k as u32;
            n += usize::from(word & !prev & 1);
            prev = word;
        }
        starts.truncate(n);
        if !self.elided.is_empty() {
            let mut elided = self.elided.iter().peekable();
            starts.retain(|&at| {
                while elided.next_if(|&&e| e < at).is_some() {}
                elided.next_if(|&&e| e == at).is_none()
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folds_case_accents_and_separators() {
        assert_eq!(fold("Genève").text, "geneve");
        assert_eq!(fold("GENEVE").text, "geneve");
        assert_eq!(fold("Gene\u{300}ve").text, "geneve");
        assert_eq!(fold("d’Alep").text, "d alep");
        assert_eq!(fold("al-Bayarat").text, "al bayarat");
        assert_eq!(fold("al — Bayarat").text, "al bayarat");
        assert_eq!(
            fold("Œuvre cœur Æther straße").text,
            "oeuvre coeur aether strasse"
        );
        assert_eq!(fold("Pal\u{AD}myre").text, "palmyre");
        assert_eq!(fold("20\u{A0}km\u{202F}!").text, "20 km !");
        assert_eq!(fold("İstanbul").text, "istanbul");
        assert_eq!(fold("ﬁn ΟΔΟΣ οδος").text, "fin οδοσ οδοσ");
        assert_eq!(fold("km²").text, "km2");
        assert_eq!(fold("Дамаск دمشق").text, "дамаск دمشق");
    }

    #[test]
    fn offsets_map_back_to_original_chars() {
        let s = "Les unités d’al-Bayarat à Genève";
        let f = fold(s);
        assert_eq!(f.text, "les unites d al bayarat a geneve");
        let at = f.text.find("geneve").unwrap();
        let r = f.original_range(at, at + 6);
        assert_eq!(&s[r], "Genève");
        let at = f.text.find("unites").unwrap();
        assert_eq!(&s[f.original_range(at, at + 6)], "unités");
        let at = f.text.find("al bayarat").unwrap();
        assert_eq!(&s[f.original_range(at, at + 10)], "al-Bayarat");
        // A decomposed accent belongs to its letter.
        let s = "Gene\u{300}ve";
        let f = fold(s);
        assert_eq!(f.original_range(0, 4), 0..6);
        assert_eq!(f.original_range(0, 6), 0..s.len());
        // œ expands to two bytes: both map to the whole œ.
        let f = fold("cœur");
        assert_eq!(f.original_range(1, 2), 1..3);
        assert!(!f.is_source_boundary(2));
        assert!(f.is_source_boundary(3));
    }

    #[test]
    fn marks_after_ascii_letters_belong_to_them() {
        let s = "cafe\u{301} ole\u{301}\u{327}!";
        let f = fold(s);
        assert_eq!(f.text, "cafe ole!");
        assert_eq!(&s[f.original_range(0, 4)], "cafe\u{301}");
        assert_eq!(&s[f.original_range(3, 4)], "e\u{301}");
        assert_eq!(&s[f.original_range(5, 8)], "ole\u{301}\u{327}");
        assert_eq!(&s[f.original_range(8, 9)], "!");
        assert_eq!(&s[f.original_range(2, 6)], "fe\u{301} o");
        assert!((0..=f.text.len()).all(|k| f.is_source_boundary(k)));
    }

    #[test]
    fn elided_prefixes_do_not_count_as_words() {
        let f = fold("l’ONU et d'Alep, qu'EI ; aujourd'hui l");
        let words: Vec<&str> = f
            .counted_word_starts()
            .iter()
            .map(|&k| &f.text[k as usize..f.word_end(k as usize)])
            .collect();
        assert_eq!(words, ["onu", "et", "alep", "ei", "aujourd", "hui", "l"]);
        let f = fold("«Été» l’école n°5 жизнь,ça");
        let words: Vec<&str> = f
            .counted_word_starts()
            .iter()
            .map(|&k| &f.text[k as usize..f.word_end(k as usize)])
            .collect();
        assert_eq!(words, ["ete", "ecole", "n", "5", "жизнь", "ca"]);
    }

    proptest! {
        #[test]
        fn folding_never_panics_and_maps_to_char_boundaries(s in any::<String>()) {
            let f = fold(&s);
            for a in 0..=f.text.len() {
                for b in [a, a + 1, a + 3, f.text.len()] {
                    let r = f.original_range(a, b);
                    prop_assert!(r.start <= r.end && r.end <= s.len());
                    prop_assert!(s.is_char_boundary(r.start) && s.is_char_boundary(r.end));
                }
            }
            let _ = f.counted_word_starts();
        }

        #[test]
        fn refolding_the_original_of_a_slice_gives_the_slice(
            s in "([a-zA-Zàéœ’'ﬁ¼ŉİß \u{300}\u{301}\u{AD}ÉŒ-]|.){0,24}"
        ) {
            let f = fold(&s);
            let t = &f.text;
            let ok = |k: usize| t.is_char_boundary(k) && f.is_source_boundary(k);
            for a in (0..t.len()).filter(|&a| ok(a) && !t[a..].starts_with(' ')) {
                for b in (a + 1..=t.len()).filter(|&b| ok(b) && !t[..b].ends_with(' ')) {
                    let r = f.original_range(a, b);
                    prop_assert_eq!(&fold(&s[r]).text, &t[a..b]);
                }
            }
        }

        #[test]
        fn folding_is_idempotent_on_french_like_text(
            s in "[a-zA-Zàéèêëïôûçœ’' \u{300}\u{301}\u{AD}ÉÈÀÇŒ -]{0,40}"
        ) {
            let once = fold(&s).text;
            prop_assert_eq!(fold(&once).text, once.clone());
        }
    }
}
