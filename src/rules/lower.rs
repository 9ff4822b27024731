//! Rules stage 2a — lowering: each watch's [`Expr`] into [`Code`], with terms interned.
//!
//! Invariants: identical folded patterns get one pattern id, identical (pattern, prefix, acronym)
//! triples one term id; an entity's names, and a place's (`place:`, `within()`, expanded by
//! `places`), are interned once and shared by every watch using them; identical leaves are
//! shared; a fault is recorded with its byte offset in the query and lowering goes on, so that
//! every fault of every watch is reported. A `~` name is a term whose pattern is its spelling
//! as written, listed once in `Interner::loose` for the loose pass; an Arabic term's pattern
//! leaves out the article of a name written with one (see `translit::arabic`).

use std::collections::HashMap;

use unicode_normalization::char::is_combining_mark;

use crate::rules::code::{Code, FieldMask, Leaf, Node, Span, Term, TermId, to_u32};
use crate::rules::fold::fold;
use crate::rules::places::{self, PlaceKey, PlaceReport};
use crate::rules::query::{self, Expr};
use crate::rules::translit::{self, LooseName, arabic};

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
pub(crate) struct Interner {
    /// Folded patterns, by pattern id.
    pub patterns: Vec<String>,
    pattern_ids: HashMap<String, u32>,
    /// Terms, by term id.
    pub terms: Vec<Term>,
    term_ids: HashMap<Term, TermId>,
    /// Longer names of other places, by [`Term::longer`] − 1: (offset of the term's name in
    /// the longer name, the longer name, folded).
    pub longer: Vec<crate::rules::code::LongerNames>,
    longer_ids: HashMap<Vec<(u32, String)>, u32>,
    /// What watches mean by place names, by [`Term::sense`] − 1.
    pub senses: Vec<crate::rules::sense::Sense>,
    sense_ids: HashMap<crate::rules::sense::Sense, u32>,
    /// The `~` names, by [`Term::loose`] − 1.
    pub loose: Vec<LooseName>,
}

impl Interner {
    /// The term for `text` (a word, a phrase, or a prefix's stem).
    fn term(&mut self, text: &str, prefix: bool) -> Result<TermId, String> {
        self.term_as(text, prefix, false, 0, 0)
    }

    /// The term for `~text`: its spelling as written is its pattern, and the loose pass finds
    /// the others. An Arabic name needs no `~` (its rules always apply) and an acronym keeps
    /// the acronym rule: both are plain terms.
    fn loose(&mut self, text: &str) -> Result<TermId, String> {
        let text = text.trim();
        if translit::is_arabic(text) || is_acronym(text) {
            return self.term(text, false);
        }
        if let Err(e) = translit::load_guards() {
            return Err(e.to_string());
        }
        let id = match self.loose.iter().position(|l| l.text == text) {
            Some(k) => k,
            None => {
                let next = to_u32(self.terms.len());
                self.loose.push(LooseName {
                    text: text.to_owned(),
                    term: next,
                    pattern: String::new(),
                });
                self.loose.len() - 1
            }
        };
        let t = self.term_with(text, false, false, 0, (0, to_u32(id + 1)))?;
        let pattern =
            (self.terms.get(t as usize)).and_then(|term| self.patterns.get(term.pattern as usize));
        if let (Some(l), Some(p)) = (self.loose.get_mut(id), pattern) {
            l.term = t;
            l.pattern.clone_from(p);
        }
        Ok(t)
    }

    /// As [`Interner::term`]; `capitalised` for a place's name from the gazetteer.
    fn term_as(
        &mut self,
        text: &str,
        prefix: bool,
        capitalised: bool,
        longer: u32,
        sense: u32,
    ) -> Result<TermId, String> {
        self.term_with(text, prefix, capitalised, longer, (sense, 0))
    }

