//! Rules stage 3 — evaluation: one document against a compiled [`Matcher`].
//!
//! Each field is folded once and scanned once by the shared automaton (overlapping matches);
//! each match is kept only on word boundaries and original-char boundaries, and only if the
//! acronym rule holds. Then only the watches that got a hit on one of their terms, plus those
//! that hold without any hit, are evaluated. Cost grows with the text and the number of hits,
//! not with the number of watches.
//!
//! Invariants: hit offsets handed out are byte offsets into the original field text, on char
//! boundaries; matches come out in watch order with hits sorted by (field, start) and
//! deduplicated.

use crate::fold::Folded;
use crate::rules::compile::{Code, FieldMask, Matcher, Node, Span, TermId};
use crate::rules::{Document, Field, Hit, WatchMatch};


/// A term found in a field, in folded offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct TermHit {
    term: TermId,
    field: u8,
    start: u32,
    end: u32,
}

/// Buffers for one document, kept per thread between documents so that matching does not
/// allocate once they are large enough.
#[derive(Default)]
struct Scratch {
    folded: [Folded; 3],
    /// Sorted by (term, field, start, end), deduplicated.
    hits: Vec<TermHit>,
    /// Where each term's hits are in `hits`.
    index: TermIndex,
    /// Counted word starts of each field, computed on first use by NEAR (`words_ready`).
    words: [Vec<u32>; 3],
    words_ready: [bool; 3],
    candidates: Vec<u32>,
    found: Vec<usize>,
    near_a: Vec<(u8, u32, usize)>,
    near_b: Vec<(u8, u32, usize)>,
}

/// Texts larger than this do not keep their buffers in the per-thread scratch.
const SCRATCH_KEEP: usize = 1 << 20;

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// Everything known about one document while it is evaluated.
struct Ctx<'d> {
    texts: [&'d str; 3],
    s: Scratch,
}

impl Ctx<'_> {
    /// Indices into `hits` of the hits of term `t`.
    fn term_hits(&self, t: TermId) -> std::ops::Range<usize> {
        self.s.index.get(t)
    }

    fn hit(&self, i: usize) -> TermHit {
        self.s.hits[i]
    }

    /// Index of the counted word at or after folded offset `pos` in `field`.
    fn word_index(&mut self, field: usize, pos: u32) -> u32 {
        let s = &mut self.s;
        if !s.words_ready[field] {
            s.folded[field].counted_word_starts_into(&mut s.words[field]);
            s.words_ready[field] = true;
        }
        s.words[field].partition_point(|&w| w < pos) as u32
    }
}

/// Open-addressing table: term → range of its hits in the sorted hit list. O(1) lookups, so a
/// leaf with many terms (an entity's names) costs little to evaluate.
#[derive(Default)]
struct TermIndex {
    /// (term, start, end); `term == EMPTY` marks a free slot. Length is a power of two.
    slots: Vec<(TermId, u32, u32)>,
}

/// No term has this id: there are fewer than `u32::MAX` terms.
const EMPTY: TermId = TermId::MAX;

impl TermIndex {
    /// Index `hits` (sorted by term), reusing the table's memory.
    fn rebuild(&mut self, hits: &[TermHit]) {
        let distinct = hits.windows(2).filter(|w| w[0].term != w[1].term).count() + 1;
        self.slots.clear();
        self.slots
            .resize((distinct * 2).next_power_of_two().max(8), (EMPTY, 0, 0));
        let index = self;
        let mut start = 0;
        while start < hits.len() {
            let t = hits[start].term;
            let n = hits[start..].partition_point(|h| h.term == t);
            let mut k = index.slot(t);
            while index.slots[k].0 != EMPTY {
                k = (k + 1) & (index.slots.len() - 1);
            }
            index.slots[k] = (t, start as u32, (start + n) as u32);
            start += n;
        }
    }

    fn slot(&self, t: TermId) -> usize {
        let h = u64::from(t).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
        h as usize & (self.slots.len().wrapping_sub(1))
    }

    fn get(&self, t: TermId) -> std::ops::Range<usize> {
        if self.slots.is_empty() {
            return 0..0;
        }
        let mut k = self.slot(t);
        loop {
            let (term, start, end) = self.slots[k];
            if term == t {
                return start as usize..end as usize;
            }
            if term == EMPTY {
                return 0..0;
            }
            k = (k + 1) & (self.slots.len() - 1);
        }
    }
}

