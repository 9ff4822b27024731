//! Rules stage 2 — compilation: parsed watches → one [`Matcher`].
//!
//! Every term of every watch (entity names expanded) is folded into a pattern; identical patterns
//! are stored once in ONE aho-corasick automaton, and each pattern lists the terms that use it
//! (a term = pattern + word/prefix + acronym rule). Each watch becomes a boolean tree of
//! [`Node`]s, flattened into the shared [`Code`] arenas, whose leaves are sets of terms
//! restricted to some fields.
//!
//! Invariants: every `TermId` in a leaf indexes `Matcher::terms`; the children of an And/Or
//! node and the leaf ids of a NEAR operand are in range of their arena; every pattern id of the
//! automaton indexes `Matcher::pattern_terms`; `term_watches[t]` is sorted and deduplicated;
//! a watch can hold only if a term of its trigger set is found, so it is listed in
//! `term_watches` under those terms only, or, if it has no trigger set, in `always` (sorted);
//! errors are collected for every watch, never only the first.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use unicode_normalization::char::is_combining_mark;

use crate::fold::fold;
use crate::rules::query::{self, Expr};
use crate::rules::{EntityDef, RuleError, WatchDef};

pub(crate) type TermId = u32;

/// Field bit set: bit `Field::index()` set when that field is allowed.
pub(crate) type FieldMask = u8;
pub(crate) const ALL_FIELDS: FieldMask = 0b111;

/// Largest number of patterns compiled into a DFA; above it, aho-corasick picks (an NFA).
const DFA_MAX_PATTERNS: usize = 60_000;

/// Message for `place:` and `within(…)` until the gazetteer exists.
const NO_GAZETTEER: &str = "place: needs the gazetteer, which is not built yet";

/// One distinct thing to look for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Term {
    /// Index of the folded pattern in the automaton.
    pub pattern: u32,
    /// A prefix (`syri*`): the hit runs on to the end of the word.
    pub prefix: bool,
    /// Acronym rule: the original text under the pattern must have no lower-case letter.
    pub caps: bool,
}

/// A range of one of the [`Code`] arenas.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct Span {
    pub start: u32,
    pub len: u32,
}

impl Span {
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.start as usize + self.len as usize
    }
}

/// A set of terms (a word, a phrase, an entity's names, a place's names), found in some fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Leaf {
    /// Term ids, in `Code::refs`.
    pub terms: Span,
    pub fields: FieldMask,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Node {
    /// A single term (a word, a phrase, a prefix), inline so that evaluating it touches no
    /// other memory than the node.
    Term { term: TermId, fields: FieldMask },
    /// Index into `Code::leaves` (an entity's or a place's names, shared between watches).
    Leaf(u32),
    /// Children: a range of `Code::nodes`.
    And(Span),
    Or(Span),
    /// Index into `Code::nodes`.
    Not(u32),
    /// Some hit of a `left` leaf and some hit of a `right` leaf (leaf ids in `Code::refs`) in
    /// the same field, at most `distance` counted words apart.
    Near {
        distance: u32,
        left: Span,
        right: Span,
    },
}

/// Every watch's program, flattened into arenas: a watch's nodes sit together in memory, and
/// leaves (an entity used by many watches, say) are shared.
#[derive(Clone, Debug, Default)]
pub(crate) struct Code {
    pub nodes: Vec<Node>,
    pub leaves: Vec<Leaf>,
    /// Term ids of leaves and leaf ids of NEAR operands.
    pub refs: Vec<u32>,
}

impl Code {
    pub fn refs(&self, span: Span) -> &[u32] {
        self.refs.get(span.range()).unwrap_or_default()
    }

    pub fn children(&self, span: Span) -> &[Node] {
        self.nodes.get(span.range()).unwrap_or_default()
    }

    fn span_of(&mut self, items: impl IntoIterator<Item = u32>) -> Span {
        let start = to_u32(self.refs.len());
        self.refs.extend(items);
        Span {
            start,
            len: to_u32(self.refs.len()) - start,
        }
    }

