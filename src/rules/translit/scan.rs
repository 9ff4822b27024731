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

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::rules::gazetteer::GazetteerError;
use crate::rules::translit::check::token_ok;
use crate::rules::translit::guards::{self, Guards, squash_hash};
use crate::rules::translit::key::{Analysis, abd_form, is_shown_article};
use crate::rules::translit::text::{
    Tok, gap, is_apostrophe, is_sep, is_word_char, next_word_start, token_at, word_before, words,
};
use crate::rules::translit::variants::{consonants, variants};

/// A `~` name of the rules: as written (without the `~`), and the term its hits count for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LooseName {
    pub text: String,
    pub term: u32,
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

#[derive(Clone, Debug)]
struct Variant {
    name: u32,
    tokens: Box<[Analysis]>,
}

/// A multiplicative hash for keys that are already well spread u64s.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, k: u64) {
        self.0 = k.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Key → variant ids, behind a bit filter that most keys of a text fail at once.
#[derive(Clone, Debug, Default)]
struct KeyMap {
    filter: Vec<u64>,
    map: HashMap<u64, Box<[u32]>, BuildHasherDefault<KeyHasher>>,
}

const FILTER_BITS: u32 = 16;

fn filter_bit(key: u64) -> usize {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - FILTER_BITS)) as usize
}

impl KeyMap {
    fn build(entries: Vec<(u64, u32)>) -> KeyMap {
        let mut lists: HashMap<u64, Vec<u32>> = HashMap::new();
        for (k, v) in entries {
            lists.entry(k).or_default().push(v);
        }
        let mut filter = vec![0u64; (1 << FILTER_BITS) / 64];
        let mut map = HashMap::default();
        for (k, v) in lists {
            let bit = filter_bit(k);
            filter[bit / 64] |= 1 << (bit % 64);
            map.insert(k, v.into_boxed_slice());
        }
        KeyMap { filter, map }
    }

    fn get(&self, key: u64) -> &[u32] {
        let bit = filter_bit(key);
        if self
            .filter
            .get(bit / 64)
            .is_none_or(|w| w >> (bit % 64) & 1 == 0)
        {
            return &[];
        }
        self.map.get(&key).map_or(&[], |v| v)
    }

    fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Every `~` name of the rules, compiled.
#[derive(Clone, Debug)]
pub(crate) struct LooseTable {
    pub names: Vec<LooseName>,
    compiled: Vec<Compiled>,
    variants: Vec<Variant>,
    by_key: KeyMap,
    pairs: KeyMap,
    guards: &'static Guards,
}

/// Buffers of one pass, reused from word to word.
#[derive(Default)]
struct Scratch {
    fold: String,
    next: String,
    ana: Analysis,
    next_ana: Analysis,
    syms: Vec<u8>,
}

impl LooseTable {
    /// Compile the names; the guards' data (from the gazetteer) is loaded here.
    pub fn build(names: Vec<LooseName>) -> Result<LooseTable, GazetteerError> {
        let guards = guards::get()?;
        let mut compiled = Vec::with_capacity(names.len());
        let mut all = Vec::new();
        let mut keys = Vec::new();
        let mut pair_keys = Vec::new();
        let mut syms = Vec::new();
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
                let tokens: Box<[Analysis]> = seq
                    .iter()
                    .map(|t| {
                        let mut a = Analysis::default();
                        a.analyze(t.as_bytes(), &mut syms);
                        a
                    })
                    .collect();
                let id = all.len() as u32;
                let first = &tokens[0];
                keys.push((first.key, id));
                if tokens.len() == 1 && first.cons.len() >= 4 && !first.any_mark {
                    pair_keys.push((first.key, id));
                }
                all.push(Variant {
                    name: n as u32,
                    tokens,
                });
            }
        }
        Ok(LooseTable {
            names,
            compiled,
            variants: all,
            by_key: KeyMap::build(keys),
            pairs: KeyMap::build(pair_keys),
            guards,
        })
    }

    /// Every hit of every name in `text`: `emit(term, start, end)`, byte offsets of `text`.
    pub fn scan(&self, text: &str, emit: &mut impl FnMut(u32, usize, usize)) {
        let mut s = Scratch::default();
        let bytes = text.as_bytes();
        let mut prev_word = false;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b < 0x80 {
                let w = b.is_ascii_alphanumeric();
                if w && !prev_word && b.is_ascii_uppercase() {
                    self.at_word(text, i, &mut s, emit);
                }
                prev_word = w;
                i += 1;
                continue;
            }
            let Some(c) = text.get(i..).and_then(|r| r.chars().next()) else {
                break;
            };
            let w = is_word_char(c);
            if w && !prev_word && c.is_uppercase() {
                self.at_word(text, i, &mut s, emit);
            }
            prev_word = w;
            i += c.len_utf8();
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
        if joined_to_previous(text, at) {
            return;
        }
        let Some(tok) = token_at(text, at, true, &mut s.fold) else {
            return;
        };
        if !tok.latin || tok.article {
            return;
        }
        s.ana.analyze(abd_form(&s.fold).as_bytes(), &mut s.syms);
        let candidates = self.by_key.get(s.ana.key);
        if !candidates.is_empty() {
            let fold = std::mem::take(&mut s.fold);
            for &v in candidates {
                if let Some(v) = self.variants.get(v as usize)
                    && let Some(end) = self.match_at(text, tok, &fold, v, s)
                {
                    let start = article_before(text, tok.start).unwrap_or(tok.start);
                    emit(self.names[v.name as usize].term, start, end);
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
        v: &Variant,
        s: &mut Scratch,
    ) -> Option<usize> {
        let (head, rest) = v.tokens.split_first()?;
        if !token_ok(head, &s.ana) {
            return None;
        }
        let name = self.compiled.get(v.name as usize)?;
        let mut exact = name.exact.len() == v.tokens.len() && name.exact.first()? == fold;
        let mut foreign = first.foreign;
        let mut spelled: Vec<String> = vec![fold.to_owned()];
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
                spelled.push(s.next.clone());
                last = t;
                if !t.article {
                    break t;
                }
            };
            if !tok.latin {
                return None;
            }
            s.next_ana
                .analyze(abd_form(&s.next).as_bytes(), &mut s.syms);
            if !token_ok(w, &s.next_ana) {
                return None;
            }
            exact &= name.exact.get(k + 1) == Some(&s.next);
            foreign |= tok.foreign;
        }
        if !exact {
            let one_word = rest.is_empty();
            if !name.loose
                || !first.cap
                || (first.allcaps && fold.len() <= 5)
                || (one_word && self.guards.is_common(fold))
                || foreign
                || self.other_place(name, &spelled)
            {
                return None;
            }
        }
        Some(last.end)
    }

    /// Whether the text's spelling (its words, articles included) names another place that the
    /// name as written does not name.
    fn other_place(&self, name: &Compiled, spelled: &[String]) -> bool {
        let mut ids = self
            .guards
            .places(squash_hash(spelled.iter().map(String::as_str)));
        if ids.is_empty() {
            let bare = spelled
                .iter()
                .map(String::as_str)
                .filter(|w| !crate::rules::translit::key::is_article(w.trim_end_matches('!')));
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
        if !gap(text, a.end, ns).0 {
            return;
        }
        let mut fused = s.fold.trim_end_matches('!').to_owned();
        let first_len = fused.len();
        let Some(b) = token_at(text, ns, true, &mut s.next) else {
            return;
        };
        if !(b.latin && b.cap) || b.article || b.foreign {
            return;
        }
        fused.push_str(&s.next);
        s.next_ana.analyze(fused.as_bytes(), &mut s.syms);
        for &v in self.pairs.get(s.next_ana.key) {
            let Some(v) = self.variants.get(v as usize) else {
                continue;
            };
            let Some(name) = self.compiled.get(v.name as usize) else {
                continue;
            };
            if !token_ok(&v.tokens[0], &s.next_ana)
                || !name.loose
                || (a.allcaps && first_len <= 5)
                || self.other_place(name, &[fused[..first_len].to_owned(), s.next.clone()])
            {
                continue;
            }
            emit(self.names[v.name as usize].term, a.start, b.end);
        }
    }
}

/// Whether the word at `at` continues the word before it across an apostrophe («Hay'At»,
/// «O'Brien»): it is then part of that word, not a word of its own (unless the word before is
/// an elided prefix: «d'Alep»).
fn joined_to_previous(text: &str, at: usize) -> bool {
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
    let mut fold = String::new();
    token_at(text, start, true, &mut fold).is_some()
}

/// The start of an article that a hit takes in: al/el/il/ul before the name, or any form
/// joined by a hyphen («ash-Sham»), 1 to 3 separators away.
fn article_before(text: &str, start: usize) -> Option<usize> {
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
    if joined_to_previous(text, ps) {
        return None;
    }
    let mut fold = String::new();
    let t = token_at(text, ps, true, &mut fold)?;
    let (ok, hyphen) = gap(text, t.end, start);
    (t.end == pe && t.article && ok && (is_shown_article(&fold) || hyphen)).then_some(ps)
}