impl Matcher {
    /// Every watch the document matches, in watch order.
    pub fn match_document(&self, doc: &Document) -> Vec<WatchMatch> {
        self.match_watches(doc, false)
    }

    /// Like [`Matcher::match_document`], but evaluating every watch: the reference that the
    /// candidate selection must agree with.
    #[cfg(test)]
    pub(crate) fn match_document_naive(&self, doc: &Document) -> Vec<WatchMatch> {
        self.match_watches(doc, true)
    }

    fn match_watches(&self, doc: &Document, every_watch: bool) -> Vec<WatchMatch> {
        let mut ctx = Ctx {
            texts: [doc.title, doc.summary, doc.content],
            s: SCRATCH.with(|c| c.take()),
        };
        ctx.s.hits.clear();
        ctx.s.words_ready = [false; 3];
        for i in 0..3 {
            ctx.s.folded[i].refold(ctx.texts[i]);
            self.scan(i as u8, ctx.texts[i], &ctx.s.folded[i], &mut ctx.s.hits);
        }
        ctx.s.hits.sort_unstable();
        ctx.s.hits.dedup();
        ctx.s.index.rebuild(&ctx.s.hits);

        let mut candidates = std::mem::take(&mut ctx.s.candidates);
        candidates.clear();
        if every_watch {
            candidates.extend(0..self.roots.len() as u32);
        } else {
            candidates.extend_from_slice(&self.always);
            let mut last = None;
            for h in &ctx.s.hits {
                if last != Some(h.term) {
                    last = Some(h.term);
                    candidates.extend_from_slice(&self.term_watches[h.term as usize]);
                }
            }
            candidates.sort_unstable();
            candidates.dedup();
        }

        let mut matches = Vec::new();
        let mut found = std::mem::take(&mut ctx.s.found);
        for &w in &candidates {
            let root = self.roots.get(w as usize);
            let Some(root) = root.and_then(|&r| self.code.nodes.get(r as usize)) else {
                continue;
            };
            found.clear();
            if eval(&self.code, root, &mut ctx, Some(&mut found)) {
                matches.push(WatchMatch {
                    watch: w as usize,
                    hits: to_hits(&ctx, &mut found),
                });
            }
        }
        ctx.s.candidates = candidates;
        ctx.s.found = found;
        if doc.title.len() + doc.summary.len() + doc.content.len() <= SCRATCH_KEEP {
            SCRATCH.with(|c| *c.borrow_mut() = ctx.s);
        }
        matches
    }

    /// Find the terms in one folded field and append them to `out`.
    fn scan(&self, field: u8, original: &str, folded: &Folded, out: &mut Vec<TermHit>) {
        let Some(ac) = &self.ac else {
            return;
        };
        let Ok(iter) = ac.try_find_overlapping_iter(folded.text.as_str()) else {
            return;
        };
        for m in iter {
            let (start, end) = (m.start(), m.end());
            if folded.word_char_before(start) || !folded.is_source_boundary(start) {
                continue;
            }
            let Some(terms) = self.pattern_terms.get(m.pattern().as_usize()) else {
                continue;
            };
            for &t in terms.iter() {
                let term = &self.terms[t as usize];
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
                out.push(TermHit {
                    term: t,
                    field,
                    start: start as u32,
                    end: hit_end as u32,
                });
            }
        }
    }
}

fn allows(fields: FieldMask, field: u8) -> bool {
    fields & (1 << field) != 0
}

