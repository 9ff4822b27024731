//! Rules stage 2 — compilation: parsed watches → one [`Matcher`].
//!
//! Every term of every watch (entity names expanded) is folded into a pattern; identical patterns
//! are stored once in ONE aho-corasick automaton, and each pattern lists the terms that use it
//! (a term = pattern + word/prefix + acronym rule). The `~` names go into one table beside it
//! (`translit`), looked up once per capitalised word of a text. Each watch becomes a boolean
//! tree in the shared [`Code`] arenas, and is indexed under the terms of its trigger (see
//! `trigger`).
//!
//! Invariants: every pattern id of the automaton indexes `Matcher::pattern_terms`;
//! `term_watches[t]` lists watches in ascending order, each once; a watch can hold only if a
//! term of its primary trigger set and one of its secondary set are found, so it is listed in
//! `term_watches` under its primary terms only (with its secondary set), or, if it has no
//! trigger, in `always` (sorted); errors are collected for every watch, never only the first.

use std::collections::HashMap;

use crate::rules::code::{ALL_FIELDS, Code, Term, TermId, collect_terms, to_u32};
use crate::rules::lower::Lowering;
use crate::rules::parser;
use crate::rules::places::PlaceReport;
use crate::rules::scan::{Scanner, build_scanner};
use crate::rules::translit::LooseTable;
use crate::rules::trigger::trigger;
use crate::rules::{EntityDef, RuleError, WatchDef};

/// Largest secondary trigger set kept (it is stored inline under every primary term).
const MAX_SECONDARY: usize = 16;

/// All watches compiled into one automaton. `Send + Sync`; share it in an `Arc`.
#[derive(Clone, Debug)]
pub struct Matcher {
    /// Every distinct pattern, in one automaton; `None` when there are none (no watches).
    pub(crate) scanner: Option<Scanner>,
    /// For each pattern of the automaton, the terms that use it.
    pub(crate) pattern_terms: Vec<Box<[TermId]>>,
    pub(crate) terms: Vec<Term>,
    /// Longer names of other places, by `Term::longer` − 1.
    pub(crate) longer: Vec<crate::rules::code::LongerNames>,
    /// For each term, the watches that it triggers, as records `[watch, n, t1 … tn]`: the
    /// watch is a candidate only if one of its secondary terms `t1 … tn` is found (n = 0: no
    /// secondary set).
    pub(crate) term_watches: Vec<Box<[u32]>>,
    pub(crate) code: Code,
    /// For each watch, its root node in `code.nodes`.
    pub(crate) roots: Vec<u32>,
    /// Watches without a trigger set, evaluated for every document.
    pub(crate) always: Box<[u32]>,
    /// What each distinct `place:` and `within()` term resolved to.
    pub(crate) places: Vec<PlaceReport>,
    /// What watches mean by place names, by `Term::sense` − 1 (empty: no place watch).
    pub(crate) senses: Vec<crate::rules::sense::Sense>,
    /// For each pattern that names a place unambiguously, where that place lies: the evidence
    /// an article gives about its other place names (empty when `senses` is).
    pub(crate) pattern_locus: Vec<Option<crate::rules::gazetteer::Locus>>,
    /// The `~` names and their pass, when some watch has one.
    pub(crate) loose: Option<LooseTable>,
    /// For each pattern: whether it starts with an Arabic letter (it may then be found after
    /// joined prefixes, inside a word).
    pub(crate) arabic_patterns: Box<[bool]>,
    /// Every pattern, in automaton order: the tests build the reference scan from them.
    #[cfg(test)]
    pub(crate) patterns: Vec<String>,
}

