//! Rules stage 3a — scanning: fold each field of a document and find every term in it with the
//! shared automaton (an Arabic term also after the prefixes joined to its word), and every
//! `~` name with the loose pass (`translit`), into a sorted list of term hits indexed by term.
//!
//! Invariants: a term hit starts at a word start and (for words and phrases) ends at a word end,
//! on boundaries between the outputs of different original chars, so that it maps back to whole
//! original chars; an acronym term's original text has no lower-case letter; `Scratch::hits` is
//! sorted by (term, field, start, end) and deduplicated once `index` is built. The buffers of a
//! document live in a per-thread `Scratch` that the next document reuses, so matching does not
//! allocate once they are warm (only the hits handed out do).

use aho_corasick::automaton::Automaton;
use aho_corasick::{Anchored, BuildError, MatchKind, StartKind, dfa, nfa};

use crate::rules::code::TermId;
use crate::rules::context::is_street;
use crate::rules::fold::Folded;
use crate::rules::sense::assumed::Marks;
use crate::rules::sense::local::reading;
use crate::rules::translit::{
    self,
    arabic::{self, Chain},
};
use crate::rules::{Document, Matcher};

/// A field being scanned: its number, its original text, its folded text and the markers of
/// assumed names in it (found on the first place name read in context).
type Field<'a> = (u8, &'a str, &'a Folded, &'a std::cell::OnceCell<Marks>);

/// A term found in a field, in folded offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TermHit {
    pub term: TermId,
    pub field: u8,
    pub start: u32,
    pub end: u32,
}

/// Why a place name found in a text was set aside (shown by `vigie rules test`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetAsideReason {
    /// Written without a capital, in a script that has them: a word, not the place.
    LowerCase,
    /// Part of a longer name of another place, written in full (the longer name, folded).
    Longer(String),
    /// A street or a square named after the place.
    Street,
    /// What the article says about the name: a person, an institution, a club, a government
    /// speaking, or another place of that name (the evidence, in words).
    Context(String),
}

/// Where a scan puts what it finds: the term hits and, when a caller wants to explain, the
/// place-name hits that the place rules set aside (ignored by default, at no cost).
pub(crate) trait Sink {
    fn hit(&mut self, h: TermHit);

    fn set_aside(&mut self, _start: usize, _end: usize, _why: SetAsideReason) {}
}

impl Sink for Vec<TermHit> {
    fn hit(&mut self, h: TermHit) {
        self.push(h);
    }
}

/// Buffers for one document, kept per thread between documents so that matching does not
/// allocate once they are large enough.
#[derive(Default)]
pub(crate) struct Scratch {
    pub folded: [Folded; 3],
    /// Sorted by (term, field, start, end), deduplicated.
    pub hits: Vec<TermHit>,
    /// Where each term's hits are in `hits`.
    pub index: TermIndex,
    /// Counted word starts of each field, computed on first use by NEAR (`words_ready`).
    pub words: [Vec<u32>; 3],
    pub words_ready: [bool; 3],
    pub candidates: Vec<u32>,
    pub found: Vec<usize>,
    /// Original range of each hit once computed (`u32::MAX` start: not yet).
    pub ranges: Vec<(u32, u32)>,
    pub near_a: Vec<(u8, u32, usize)>,
    pub near_b: Vec<(u8, u32, usize)>,
    /// Buffers of the `~` names' pass.
    pub loose: translit::Scratch,
}

/// Documents larger than this do not leave their buffers in the per-thread scratch.
const SCRATCH_KEEP: usize = 1 << 20;

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// Everything known about one document while it is evaluated.
pub(crate) struct Ctx<'d> {
    pub texts: [&'d str; 3],
    pub s: Scratch,
}

impl<'d> Ctx<'d> {
    /// Give the buffers back to this thread's scratch (unless the document was huge).
    pub fn release(self) {
        if self.texts.iter().map(|t| t.len()).sum::<usize>() <= SCRATCH_KEEP {
            SCRATCH.with(|c| *c.borrow_mut() = self.s);
        }
    }

    /// Whether term `t` was found in the document.
    pub fn found(&self, t: TermId) -> bool {
        self.s.index.contains(t)
    }

    /// Indices into `hits` of the hits of term `t`.
    pub fn term_hits(&self, t: TermId) -> std::ops::Range<usize> {
        self.s.index.get(t)
    }

    pub fn hit(&self, i: usize) -> TermHit {
        self.s.hits[i]
    }

    /// Byte range in the original field text of hit `i`.
    pub fn original_range(&mut self, i: usize) -> std::ops::Range<usize> {
        match self.s.ranges.get(i) {
            Some(&(start, end)) if start != u32::MAX => start as usize..end as usize,
            _ => {
                let r = self.range_of(i);
                if let Some(slot) = self.s.ranges.get_mut(i) {
                    *slot = (r.start as u32, r.end as u32);
                }
                r
            }
        }
    }