    /// The terms of a leaf.
    pub fn leaf_terms(&self, leaf: u32) -> &[TermId] {
        self.leaves
            .get(leaf as usize)
            .map_or(&[], |l| self.refs(l.terms))
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// All watches compiled into one automaton. `Send + Sync`; share it in an `Arc`.
#[derive(Clone, Debug)]
pub struct Matcher {
    /// `None` when there are no patterns at all (no watches).
    pub(crate) ac: Option<AhoCorasick>,
    /// For each pattern of the automaton, the terms that use it.
    pub(crate) pattern_terms: Vec<Box<[TermId]>>,
    pub(crate) terms: Vec<Term>,
    /// For each term, the watches that it triggers.
    pub(crate) term_watches: Vec<Box<[u32]>>,
    pub(crate) code: Code,
    /// For each watch, its root node in `code.nodes`.
    pub(crate) roots: Vec<u32>,
    /// Watches without a trigger set, evaluated for every document.
    pub(crate) always: Box<[u32]>,
}

impl Matcher {
    /// Compile every watch into ONE aho-corasick automaton. Collect ALL errors (every bad query,
    /// every unknown @entity), not just the first.
    pub fn build(entities: &[EntityDef], watches: &[WatchDef]) -> Result<Matcher, Vec<RuleError>> {
        let mut entity_names: HashMap<&str, Vec<&str>> = HashMap::new();
        for e in entities {
            let names = entity_names.entry(e.name.as_str()).or_default();
            names.extend(e.names.iter().map(String::as_str));
        }
        let mut lowering = Lowering {
            interner: Interner::default(),
            code: Code::default(),
            entities: &entity_names,
            entity_cache: HashMap::new(),
            leaf_ids: HashMap::new(),
            errors: Vec::new(),
        };
        let mut errors = Vec::new();
        let mut roots = Vec::with_capacity(watches.len());
        for (i, watch) in watches.iter().enumerate() {
            match query::parse(&watch.query) {
                Err(e) => errors.push(RuleError {
                    watch: i,
                    offset: e.offset,
                    message: e.message(),
                }),
                Ok(expr) => {
                    let root = lowering.node(&expr, ALL_FIELDS);
                    roots.push(lowering.push_node(root));
                    errors.extend(lowering.errors.drain(..).map(|(offset, message)| {
                        RuleError {
                            watch: i,
                            offset,
                            message,
                        }
                    }));
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let Lowering {
            interner, code, ..
        } = lowering;

        // How many watches use each term: a proxy for how common it is.
        let mut usage = vec![0u32; interner.terms.len()];
        let mut seen = Vec::new();
        for &root in &roots {
            seen.clear();
            collect_terms(&code, root, &mut seen);
            seen.sort_unstable();
            seen.dedup();
            for &t in &seen {
                usage[t as usize] += 1;
            }
        }
        let cost = |t: TermId| {
            let term = &interner.terms[t as usize];
            let short = interner.patterns[term.pattern as usize].len() <= 3;
            u64::from(usage[t as usize])
                * if term.prefix { 4 } else { 1 }
                * if short { 4 } else { 1 }
        };
        // Each watch is indexed under its trigger terms only; watches without any are always
        // evaluated.
        let mut term_watches: Vec<Vec<u32>> = vec![Vec::new(); interner.terms.len()];
        let mut always = Vec::new();
        for (w, &root) in roots.iter().enumerate() {
            let w = to_u32(w);
            match code.nodes.get(root as usize).and_then(|n| trigger(&code, n, &cost)) {
                Some((_, terms)) => {
                    for t in terms {
                        term_watches[t as usize].push(w);
                    }
                }
                None => always.push(w),
            }
        }

        let ac = if interner.patterns.is_empty() {
            None
        } else {
            // A DFA scans about a third faster than the contiguous NFA but takes ~0.5 KB per
            // pattern (21 MB for 40,000 patterns): use it up to DFA_MAX_PATTERNS.
            let kind = (interner.patterns.len() <= DFA_MAX_PATTERNS).then_some(AhoCorasickKind::DFA);
            let built = AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .kind(kind)
                .build(&interner.patterns);
            match built {
                Ok(ac) => Some(ac),
                Err(e) => {
                    return Err(vec![RuleError {
                        watch: 0,
                        offset: 0,
                        message: format!("the rule set is too large to compile: {e}"),
                    }]);
                }
            }
        };
        let mut pattern_terms: Vec<Vec<TermId>> = vec![Vec::new(); interner.patterns.len()];
        for (t, term) in interner.terms.iter().enumerate() {
            pattern_terms[term.pattern as usize].push(to_u32(t));
        }
        Ok(Matcher {
            ac,
            pattern_terms: pattern_terms.into_iter().map(Vec::into_boxed_slice).collect(),
            terms: interner.terms,
            term_watches: term_watches.into_iter().map(Vec::into_boxed_slice).collect(),
            code,
            roots,
            always: always.into_boxed_slice(),
        })
    }

    /// Number of watches compiled.
    pub fn watch_count(&self) -> usize {
        self.roots.len()
    }

    /// Number of distinct patterns in the automaton.
    pub fn pattern_count(&self) -> usize {
        self.pattern_terms.len()
    }
}

/// Every term under node `n`.
fn collect_terms(code: &Code, n: u32, out: &mut Vec<TermId>) {
    match code.nodes.get(n as usize) {
        Some(Node::Term { term, .. }) => out.push(*term),
        Some(Node::Leaf(l)) => out.extend_from_slice(code.leaf_terms(*l)),
        Some(Node::And(span) | Node::Or(span)) => {
            for k in span.range() {
                collect_terms(code, to_u32(k), out);
            }
        }
        Some(Node::Not(inner)) => collect_terms(code, *inner, out),
        Some(Node::Near { left, right, .. }) => {
            for &l in code.refs(*left).iter().chain(code.refs(*right)) {
                out.extend_from_slice(code.leaf_terms(l));
            }
        }
        None => {}
    }
}

/// A trigger of a program: a set of terms such that the program can hold only if one of them is
/// found, with its estimated cost (lower = rarer). `None` when there is no such set (the program
/// may hold with no hit at all, as `NOT spam` does): such a program is evaluated for every
/// document. For `a AND b` the cheaper side is enough; for `a OR b` both sides are needed.
pub(crate) fn trigger(
    code: &Code,
    node: &Node,
    cost: &impl Fn(TermId) -> u64,
) -> Option<(u64, Vec<TermId>)> {
    let of_leaves = |ids: &[u32]| {
        let mut terms: Vec<TermId> = ids
            .iter()
            .flat_map(|&l| code.leaf_terms(l).iter().copied())
            .collect();
        terms.sort_unstable();
        terms.dedup();
        (terms.iter().map(|&t| cost(t)).sum(), terms)
    };
    match node {
        Node::Term { term, .. } => Some((cost(*term), vec![*term])),
        Node::Leaf(l) => Some(of_leaves(std::slice::from_ref(l))),
        Node::Near { left, right, .. } => {
            let (l, r) = (of_leaves(code.refs(*left)), of_leaves(code.refs(*right)));
            Some(if r.0 < l.0 { r } else { l })
        }
        Node::And(span) => code
            .children(*span)
            .iter()
            .filter_map(|n| trigger(code, n, cost))
            .min_by_key(|(c, _)| *c),
        Node::Or(span) => {
            let mut total = 0u64;
            let mut terms = Vec::new();
            for n in code.children(*span) {
                let (c, t) = trigger(code, n, cost)?;
                total = total.saturating_add(c);
                terms.extend(t);
            }
            terms.sort_unstable();
            terms.dedup();
            Some((total, terms))
        }
        Node::Not(_) => None,
    }
}

/// Whether `text` (a query term or an entity name) falls under the acronym rule: 2 to 5 letters,
/// all capitals.
pub(crate) fn is_acronym(text: &str) -> bool {
    let mut n = 0;
    for c in text.chars().filter(|&c| !is_combining_mark(c)) {
        if !(c.is_alphabetic() && c.is_uppercase()) {
            return false;
        }
        n += 1;
    }
    (2..=5).contains(&n)
}

#[derive(Default)]
struct Interner {
    patterns: Vec<String>,
    pattern_ids: HashMap<String, u32>,
    terms: Vec<Term>,
    term_ids: HashMap<Term, TermId>,
}

impl Interner {
    /// The term for `text` (a word, a phrase, or a prefix's stem).
    fn term(&mut self, text: &str, prefix: bool) -> Result<TermId, String> {
        let folded = fold(text).text;
        let pattern = folded.trim_matches(' ');
        if !pattern.chars().any(char::is_alphanumeric) {
            return Err(format!("`{text}` has no letters or digits to match"));
        }
        let pattern = match self.pattern_ids.get(pattern) {
            Some(&id) => id,
            None => {
                let id = to_u32(self.patterns.len());
                self.patterns.push(pattern.to_owned());
                self.pattern_ids.insert(pattern.to_owned(), id);
                id
            }
        };
        let term = Term {
            pattern,
            prefix,
            caps: is_acronym(text.trim()),
        };
        let next = to_u32(self.terms.len());
        let id = *self.term_ids.entry(term.clone()).or_insert(next);
        if id == next {
            self.terms.push(term);
        }
        Ok(id)
    }

    /// A list of names (an entity's, later a place's); `name*` is a prefix.
    fn names(&mut self, names: &[&str]) -> Result<Vec<TermId>, String> {
        let mut ids = Vec::with_capacity(names.len());
        for name in names {
            let id = match name.trim().strip_suffix('*') {
                Some(stem) => self.term(stem, true)?,
                None => self.term(name, false)?,
            };
            ids.push(id);
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }
}

/// Lowers one watch's `Expr` at a time into [`Code`].
struct Lowering<'a> {
    interner: Interner,
    code: Code,
    entities: &'a HashMap<&'a str, Vec<&'a str>>,
    /// Entity name → its terms in `code.refs`, shared by every watch that uses it.
    entity_cache: HashMap<String, Result<Span, String>>,
    /// Leaves already made, shared between watches.
    leaf_ids: HashMap<Leaf, u32>,
    /// Errors of the watch being lowered: (offset, message).
    errors: Vec<(usize, String)>,
}

impl Lowering<'_> {
    fn push_node(&mut self, node: Node) -> u32 {
        self.code.nodes.push(node);
        to_u32(self.code.nodes.len() - 1)
    }

    /// Lower `expr`; its children are pushed to `code.nodes` side by side, the node itself is
    /// returned for the caller to place.
    fn node(&mut self, expr: &Expr, fields: FieldMask) -> Node {
        match expr {
            Expr::And(items) | Expr::Or(items) => {
                let children: Vec<Node> = items.iter().map(|e| self.node(e, fields)).collect();
                let start = to_u32(self.code.nodes.len());
                self.code.nodes.extend(children);
                let span = Span {
                    start,
                    len: to_u32(items.len()),
                };
                if matches!(expr, Expr::And(_)) {
                    Node::And(span)
                } else {
                    Node::Or(span)
                }
            }
            Expr::Not { expr, .. } => {
                let inner = self.node(expr, fields);
                Node::Not(self.push_node(inner))
            }
            Expr::Scope { field, expr, .. } => self.node(expr, fields & (1 << field.index())),
            Expr::Near {
                distance,
                left,
                right,
                ..
            } => {
                let mut l = Vec::new();
                let mut r = Vec::new();
                self.operand_leaves(left, fields, &mut l);
                self.operand_leaves(right, fields, &mut r);
                Node::Near {
                    distance: *distance,
                    left: self.code.span_of(l),
                    right: self.code.span_of(r),
                }
            }
            _ => {
                let leaf = self.leaf(expr, fields);
                match self.code.leaves.get(leaf as usize) {
                    Some(l) if l.terms.len == 1 => Node::Term {
                        term: self.code.refs(l.terms)[0],
                        fields,
                    },
                    _ => Node::Leaf(leaf),
                }
            }
        }
    }

    /// The leaves of a NEAR operand (a term, an entity, a place, or an OR-group of them).
    fn operand_leaves(&mut self, expr: &Expr, fields: FieldMask, out: &mut Vec<u32>) {
        match expr {
            Expr::Or(items) => items
                .iter()
                .for_each(|e| self.operand_leaves(e, fields, out)),
            Expr::Scope { field, expr, .. } => {
                self.operand_leaves(expr, fields & (1 << field.index()), out)
            }
            Expr::And(_) | Expr::Not { .. } | Expr::Near { .. } => self.errors.push((
                expr.offset(),
                query::ParseErrorKind::NearOperand.to_string(),
            )),
            _ => out.push(self.leaf(expr, fields)),
        }
    }

    /// A leaf for a term, entity or place; on error, records it and returns a leaf that never
    /// holds.
    fn leaf(&mut self, expr: &Expr, fields: FieldMask) -> u32 {
        let terms = match expr {
            Expr::Word { text, .. } | Expr::Phrase { text, .. } => self
                .interner
                .term(text, false)
                .map(|t| self.code.span_of([t])),
            Expr::Prefix { stem, .. } => self
                .interner
                .term(stem, true)
                .map(|t| self.code.span_of([t])),
            Expr::Entity { name, .. } => self.entity(name),
            Expr::Place { .. } | Expr::Within { .. } => self.place(expr),
            _ => Err(query::ParseErrorKind::NearOperand.to_string()),
        };
        let terms = terms.unwrap_or_else(|message| {
            self.errors.push((expr.offset(), message));
            Span::default()
        });
        let leaf = Leaf { terms, fields };
        let next = to_u32(self.code.leaves.len());
        let id = *self.leaf_ids.entry(leaf).or_insert(next);
        if id == next {
            self.code.leaves.push(leaf);
        }
        id
    }

    fn entity(&mut self, name: &str) -> Result<Span, String> {
        if let Some(cached) = self.entity_cache.get(name) {
            return cached.clone();
        }
        let result = match self.entities.get(name) {
            None => Err(format!("unknown entity `@{name}`")),
            Some(names) if names.is_empty() => Err(format!("entity `@{name}` has no names")),
            Some(names) => match self.interner.names(names) {
                Ok(ids) => Ok(self.code.span_of(ids)),
                Err(e) => Err(format!("entity `@{name}`: {e}")),
            },
        };
        self.entity_cache.insert(name.to_owned(), result.clone());
        result
    }

    /// The names of a `place:` or `within(…)` node. The gazetteer will expand it to a list of
    /// names, compiled like an entity's with [`Interner::names`] (and cached like one).
    fn place(&mut self, _expr: &Expr) -> Result<Span, String> {
        Err(NO_GAZETTEER.to_owned())
    }
}