impl Matcher {
    /// Compile every watch into ONE aho-corasick automaton. Collect ALL errors (every bad query,
    /// every unknown @entity or place), not just the first. The gazetteer is loaded only if
    /// some watch uses `place:` or `within()`.
    pub fn build(entities: &[EntityDef], watches: &[WatchDef]) -> Result<Matcher, Vec<RuleError>> {
        let mut entity_names: HashMap<&str, Vec<&str>> = HashMap::new();
        for e in entities {
            let names = entity_names.entry(e.name.as_str()).or_default();
            names.extend(e.names.iter().map(String::as_str));
        }
        let mut lowering = Lowering::new(&entity_names);
        let mut errors = Vec::new();
        let mut roots = Vec::with_capacity(watches.len());
        for (i, watch) in watches.iter().enumerate() {
            match parser::parse(&watch.query) {
                Err(e) => errors.push(RuleError {
                    watch: i,
                    offset: e.offset,
                    message: e.message(),
                }),
                Ok(expr) => {
                    lowering.watch = i;
                    let root = lowering.node(&expr, ALL_FIELDS);
                    roots.push(lowering.push_node(root));
                    errors.extend(
                        lowering
                            .errors
                            .drain(..)
                            .map(|(offset, message)| RuleError {
                                watch: i,
                                offset,
                                message,
                            }),
                    );
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let Lowering {
            mut interner,
            code,
            places,
            ..
        } = lowering;
        let pattern_locus = crate::rules::reading::add_evidence(&mut interner);

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
                * if term.prefix || term.loose != 0 { 4 } else { 1 }
                * if short { 4 } else { 1 }
        };
        // Each watch is indexed under its primary trigger terms only, with its secondary set
        // inline (checked before the watch becomes a candidate); watches without a trigger are
        // always evaluated.
        let mut term_watches: Vec<Vec<u32>> = vec![Vec::new(); interner.terms.len()];
        let mut always = Vec::new();
        for (w, &root) in roots.iter().enumerate() {
            let w = to_u32(w);
            let found = code.nodes.get(root as usize).copied();
            match found.and_then(|n| trigger(&code, &n, &cost)) {
                Some(t) => {
                    // A large secondary set is dropped (it is copied under every primary term).
                    let secondary = t
                        .secondary
                        .map(|s| s.terms)
                        .filter(|s| s.len() <= MAX_SECONDARY)
                        .unwrap_or_default();
                    for &term in &t.primary.terms {
                        let list = &mut term_watches[term as usize];
                        list.push(w);
                        list.push(to_u32(secondary.len()));
                        list.extend_from_slice(&secondary);
                    }
                }
                None => always.push(w),
            }
        }

        let scanner = if interner.patterns.is_empty() {
            None
        } else {
            match build_scanner(&interner.patterns) {
                Ok(scanner) => Some(scanner),
                Err(e) => {
                    return Err(vec![RuleError {
                        watch: 0,
                        offset: 0,
                        message: format!("the rule set is too large to compile: {e}"),
                    }]);
                }
            }
        };
        let loose = match interner.loose.is_empty() {
            true => None,
            false => match LooseTable::build(interner.loose) {
                Ok(table) => Some(table),
                Err(e) => {
                    return Err(vec![RuleError {
                        watch: 0,
                        offset: 0,
                        message: e.to_string(),
                    }]);
                }
            },
        };
        let mut arabic_patterns = vec![false; interner.patterns.len()];
        for term in &interner.terms {
            if term.arabic.arabic
                && let Some(a) = arabic_patterns.get_mut(term.pattern as usize)
            {
                *a = true;
            }
        }
        let mut pattern_terms: Vec<Vec<TermId>> = vec![Vec::new(); interner.patterns.len()];
        for (t, term) in interner.terms.iter().enumerate() {
            pattern_terms[term.pattern as usize].push(to_u32(t));
        }
        Ok(Matcher {
            scanner,
            pattern_terms: pattern_terms
                .into_iter()
                .map(Vec::into_boxed_slice)
                .collect(),
            terms: interner.terms,
            longer: interner.longer,
            term_watches: term_watches
                .into_iter()
                .map(Vec::into_boxed_slice)
                .collect(),
            code,
            roots,
            always: always.into_boxed_slice(),
            places,
            senses: interner.senses,
            pattern_locus,
            loose,
            arabic_patterns: arabic_patterns.into_boxed_slice(),
            #[cfg(test)]
            patterns: interner.patterns,
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

    /// What each distinct `place:` and `within()` term of the watches resolved to, in order of
    /// first use: for `vigie check` to show, and to warn about ambiguous names.
    pub fn places(&self) -> &[PlaceReport] {
        &self.places
    }
}