    /// The original text of hit `i`: borrowed from the document, and not cached, for readers
    /// that hold `ctx` shared.
    pub fn text(&self, i: usize) -> &'d str {
        let field = self.s.hits[i].field as usize;
        self.texts[field].get(self.range_of(i)).unwrap_or_default()
    }

    /// Byte range in the original field text of hit `i`, mapped from its folded offsets.
    fn range_of(&self, i: usize) -> std::ops::Range<usize> {
        let h = self.s.hits[i];
        let folded = &self.s.folded[h.field as usize];
        folded.original_range(h.start as usize, h.end as usize)
    }

    /// Index of the counted word at or after folded offset `pos` in `field`.
    pub fn word_index(&mut self, field: usize, pos: u32) -> u32 {
        let s = &mut self.s;
        if !s.words_ready[field] {
            s.folded[field].counted_word_starts_into(&mut s.words[field]);
            s.words_ready[field] = true;
        }
        s.words[field].partition_point(|&w| w < pos) as u32
    }
}

/// Term → range of its hits in the sorted hit list: a bit set over all term ids answers "was
/// this term found?" with one load, and an open-addressing table gives the range. A leaf with
/// many terms (an entity's names) costs little to evaluate.
#[derive(Default)]
pub(crate) struct TermIndex {
    /// (term, start, end); `term == EMPTY` marks a free slot. Length is a power of two.
    slots: Vec<(TermId, u32, u32)>,
    /// `64 - log2(slots.len())`: Fibonacci hashing keeps the top bits.
    shift: u32,
    /// One bit per term id, set for the terms of the current document only.
    present: Vec<u64>,
    /// The terms whose bit is set, to clear them for the next document.
    set: Vec<TermId>,
}

/// No term has this id: there are fewer than `u32::MAX` terms.
const EMPTY: TermId = TermId::MAX;

impl TermIndex {
    /// Index `hits` (sorted by term), reusing the table's memory.
    pub fn rebuild(&mut self, hits: &[TermHit]) {
        for t in self.set.drain(..) {
            if let Some(word) = self.present.get_mut(t as usize / 64) {
                *word = 0;
            }
        }
        let distinct = hits.windows(2).filter(|w| w[0].term != w[1].term).count() + 1;
        let len = (distinct * 4).next_power_of_two().max(16);
        self.shift = 64 - len.trailing_zeros();
        self.slots.clear();
        self.slots.resize(len, (EMPTY, 0, 0));
        let mut start = 0;
        while start < hits.len() {
            let t = hits[start].term;
            let n = hits[start..].partition_point(|h| h.term == t);
            let mut k = self.slot(t);
            while self.slots[k].0 != EMPTY {
                k = (k + 1) & (len - 1);
            }
            self.slots[k] = (t, start as u32, (start + n) as u32);
            let word = t as usize / 64;
            if self.present.len() <= word {
                self.present.resize(word + 1, 0);
            }
            self.present[word] |= 1 << (t % 64);
            self.set.push(t);
            start += n;
        }
    }

    fn slot(&self, t: TermId) -> usize {
        (u64::from(t).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// Whether term `t` was found.
    pub fn contains(&self, t: TermId) -> bool {
        self.present
            .get(t as usize / 64)
            .is_some_and(|w| w >> (t % 64) & 1 == 1)
    }

    fn get(&self, t: TermId) -> std::ops::Range<usize> {
        if !self.contains(t) {
            return 0..0;
        }
        let mask = self.slots.len().wrapping_sub(1);
        let mut k = self.slot(t);
        while let Some(&(term, start, end)) = self.slots.get(k) {
            if term == t {
                return start as usize..end as usize;
            }
            if term == EMPTY {
                break;
            }
            k = (k + 1) & mask;
        }
        0..0
    }
}

impl Matcher {
    /// Fold and scan every field of `doc`: the term hits, sorted and indexed.
    pub(crate) fn scan_document<'d>(&self, doc: &Document<'d>) -> Ctx<'d> {
        let mut ctx = Ctx {
            texts: [doc.title, doc.summary, doc.content],
            s: SCRATCH.with(|c| c.take()),
        };
        let s = &mut ctx.s;
        s.hits.clear();
        s.words_ready = [false; 3];
        for (i, text) in ctx.texts.iter().enumerate() {
            s.folded[i].refold(text);
            self.scan(i as u8, text, &s.folded[i], &mut s.hits);
            if let Some(loose) = &self.loose {
                let (folded, hits) = (&s.folded[i], &mut s.hits);
                loose.scan(text, &mut s.loose, &mut |name, start, end| {
                    let Some(name) = loose.names.get(name as usize) else {
                        return;
                    };
                    let (start, end) = (folded.fold_offset(start), folded.fold_offset(end));
                    // The name as written: the automaton found it already.
                    if folded.text.get(start..end) != Some(name.pattern.as_str()) {
                        hits.push(TermHit {
                            term: name.term,
                            field: i as u8,
                            start: start as u32,
                            end: end as u32,
                        });
                    }
                });
            }
        }
        s.hits.sort_unstable();
        s.hits.dedup();
        s.index.rebuild(&s.hits);
        s.ranges.clear();
        s.ranges.resize(s.hits.len(), (u32::MAX, 0));
        ctx
    }

