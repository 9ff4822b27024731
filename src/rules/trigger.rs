//! Rules stage 2c — triggers: for each watch, two sets of terms such that the watch can hold
//! only if a term of each set is found. The primary set indexes the watch (a watch is a
//! candidate only when one of those terms is found); the secondary set is a cheap check before
//! the full evaluation.
//!
//! Invariant (property-tested against evaluating every watch): if a watch holds on a document,
//! some term of its primary set and some term of its secondary set were found in it. A watch
//! with no primary set (one that may hold with no hit, like `NOT spam`) is evaluated for every
//! document.

use crate::rules::code::{Code, Node, TermId};

/// A set of terms one of which must be found, with its estimated cost (lower = rarer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Need {
    pub cost: u64,
    /// Sorted, deduplicated.
    pub terms: Vec<TermId>,
}

impl Need {
    fn of(terms: impl IntoIterator<Item = TermId>, cost: &impl Fn(TermId) -> u64) -> Need {
        let mut terms: Vec<TermId> = terms.into_iter().collect();
        terms.sort_unstable();
        terms.dedup();
        Need {
            cost: terms.iter().map(|&t| cost(t)).fold(0, u64::saturating_add),
            terms,
        }
    }
}

/// The two necessary sets of a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Trigger {
    pub primary: Need,
    pub secondary: Option<Need>,
}

/// The trigger of `node`, or `None` if it may hold with no term found. `cost` estimates how
/// often a term is found (lower = rarer).
///
/// - a term or a leaf: its terms;
/// - `a AND b`: the two cheapest necessary sets among the children's;
/// - `a OR b`: the union of the children's primaries, and of their secondaries (a child without
///   one lends its primary);
/// - `NEAR(a, b)`: both sides are necessary, the cheaper first;
/// - `NOT a`: none.
pub(crate) fn trigger(code: &Code, node: &Node, cost: &impl Fn(TermId) -> u64) -> Option<Trigger> {
    let of_leaves = |ids: &[u32]| {
        Need::of(
            ids.iter().flat_map(|&l| code.leaf_terms(l).iter().copied()),
            cost,
        )
    };
    match node {
        Node::Term { term, .. } => Some(Trigger {
            primary: Need::of([*term], cost),
            secondary: None,
        }),
        Node::Leaf(l) => Some(Trigger {
            primary: of_leaves(std::slice::from_ref(l)),
            secondary: None,
        }),
        Node::Near { left, right, .. } => {
            let mut needs = vec![of_leaves(code.refs(*left)), of_leaves(code.refs(*right))];
            needs.sort_by_key(|n| n.cost);
            let secondary = needs.pop();
            let primary = needs.pop()?;
            Some(Trigger { primary, secondary })
        }
        Node::And(span) => {
            let mut needs = Vec::new();
            for child in code.children(*span) {
                if let Some(t) = trigger(code, child, cost) {
                    needs.push(t.primary);
                    needs.extend(t.secondary);
                }
            }
            needs.sort_by_key(|n| n.cost);
            let mut needs = needs.into_iter();
            let primary = needs.next()?;
            Some(Trigger {
                primary,
                secondary: needs.next(),
            })
        }
        Node::Or(span) => {
            let mut primary = Vec::new();
            let mut secondary = Vec::new();
            let mut any_secondary = false;
            for child in code.children(*span) {
                let t = trigger(code, child, cost)?;
                match t.secondary {
                    Some(s) => {
                        any_secondary = true;
                        secondary.extend(s.terms);
                    }
                    None => secondary.extend_from_slice(&t.primary.terms),
                }
                primary.extend(t.primary.terms);
            }
            Some(Trigger {
                primary: Need::of(primary, cost),
                secondary: any_secondary.then(|| Need::of(secondary, cost)),
            })
        }
        Node::Not(_) => None,
    }
}