    fn term_with(
        &mut self,
        text: &str,
        prefix: bool,
        capitalised: bool,
        longer: u32,
        (sense, loose): (u32, u32),
    ) -> Result<TermId, String> {
        let folded = fold(text).text;
        let pattern = folded.trim_matches(' ');
        if !pattern.chars().any(char::is_alphanumeric) {
            return Err(format!("`{text}` has no letters or digits to match"));
        }
        let (arabic, pattern) = arabic::rule(pattern);
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
            capitalised,
            longer,
            sense,
            loose,
            arabic,
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
            let name = name.trim();
            let id = match (name.strip_prefix('~'), name.strip_suffix('*')) {
                (Some(loose), _) => self.loose(loose)?,
                (None, Some(stem)) => self.term(stem, true)?,
                (None, None) => self.term(name, false)?,
            };
            ids.push(id);
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    /// A place's names from the gazetteer: already folded and filtered, never prefixes (a name
    /// ending in `*` is just a name); a name with nothing to match is skipped, not an error, since
    /// the user did not write it. `longer[k]`: the longer names of other places that contain
    /// `names[k]`.
    pub(crate) fn place_names(
        &mut self,
        names: &[&str],
        longer: &[Vec<(u32, &str)>],
        senses: Vec<crate::rules::sense::Sense>,
    ) -> Vec<TermId> {
        let mut ids: Vec<TermId> = Vec::with_capacity(names.len());
        let mut senses = senses.into_iter();
        for (k, name) in names.iter().enumerate() {
            let longer_id = match longer.get(k) {
                Some(l) if !l.is_empty() => self.longer_id(l),
                _ => 0,
            };
            let sense = match senses.next() {
                Some(s) => self.sense_id(s),
                None => 0,
            };
            if let Ok(id) = self.term_as(name, false, true, longer_id, sense) {
                ids.push(id);
            }
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// 1 + the index of this sense, shared between terms.
    fn sense_id(&mut self, sense: crate::rules::sense::Sense) -> u32 {
        if let Some(&id) = self.sense_ids.get(&sense) {
            return id;
        }
        self.senses.push(sense.clone());
        let id = to_u32(self.senses.len());
        self.sense_ids.insert(sense, id);
        id
    }

    /// 1 + the index of this list of longer names, shared between terms.
    fn longer_id(&mut self, longer: &[(u32, &str)]) -> u32 {
        let key: Vec<(u32, String)> = longer.iter().map(|&(o, n)| (o, n.to_owned())).collect();
        if let Some(&id) = self.longer_ids.get(&key) {
            return id;
        }
        self.longer
            .push(longer.iter().map(|&(o, n)| (o, Box::from(n))).collect());
        let id = to_u32(self.longer.len());
        self.longer_ids.insert(key, id);
        id
    }
}

/// Lowers one watch's `Expr` at a time into [`Code`].
pub(crate) struct Lowering<'a> {
    pub interner: Interner,
    pub code: Code,
    entities: &'a HashMap<&'a str, Vec<&'a str>>,
    /// Entity name → its terms in `code.refs`, shared by every watch that uses it.
    entity_cache: HashMap<String, Result<Span, String>>,
    /// Place term → its names' terms in `code.refs` and its index in `places`.
    place_cache: HashMap<PlaceKey, Result<(Span, usize), String>>,
    /// What each distinct place term resolved to, in order of first use.
    pub places: Vec<PlaceReport>,
    /// Index of the watch being lowered (recorded in `places`).
    pub watch: usize,
    /// Leaves already made, shared between watches.
    leaf_ids: HashMap<Leaf, u32>,
    /// Errors of the watch being lowered: (offset, message).
    pub errors: Vec<(usize, String)>,
}

impl<'a> Lowering<'a> {
    pub fn new(entities: &'a HashMap<&'a str, Vec<&'a str>>) -> Lowering<'a> {
        Lowering {
            interner: Interner::default(),
            code: Code::default(),
            entities,
            entity_cache: HashMap::new(),
            place_cache: HashMap::new(),
            places: Vec::new(),
            watch: 0,
            leaf_ids: HashMap::new(),
            errors: Vec::new(),
        }
    }

    pub fn push_node(&mut self, node: Node) -> u32 {
        self.code.nodes.push(node);
        to_u32(self.code.nodes.len() - 1)
    }

    /// Lower `expr`; its children are pushed to `code.nodes` side by side, the node itself is
    /// returned for the caller to place.
    pub fn node(&mut self, expr: &Expr, fields: FieldMask) -> Node {
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
            Expr::Loose { text, .. } => self.interner.loose(text).map(|t| self.code.span_of([t])),
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

    /// The names of a `place:` or `within(…)` node, from the gazetteer (loaded here on first
    /// use, and only here), compiled like an entity's names and cached like them; the watch is
    /// recorded in the term's [`PlaceReport`].
    fn place(&mut self, expr: &Expr) -> Result<Span, String> {
        let key = places::key(expr).ok_or_else(|| "not a place".to_owned())?;
        let cached = match self.place_cache.get(&key) {
            Some(cached) => cached.clone(),
            None => {
                let result = places::expand(expr).map(|expansion| {
                    let ids = self.interner.place_names(
                        &expansion.names,
                        &expansion.longer,
                        expansion.senses,
                    );
                    self.places.push(expansion.report);
                    (self.code.span_of(ids), self.places.len() - 1)
                });
                self.place_cache.insert(key, result.clone());
                result
            }
        };
        let (span, report) = cached?;
        if let Some(r) = self.places.get_mut(report)
            && r.watches.last() != Some(&self.watch)
        {
            r.watches.push(self.watch);
        }
        Ok(span)
    }
}