    /// Find the terms in one folded field and append them to `out`.
    pub(crate) fn scan<S: Sink>(&self, field: u8, original: &str, folded: &Folded, out: &mut S) {
        let marks = std::cell::OnceCell::new();
        let at = (field, original, folded, &marks);
        match &self.scanner {
            Some(Scanner::Dfa(a)) => self.scan_with(a, at, out),
            Some(Scanner::Nfa(a)) => self.scan_with(a, at, out),
            None => {}
        }
    }

    /// The scan proper: every pattern ending at every byte, as an overlapping search
    /// reports them, but walked here in one loop over the automaton's transitions. Common
    /// short words among the terms («en», «la») end inside most words; each such report
    /// costs only a look at the byte before it, where the search iterator would return,
    /// resume and rebuild its state for each (most of the scan's time, measured).
    fn scan_with<A: Automaton, S: Sink>(&self, ac: &A, field: Field<'_>, out: &mut S) {
        let (_, _, folded, _) = field;
        let Ok(mut sid) = ac.start_state(Anchored::No) else {
            return;
        };
        for (i, &b) in folded.text.as_bytes().iter().enumerate() {
            sid = ac.next_state(Anchored::No, sid, b);
            if !ac.is_special(sid) {
                continue;
            }
            if ac.is_dead(sid) {
                return;
            }
            let end = i + 1;
            for k in 0..ac.match_len(sid) {
                let pattern = ac.match_pattern(sid, k);
                let Some(start) = end.checked_sub(ac.pattern_len(pattern)) else {
                    continue;
                };
                let Some(chain) = self.start_ok(pattern.as_usize(), start, folded) else {
                    continue;
                };
                let at = (start, end, chain);
                self.on_match(pattern.as_usize(), at, field, out);
            }
        }
    }

    /// Whether pattern `pattern` found at folded `start` may start a term there: on a word
    /// boundary, between two original chars (`Some(None)`); or, for an Arabic pattern, inside
    /// a word after joined prefixes (`Some(Some(chain))`, each term checks it).
    fn start_ok(&self, pattern: usize, start: usize, folded: &Folded) -> Option<Option<Chain>> {
        if !folded.is_source_boundary(start) {
            return None;
        }
        if !folded.word_char_before(start) {
            return Some(None);
        }
        if !self.arabic_patterns.get(pattern).copied().unwrap_or(false) {
            return None;
        }
        arabic::chain(&folded.text, start).map(Some)
    }

    /// What [`Matcher::scan`] must agree with: the search iterator of a general-purpose
    /// automaton over the same patterns, the hits that do not start a word dropped after.
    #[cfg(test)]
    pub(crate) fn scan_reference(
        &self,
        patterns: &[String],
        field: u8,
        original: &str,
        folded: &Folded,
        out: &mut Vec<TermHit>,
    ) {
        let ac = aho_corasick::AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(patterns)
            .expect("the patterns built once already");
        let marks = std::cell::OnceCell::new();
        for m in ac.find_overlapping_iter(folded.text.as_str()) {
            let (start, end) = (m.start(), m.end());
            let Some(chain) = self.start_ok(m.pattern().as_usize(), start, folded) else {
                continue;
            };
            let at = (start, end, chain);
            self.on_match(
                m.pattern().as_usize(),
                at,
                (field, original, folded, &marks),
                out,
            );
        }
    }

    /// [`Matcher::scan`], for the tests.
    #[cfg(test)]
    pub(crate) fn scan_field(
        &self,
        field: u8,
        original: &str,
        folded: &Folded,
        out: &mut Vec<TermHit>,
    ) {
        self.scan(field, original, folded, out);
    }

