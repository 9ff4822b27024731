//! Rules stage 3b — evaluation: one document against a compiled [`Matcher`].
//!
//! After the scan (`scan.rs`: each field folded once and searched once), only the watches
//! indexed under a term that was found, plus those that hold without any hit, are candidates;
//! a candidate whose secondary trigger set has no hit is skipped; the others are evaluated on
//! the term hits. Cost grows with the text and the number of hits, not with the number of
//! watches.
//!
//! Invariants: hit offsets handed out are byte offsets into the original field text, on char
//! boundaries; matches come out in watch order with hits sorted by (field, start) and
//! deduplicated.

use crate::rules::code::{Code, FieldMask, Node, Span};
use crate::rules::scan::Ctx;
use crate::rules::{Document, Field, Hit, LooseHit, Matcher, WatchMatch};

impl Matcher {
    /// Every watch the document matches, in watch order.
    pub fn match_document(&self, doc: &Document) -> Vec<WatchMatch> {
        self.match_watches(doc, None, false)
    }

    /// Like [`Matcher::match_document`], for an article of a feed of country `feed` (ISO code,
    /// see [`crate::rules::sense::feed_country`]): the tie-break of an ambiguous place name
    /// when the article names no other place that decides it.
    pub fn match_document_from(&self, doc: &Document, feed: Option<[u8; 2]>) -> Vec<WatchMatch> {
        self.match_watches(doc, feed, false)
    }

    /// Like [`Matcher::match_document`], but evaluating every watch: the reference that the
    /// candidate selection must agree with.
    #[cfg(test)]
    pub(crate) fn match_document_naive(&self, doc: &Document) -> Vec<WatchMatch> {
        self.match_watches(doc, None, true)
    }

    fn match_watches(
        &self,
        doc: &Document,
        feed: Option<[u8; 2]>,
        every_watch: bool,
    ) -> Vec<WatchMatch> {
        let mut ctx = self.scan_document(doc);
        self.read_article(&mut ctx, feed, None);

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
                    self.triggered(h.term, &ctx, &mut candidates);
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
                let (hits, loose) = self.to_hits(&mut ctx, &mut found);
                matches.push(WatchMatch {
                    watch: w as usize,
                    hits,
                    loose,
                });
            }
        }
        ctx.s.candidates = candidates;
        ctx.s.found = found;
        ctx.release();
        matches
    }

    /// Append the watches that term `t` triggers and whose secondary trigger set (inline in the
    /// record) has a term that was found.
    fn triggered(&self, t: u32, ctx: &Ctx, out: &mut Vec<u32>) {
        let mut rest = self
            .term_watches
            .get(t as usize)
            .map_or(&[][..], |l| &l[..]);
        while let [watch, n, tail @ ..] = rest {
            let n = (*n as usize).min(tail.len());
            let (secondary, next) = tail.split_at(n);
            if n == 0 || secondary.iter().any(|&s| ctx.found(s)) {
                out.push(*watch);
            }
            rest = next;
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
    for leaf in code
        .refs(leaves)
        .iter()
        .filter_map(|&l| code.leaves.get(l as usize))
    {
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
/// most `distance` counted words apart (adjacent words are 1 apart). The hits reported are
/// every hit of either side that has a partner on the other: each side is searched for a
/// partner of each hit of the other (a binary search and, as a rule, one step), so time and
/// memory grow with the hits, never with the pairs (an article of «alpha beta» repeated
/// has millions of pairs within `NEAR/1000`).
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
    }
    a.sort_unstable();
    b.sort_unstable();
    let mut found = false;
    for (mine, theirs) in [(&a, &b), (&b, &a)] {
        for &(field, w, i) in mine.iter() {
            if has_partner(ctx, theirs, field, w, i, distance) {
                found = true;
                match out.as_deref_mut() {
                    None => break,
                    Some(o) => o.push(i),
                }
            }
        }
        if found && out.is_none() {
            break;
        }
    }
    ctx.s.near_a = a;
    ctx.s.near_b = b;
    found
}

/// Whether `others` (sorted) holds a hit in `field` within `distance` words of word `w`
/// that is not hit `i` itself (the same text matched by both sides).
fn has_partner(
    ctx: &mut Ctx,
    others: &[(u8, u32, usize)],
    field: u8,
    w: u32,
    i: usize,
    distance: u32,
) -> bool {
    let from = others.partition_point(|&(f, v, _)| (f, v) < (field, w.saturating_sub(distance)));
    for &(f, v, j) in &others[from..] {
        if f != field || v > w.saturating_add(distance) {
            return false;
        }
        let (hi, hj) = (ctx.hit(i), ctx.hit(j));
        if (hi.start, hi.end) != (hj.start, hj.end) {
            return true;
        }
    }
    false
}

impl Matcher {
    /// Turn hit indices into sorted, deduplicated [`Hit`]s over the original texts, with the
    /// hits that a `~` name found in another spelling. Original ranges are computed once per
    /// document hit and cached in `ctx`.
    fn to_hits(&self, ctx: &mut Ctx, found: &mut [usize]) -> (Vec<Hit>, Vec<LooseHit>) {
        found.sort_unstable_by_key(|&i| {
            let h = ctx.hit(i);
            (h.field, h.start, h.end)
        });
        let mut hits: Vec<Hit> = Vec::with_capacity(found.len());
        let mut loose: Vec<LooseHit> = Vec::new();
        let mut last = None;
        for &i in found.iter() {
            let h = ctx.hit(i);
            if last != Some((h.field, h.start, h.end)) {
                last = Some((h.field, h.start, h.end));
                let f = h.field as usize;
                let r = ctx.original_range(i);
                hits.push(Hit {
                    field: Field::ALL[f],
                    start: r.start,
                    end: r.end,
                    text: ctx.texts[f].get(r).unwrap_or_default().to_owned(),
                });
            }
            let k = hits.len() - 1;
            if loose.last().is_some_and(|l| l.hit == k) {
                continue;
            }
            if let Some(name) = self.spelled_otherwise(h.term, &hits[k].text) {
                loose.push(LooseHit { hit: k, name });
            }
        }
        (hits, loose)
    }
}