/// Evaluate `node`; when `out` is given and the node holds, push the indices of the hits that
/// make it hold.
fn eval(code: &Code, node: &Node, ctx: &mut Ctx, mut out: Option<&mut Vec<usize>>) -> bool {
    match *node {
        Node::Term { term, fields } => {
            let mut found = false;
            for i in ctx.term_hits(term) {
                if allows(fields, ctx.hit(i).field) {
                    match out.as_deref_mut() {
                        None => return true,
                        Some(o) => o.push(i),
                    }
                    found = true;
                }
            }
            found
        }
        Node::Leaf(l) => {
            let Some(leaf) = code.leaves.get(l as usize) else {
                return false;
            };
            let mut found = false;
            for &t in code.refs(leaf.terms) {
                for i in ctx.term_hits(t) {
                    if allows(leaf.fields, ctx.hit(i).field) {
                        match out.as_deref_mut() {
                            None => return true,
                            Some(o) => o.push(i),
                        }
                        found = true;
                    }
                }
            }
            found
        }
        Node::And(span) => {
            let mark = out.as_deref().map_or(0, Vec::len);
            for item in code.children(span) {
                if !eval(code, item, ctx, out.as_deref_mut()) {
                    if let Some(o) = out {
                        o.truncate(mark);
                    }
                    return false;
                }
            }
            true
        }
        Node::Or(span) => {
            let mut any = false;
            for item in code.children(span) {
                let mark = out.as_deref().map_or(0, Vec::len);
                if eval(code, item, ctx, out.as_deref_mut()) {
                    any = true;
                    if out.is_none() {
                        return true;
                    }
                } else if let Some(o) = out.as_deref_mut() {
                    o.truncate(mark);
                }
            }
            any
        }
        Node::Not(inner) => match code.nodes.get(inner as usize) {
            Some(inner) => !eval(code, inner, ctx, None),
            None => true,
        },
        Node::Near {
            distance,
            left,
            right,
        } => near(code, ctx, distance, left, right, out),
    }
}

/// (field, word index, hit index) of every hit of the leaves listed in `leaves`, in an allowed
/// field, appended to `v`.
fn positions(code: &Code, leaves: Span, ctx: &mut Ctx, v: &mut Vec<(u8, u32, usize)>) {
    for leaf in code.refs(leaves).iter().filter_map(|&l| code.leaves.get(l as usize)) {
        for &t in code.refs(leaf.terms) {
            for i in ctx.term_hits(t) {
                let h = ctx.hit(i);
                if allows(leaf.fields, h.field) {
                    let w = ctx.word_index(h.field as usize, h.start);
                    v.push((h.field, w, i));
                }
            }
        }
    }
}

/// NEAR/distance(left, right): two different hits in the same field whose first words are at
/// most `distance` counted words apart (adjacent words are 1 apart).
fn near(
    code: &Code,
    ctx: &mut Ctx,
    distance: u32,
    left: Span,
    right: Span,
    mut out: Option<&mut Vec<usize>>,
) -> bool {
    let mut a = std::mem::take(&mut ctx.s.near_a);
    let mut b = std::mem::take(&mut ctx.s.near_b);
    a.clear();
    b.clear();
    positions(code, left, ctx, &mut a);
    if !a.is_empty() {
        positions(code, right, ctx, &mut b);
        b.sort_unstable();
    }
    let mut found = false;
    'outer: for &(field, w, i) in &a {
        let from = b.partition_point(|&(f, v, _)| (f, v) < (field, w.saturating_sub(distance)));
        for &(f, v, j) in &b[from..] {
            if f != field || v > w.saturating_add(distance) {
                break;
            }
            let (hi, hj) = (ctx.hit(i), ctx.hit(j));
            if (hi.start, hi.end) == (hj.start, hj.end) {
                continue;
            }
            found = true;
            match out.as_deref_mut() {
                None => break 'outer,
                Some(o) => o.extend([i, j]),
            }
        }
    }
    ctx.s.near_a = a;
    ctx.s.near_b = b;
    found
}

/// Turn hit indices into sorted, deduplicated [`Hit`]s over the original texts.
fn to_hits(ctx: &Ctx, found: &mut [usize]) -> Vec<Hit> {
    let key = |i: &usize| {
        let h = ctx.hit(*i);
        (h.field, h.start, h.end)
    };
    found.sort_unstable_by_key(key);
    let mut hits: Vec<Hit> = Vec::with_capacity(found.len());
    let mut last = None;
    for i in found.iter() {
        let k = key(i);
        if last == Some(k) {
            continue;
        }
        last = Some(k);
        let (field, start, end) = k;
        let f = field as usize;
        let r = ctx.s.folded[f].original_range(start as usize, end as usize);
        hits.push(Hit {
            field: Field::ALL[f],
            start: r.start,
            end: r.end,
            text: ctx.texts[f].get(r).unwrap_or_default().to_owned(),
        });
    }
    hits
}
