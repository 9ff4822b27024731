//! Names in every spelling, the table and its pass over a text: every variant of every `~`
//! name stored under the key of its first token (and one-word names of 4 consonants or more
//! under the key of two words read as one: Kafr Nabl = Kafranbel); for each capitalised word
//! of the text, its key is computed once and looked up, each candidate variant is checked
//! token by token (articles transparent between words), and a loose spelling must pass the
//! guards: a capital, no short all-capitals word, no common word, no foreign letter, no name of
//! another place. A spelling that is the name as written passes without guards.
//!
//! Invariants: the work per word does not grow with the number of names (one hash lookup,
//! then only the variants under that key); hits are byte ranges of the original text, from
//! the start of a word (or of the article before it) to the end of a word.

use crate::rules::gazetteer::GazetteerError;
use crate::rules::translit::check::token_ok;
use crate::rules::translit::guards::{self, Guards, squash_hash};
use crate::rules::translit::key::Analysis;
use crate::rules::translit::keymap::{KeyMap, Variant};
use crate::rules::translit::letters::abd_form;
use crate::rules::translit::text::{
    Tok, article_before, capitals, gap, is_abd_form, joined_to_previous, next_is_capital,
    next_word_start, starts_capital, token_at, word_before, words,
};
use crate::rules::translit::variants::{consonants, variants};

/// A `~` name of the rules: as written (without the `~`), the term its hits count for, and
/// that term's pattern (its spelling as written, folded: the automaton finds that one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LooseName {
    pub text: String,
    pub term: u32,
    pub pattern: String,
}

/// What a name needs at match time.
#[derive(Clone, Debug)]
struct Compiled {
    /// Its words as written, folded, articles left out: a hit on them is exact.
    exact: Vec<String>,
    /// The other places that its own spelling names (they never block it).
    own: Vec<u32>,
    /// At least 2 consonants: loose spellings allowed.
    loose: bool,
}

/// Every `~` name of the rules, compiled.
#[derive(Clone, Debug)]
pub(crate) struct LooseTable {
    pub names: Vec<LooseName>,
    compiled: Vec<Compiled>,
    /// The tokens of every variant, side by side.
    tokens: Vec<Analysis>,
    by_key: KeyMap,
    pairs: KeyMap,
    guards: &'static Guards,
}

/// Buffers of the loose pass, reused from word to word and text to text.
#[derive(Default)]
pub(crate) struct Scratch {
    fold: String,
    next: String,
    /// Two words read as one.
    pair: String,
    /// The words of a hit, folded, space-separated (articles included).
    spelled: String,
    ana: Analysis,
    next_ana: Analysis,
}

impl LooseTable {
    /// Compile the names; the guards' data (from the gazetteer) is loaded here.
    pub fn build(names: Vec<LooseName>) -> Result<LooseTable, GazetteerError> {
        let guards = guards::get()?;
        let mut compiled = Vec::with_capacity(names.len());
        let mut all_tokens: Vec<Analysis> = Vec::new();
        let mut keys = Vec::new();
        let mut pair_keys = Vec::new();
        for (n, name) in names.iter().enumerate() {
            let ws = words(&name.text, false);
            let exact: Vec<String> = (ws.iter().filter(|w| !w.tok.article))
                .map(|w| w.fold.clone())
                .collect();
            let with_articles: Vec<&str> = ws.iter().map(|w| w.fold.as_str()).collect();
            let mut own: Vec<u32> = guards.places(squash_hash(with_articles)).to_vec();
            own.extend_from_slice(guards.places(squash_hash(exact.iter().map(String::as_str))));
            own.sort_unstable();
            own.dedup();
            compiled.push(Compiled {
                exact,
                own,
                loose: consonants(&name.text) >= 2,
            });
            for seq in variants(&name.text) {
                let tokens: Vec<Analysis> = (seq.iter())
                    .map(|t| {
                        let mut a = Analysis::default();
                        a.analyze(t.as_bytes());
                        a
                    })
                    .collect();
                // A token too long to analyse never matches: its variant goes.
                let Some(first) = tokens.first().filter(|_| tokens.iter().all(|t| t.ok)) else {
                    continue;
                };
                let v = Variant {
                    name: n as u32,
                    start: all_tokens.len() as u32,
                    len: tokens.len() as u32,
                };
                keys.push((first.key, v));
                if tokens.len() == 1 && first.cons().len() >= 4 && !first.any_mark {
                    pair_keys.push((first.key, v));
                }
                all_tokens.extend(tokens);
            }
        }
        Ok(LooseTable {
            names,
            compiled,
            tokens: all_tokens,
            by_key: KeyMap::build(keys),
            pairs: KeyMap::build(pair_keys),
            guards,
        })
    }

