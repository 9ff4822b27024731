//! Rules stage 2b — the compiled form of watches: terms, and boolean trees flattened into
//! arenas ([`Code`]).
//!
//! Invariants: every `TermId` indexes `Matcher::terms`; the children of an And/Or node, the
//! inner node of a Not, the leaf ids of a NEAR operand and the term ids of a leaf are all in
//! range of their arena (accessors return empty slices rather than panic if not); a watch's
//! nodes are contiguous, its root pushed last.

use crate::rules::translit::arabic::ArabicRule;

pub(crate) type TermId = u32;

/// Field bit set: bit `Field::index()` set when that field is allowed.
pub(crate) type FieldMask = u8;
pub(crate) const ALL_FIELDS: FieldMask = 0b111;

/// One distinct thing to look for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Term {
    /// Index of the folded pattern in the automaton.
    pub pattern: u32,
    /// A prefix (`syri*`): the hit runs on to the end of the word.
    pub prefix: bool,
    /// Acronym rule: the original text under the pattern must have no lower-case letter.
    pub caps: bool,
    /// Place-name rule (contract §3): in a script with capitals, the original text under
    /// the pattern must have one («the city», «orange» are no places; «al-Raqqa» is).
    pub capitalised: bool,
    /// For a place's name: 1 + index into `Matcher::longer` of the longer names of other places
    /// that contain it («South America» for «America»); 0 for none.
    pub longer: u32,
    /// For a place's name: 1 + index into `Matcher::senses` of what the watch means by it and
    /// what else it may mean (`crate::rules::sense`); 0 for none.
    pub sense: u32,
    /// A `~` name: 1 + index into the matcher's loose names (whose pass finds its other
    /// spellings; the pattern is its spelling as written); 0 for none.
    pub loose: u32,
    /// For a term in Arabic script: the joined prefixes it may take (its pattern leaves out
    /// the article of a name written with one).
    pub arabic: ArabicRule,
}

/// Longer names of other places that contain one place name: (byte offset of the name in the
/// longer name, the longer name, folded).
pub(crate) type LongerNames = Box<[(u32, Box<str>)]>;

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
    Term {
        term: TermId,
        fields: FieldMask,
    },
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

    pub fn span_of(&mut self, items: impl IntoIterator<Item = u32>) -> Span {
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

pub(crate) fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Every term under node `n`.
pub(crate) fn collect_terms(code: &Code, n: u32, out: &mut Vec<TermId>) {
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
