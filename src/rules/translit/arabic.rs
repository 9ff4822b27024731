//! Names in every spelling, Arabic script: the one-letter prefixes that Arabic joins to a word
//! — و ف (and, so), then ب ك ل (in, like, for), then the article ال (or ل after ل: للرقة) —
//! read in front of a term found inside a word. Nothing is ever stripped at the end, so a
//! longer word never matches (تدمير is not تدمر, حلبة is not حلب). The letters' forms (hamza,
//! ta marbuta, alef maqsura, tatweel) are already one after folding (`fold`).
//!
//! Invariants: pure; looks back at most [`MAX_CHAIN`] chars; offsets are byte offsets into the
//! folded text, on char boundaries.

/// Longest chain of joined prefixes, in chars (و ب ا ل).
const MAX_CHAIN: usize = 4;

/// How an Arabic term may be preceded inside its word.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct ArabicRule {
    /// The term is Arabic script: joined prefixes are understood.
    pub arabic: bool,
    /// The name was written with the article, which the pattern leaves out: the text must
    /// show it (الرقة: ورقة, «paper», is not Raqqa).
    pub article: bool,
    /// A stem shorter than 3 letters: only the article may be joined to it.
    pub short: bool,
}

/// What stands in front of a term inside its word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Chain {
    /// Where the word starts, in the folded text.
    pub word_start: usize,
    /// A parse of the chain has one-letter prefixes (و ف ب ك ل), and which has an article.
    with_prefix: [bool; 2],
    without_prefix: [bool; 2],
}

impl Chain {
    /// The chain in front of a word-initial term: nothing.
    pub fn empty(at: usize) -> Chain {
        Chain {
            word_start: at,
            with_prefix: [false; 2],
            without_prefix: [true, false],
        }
    }

    /// Whether a term of this rule may follow this chain: with the article if the name has
    /// one, and without a one-letter prefix before a short stem.
    pub fn allows(&self, rule: ArabicRule) -> bool {
        let articles: &[usize] = if rule.article { &[1] } else { &[0, 1] };
        articles
            .iter()
            .any(|&a| self.without_prefix[a] || (!rule.short && self.with_prefix[a]))
    }
}

/// The chain of joined prefixes from the start of the word to `start` (where an Arabic term
/// was found inside it), if those letters are one.
pub(crate) fn chain(folded: &str, start: usize) -> Option<Chain> {
    let before = folded.get(..start)?;
    let mut letters = ['\0'; MAX_CHAIN];
    let mut n = 0;
    let mut word_start = start;
    for (k, c) in before.char_indices().rev() {
        if !crate::rules::fold::is_word_char(c) {
            break;
        }
        if n == MAX_CHAIN {
            return None;
        }
        letters[MAX_CHAIN - 1 - n] = c;
        n += 1;
        word_start = k;
    }
    let p = &letters[MAX_CHAIN - n..];
    let mut found = Chain {
        word_start,
        with_prefix: [false; 2],
        without_prefix: [false; 2],
    };
    for p1 in [None, Some('و'), Some('ف')] {
        for p2 in [None, Some('ب'), Some('ك'), Some('ل')] {
            let mut rest = p;
            if let Some(c) = p1 {
                match rest.split_first() {
                    Some((&f, r)) if f == c => rest = r,
                    _ => continue,
                }
            }
            if let Some(c) = p2 {
                match rest.split_first() {
                    Some((&f, r)) if f == c => rest = r,
                    _ => continue,
                }
            }
            let article = match rest {
                [] => false,
                ['ا', 'ل'] => true,
                ['ل'] if p2 == Some('ل') => true,
                _ => continue,
            };
            let prefixed = p1.is_some() || p2.is_some();
            let slot = if prefixed {
                &mut found.with_prefix
            } else {
                &mut found.without_prefix
            };
            slot[usize::from(article)] = true;
        }
    }
    (found.with_prefix != [false; 2] || found.without_prefix != [false; 2]).then_some(found)
}

/// The rule of a folded Arabic term, and the pattern to look for: the name without its
/// article when it has one (the text may join prefixes before the article).
pub(crate) fn rule(pattern: &str) -> (ArabicRule, &str) {
    let is_arabic_letter = |c: char| matches!(c, '\u{0600}'..='\u{06FF}' | '\u{0750}'..='\u{077F}');
    if !pattern.chars().next().is_some_and(is_arabic_letter) {
        return (ArabicRule::default(), pattern);
    }
    let first = pattern.split(' ').next().unwrap_or(pattern);
    let (article, stem) = match first.strip_prefix("ال") {
        Some(s) if first.chars().count() > 3 => (true, s),
        _ => (false, first),
    };
    let rule = ArabicRule {
        arabic: true,
        article,
        short: stem.chars().count() < 3,
    };
    let pattern = if article {
        &pattern["ال".len()..]
    } else {
        pattern
    };
    (rule, pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(word: &str, stem: &str, name: &str) -> bool {
        let (rule, pattern) = rule(name);
        assert_eq!(pattern, stem);
        let Some(at) = word.rfind(stem) else {
            return false;
        };
        if !word.ends_with(stem) {
            return false;
        }
        let c = if at == 0 {
            Chain::empty(0)
        } else {
            match chain(word, at) {
                Some(c) => c,
                None => return false,
            }
        };
        c.allows(rule)
    }

    #[test]
    fn joined_prefixes_and_the_article_are_read() {
        for w in ["حلب", "بحلب", "وحلب", "الحلب", "للحلب", "وبحلب", "لحلب"]
        {
            assert!(allowed(w, "حلب", "حلب"), "{w}");
        }
        for w in ["الرقه", "والرقه", "بالرقه", "للرقه", "وللرقه"] {
            assert!(allowed(w, "رقه", "الرقه"), "{w}");
        }
        for w in ["رقه", "ورقه", "برقه", "لرقه"] {
            assert!(!allowed(w, "رقه", "الرقه"), "{w}");
        }
        assert!(!allowed("مبحلب", "حلب", "حلب"));
        assert!(!allowed("بعز", "عز", "عز"));
        assert!(allowed("العز", "عز", "عز"));
    }
}