    /// Every hit of every name in `text`: `emit(name, start, end)` (an index into `names`, byte
    /// offsets of `text`).
    /// `s`: buffers kept from one text to the next.
    pub fn scan(&self, text: &str, s: &mut Scratch, emit: &mut impl FnMut(u32, usize, usize)) {
        let bytes = text.as_bytes();
        let mut at = |k: usize, s: &mut Scratch| {
            let b = bytes[k];
            if (b.is_ascii_uppercase() || (b >= 0xC3 && starts_capital(text, k)))
                && !word_before(text, k)
            {
                self.at_word(text, k, s, emit);
            }
        };
        let mut chunks = bytes.chunks_exact(8);
        let mut i = 0;
        for chunk in chunks.by_ref() {
            // The capitals and non-ASCII bytes of eight bytes at once, then only those.
            let x = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
            let mut m = capitals(x) | (x & 0x8080_8080_8080_8080);
            while m != 0 {
                at(i + (m.trailing_zeros() / 8) as usize, s);
                m &= m - 1;
            }
            i += 8;
        }
        for k in i..bytes.len() {
            at(k, s);
        }
    }

    /// A capitalised word starts at `at`: look its key up, and check the candidates.
    fn at_word(
        &self,
        text: &str,
        at: usize,
        s: &mut Scratch,
        emit: &mut impl FnMut(u32, usize, usize),
    ) {
        if joined_to_previous(text, at, &mut s.fold) {
            return;
        }
        // The common case first: ASCII letters, then neither a letter nor an apostrophe. Its
        // key is read from the text as it is; the word is folded only if the key is known.
        let bytes = text.as_bytes();
        let end = at
            + bytes[at..]
                .iter()
                .take_while(|b| b.is_ascii_alphabetic())
                .count();
        let plain = bytes
            .get(end)
            .is_none_or(|&b| b < 0x80 && !b.is_ascii_alphanumeric())
            && !matches!(bytes.get(end), Some(b'\'' | b'`'))
            && !is_abd_form(&bytes[at..end]);
        if plain {
            s.ana.analyze(&bytes[at..end]);
            let none = !s.ana.ok || self.by_key.get(s.ana.key).is_empty();
            if none && (self.pairs.is_empty() || !next_is_capital(text, end)) {
                return;
            }
        }
        let Some(tok) = token_at(text, at, true, &mut s.fold) else {
            return;
        };
        if !tok.latin || tok.article {
            return;
        }
        if !plain {
            s.ana.analyze(abd_form(&s.fold).as_bytes());
        }
        let candidates = self.by_key.get(s.ana.key);
        if s.ana.ok && !candidates.is_empty() {
            let fold = std::mem::take(&mut s.fold);
            for &v in candidates {
                if let Some(end) = self.match_at(text, tok, &fold, v, s) {
                    let start = article_before(text, tok.start, &mut s.next);
                    emit(v.name, start.unwrap_or(tok.start), end);
                }
            }
            s.fold = fold;
        }
        if !self.pairs.is_empty() && !tok.foreign && !tok.possessive {
            self.pair_at(text, tok, s, emit);
        }
    }