    /// Pattern `pattern` found at folded [start, end), `start` a valid start (after `chain`, the
    /// joined prefixes of an Arabic word): record the terms that use it and whose conditions
    /// hold.
    fn on_match<S: Sink>(
        &self,
        pattern: usize,
        (stem, end, chain): (usize, usize, Option<Chain>),
        (field, original, folded, marks): Field<'_>,
        out: &mut S,
    ) {
        let Some(terms) = self.pattern_terms.get(pattern) else {
            return;
        };
        for &t in terms.iter() {
            let term = &self.terms[t as usize];
            // An Arabic term's hit starts with its word's joined prefixes; the name it stands
            // for starts at the stem, or at the article written before it.
            let (start, name_start) = match (term.arabic.arabic, chain) {
                (false, None) => (stem, stem),
                (false, Some(_)) => continue,
                (true, chain) => {
                    let chain = chain.unwrap_or(Chain::empty(stem));
                    if !chain.allows(term.arabic) {
                        continue;
                    }
                    let article = term.arabic.article && folded.text[..stem].ends_with("ال");
                    let name_start = if article { stem - "ال".len() } else { stem };
                    (chain.word_start, name_start)
                }
            };
            let hit_end = if term.prefix {
                folded.word_end(end)
            } else if folded.word_char_at(end) {
                continue;
            } else {
                end
            };
            if !folded.is_source_boundary(hit_end) {
                continue;
            }
            if term.caps {
                let r = folded.original_range(start, end);
                if original
                    .get(r)
                    .is_none_or(|s| s.chars().any(char::is_lowercase))
                {
                    continue;
                }
            }
            if term.capitalised {
                let r = folded.original_range(start, end);
                let written = original.get(r).unwrap_or_default();
                // Lower-case letters and no capital: a common word, not the place.
                if written.chars().any(char::is_lowercase)
                    && !written.chars().any(char::is_uppercase)
                {
                    out.set_aside(start, hit_end, SetAsideReason::LowerCase);
                    continue;
                }
            }
            if term.longer != 0
                && let Some(longer) = self.inside_longer(term.longer, name_start, end, folded)
            {
                out.set_aside(start, hit_end, SetAsideReason::Longer(longer.to_owned()));
                continue;
            }
            if term.capitalised && is_street(original, folded, start, hit_end) {
                out.set_aside(start, hit_end, SetAsideReason::Street);
                continue;
            }
            if let Some(sense) = (term.sense as usize)
                .checked_sub(1)
                .and_then(|k| self.senses.get(k))
                && let Some(why) = reading(original, folded, start, hit_end, sense, marks)
            {
                out.set_aside(start, hit_end, SetAsideReason::Context(why));
                continue;
            }
            out.hit(TermHit {
                term: t,
                field,
                start: start as u32,
                end: hit_end as u32,
            });
        }
    }

    /// Whether the hit at folded [start, end) is part of a longer name of another place that
    /// the text writes in full: «America» in «South America», «Mexico» in «New Mexico».
    fn inside_longer(
        &self,
        longer: u32,
        start: usize,
        end: usize,
        folded: &Folded,
    ) -> Option<&str> {
        let names = self.longer.get((longer as usize).checked_sub(1)?)?;
        let (_, name) = names.iter().find(|(offset, name)| {
            let Some(from) = start.checked_sub(*offset as usize) else {
                return false;
            };
            let to = from + name.len();
            to >= end
                && folded.text.get(from..to) == Some(&**name)
                && !folded.word_char_before(from)
                && !folded.word_char_at(to)
        })?;
        Some(name)
    }
}

/// Largest number of patterns compiled into a DFA. A DFA takes a transition in fewer
/// instructions than the contiguous NFA but takes about 0.5 KB a pattern, the NFA about a
/// tenth of that: past a few hundred patterns the DFA no longer stays in the processor's
/// caches next to the rest of a poll's work, and each byte scanned waits on memory. With
/// 1,000 watches (1,194 patterns), the NFA made the whole first poll of `bench/poll` 2 %
/// cheaper in CPU (perf: the scan 7.4 % of the samples, against 9.6 % with the DFA).
const DFA_MAX_PATTERNS: usize = 128;

/// The automaton of every pattern, for overlapping unanchored scans.
#[derive(Clone, Debug)]
pub(crate) enum Scanner {
    Dfa(dfa::DFA),
    Nfa(nfa::contiguous::NFA),
}

pub(crate) fn build_scanner(patterns: &[String]) -> Result<Scanner, BuildError> {
    if patterns.len() <= DFA_MAX_PATTERNS {
        dfa::Builder::new()
            .match_kind(MatchKind::Standard)
            .start_kind(StartKind::Unanchored)
            .prefilter(false)
            .build(patterns)
            .map(Scanner::Dfa)
    } else {
        build_nfa(patterns)
    }
}

pub(crate) fn build_nfa(patterns: &[String]) -> Result<Scanner, BuildError> {
    nfa::contiguous::Builder::new()
        .match_kind(MatchKind::Standard)
        .prefilter(false)
        .build(patterns)
        .map(Scanner::Nfa)
}