    /// Whether variant `v` matches from the word `first` (folded `fold`, analysed in
    /// `s.ana`): the end of the hit.
    fn match_at(
        &self,
        text: &str,
        first: Tok,
        fold: &str,
        v: Variant,
        s: &mut Scratch,
    ) -> Option<usize> {
        let tokens = self.tokens_of(v);
        let (head, rest) = tokens.split_first()?;
        if !token_ok(head, &s.ana) {
            return None;
        }
        let name = self.compiled.get(v.name as usize)?;
        let mut exact = name.exact.len() == tokens.len() && name.exact.first()? == fold;
        let mut foreign = first.foreign;
        let mut spelled = std::mem::take(&mut s.spelled);
        spelled.clear();
        spelled.push_str(fold);
        let end = self.match_rest(
            text,
            first,
            rest,
            name,
            &mut spelled,
            s,
            &mut exact,
            &mut foreign,
        );
        let ok = end.is_some_and(|_| {
            exact
                || !(!name.loose
                    || !first.cap
                    || (first.allcaps && fold.len() <= 5)
                    || (rest.is_empty() && self.guards.is_common(fold))
                    || foreign
                    || self.other_place(name, &spelled))
        });
        s.spelled = spelled;
        end.filter(|_| ok)
    }

    /// The words of a multi-word variant after its first: the end of the last one.
    #[allow(clippy::too_many_arguments)]
    fn match_rest(
        &self,
        text: &str,
        first: Tok,
        rest: &[Analysis],
        name: &Compiled,
        spelled: &mut String,
        s: &mut Scratch,
        exact: &mut bool,
        foreign: &mut bool,
    ) -> Option<usize> {
        let mut last = first;
        for (k, w) in rest.iter().enumerate() {
            let tok = loop {
                if last.possessive {
                    return None;
                }
                let ns = next_word_start(text, last.next)?;
                if !gap(text, last.end, ns).0 {
                    return None;
                }
                let t = token_at(text, ns, true, &mut s.next)?;
                spelled.push(' ');
                spelled.push_str(&s.next);
                last = t;
                if !t.article {
                    break t;
                }
            };
            if !tok.latin {
                return None;
            }
            s.next_ana.analyze(abd_form(&s.next).as_bytes());
            if !token_ok(w, &s.next_ana) {
                return None;
            }
            *exact &= name.exact.get(k + 1) == Some(&s.next);
            *foreign |= tok.foreign;
        }
        Some(last.end)
    }

    fn tokens_of(&self, v: Variant) -> &[Analysis] {
        let (start, len) = (v.start as usize, v.len as usize);
        self.tokens.get(start..start + len).unwrap_or_default()
    }

    /// Whether the text's spelling (its words, articles included) names another place that the
    /// name as written does not name.
    fn other_place(&self, name: &Compiled, spelled: &str) -> bool {
        let mut ids = self.guards.places(squash_hash([spelled]));
        if ids.is_empty() {
            let bare = (spelled.split(' '))
                .filter(|w| !crate::rules::translit::letters::is_article(w.trim_end_matches('!')));
            ids = self.guards.places(squash_hash(bare));
        }
        !ids.is_empty() && !ids.iter().any(|id| name.own.binary_search(id).is_ok())
    }

    /// Two capitalised words read as one one-word name (Kafr Nabl = Kafranbel).
    fn pair_at(
        &self,
        text: &str,
        a: Tok,
        s: &mut Scratch,
        emit: &mut impl FnMut(u32, usize, usize),
    ) {
        let Some(ns) = next_word_start(text, a.next) else {
            return;
        };
        let capital = text.get(ns..).and_then(|r| r.chars().next());
        if !capital.is_some_and(char::is_uppercase) || !gap(text, a.end, ns).0 {
            return;
        }
        let Some(b) = token_at(text, ns, true, &mut s.next) else {
            return;
        };
        if !(b.latin && b.cap) || b.article || b.foreign {
            return;
        }
        let mut fused = std::mem::take(&mut s.pair);
        fused.clear();
        fused.push_str(s.fold.trim_end_matches('!'));
        let first_len = fused.len();
        fused.push_str(&s.next);
        s.next_ana.analyze(fused.as_bytes());
        for &v in self.pairs.get(s.next_ana.key) {
            let Some(name) = self.compiled.get(v.name as usize) else {
                continue;
            };
            if !self
                .tokens_of(v)
                .first()
                .is_some_and(|t| token_ok(t, &s.next_ana))
                || !name.loose
                || (a.allcaps && first_len <= 5)
                || self.other_place(name, &format!("{} {}", &fused[..first_len], s.next))
            {
                continue;
            }
            emit(v.name, a.start, b.end);
        }
        s.pair = fused;
    }
}
