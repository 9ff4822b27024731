//! Rules stage 3a″ — reading an article for its places: after the scan, each hit of a place
//! name that may mean another place is decided by the other places the article names
//! (`sense::decide`), and set aside when they point elsewhere. At compile time, the names that
//! serve as evidence (the countries, divisions and largest towns where the candidates lie) are
//! added to the automaton ([`add_evidence`]).
//!
//! Invariants: runs only when some watch uses a place (the gazetteer is then loaded); evidence
//! terms trigger no watch; the hits left are still sorted and indexed; a document whose place
//! names are all unambiguous costs one pass over its hits.

use std::collections::HashSet;

use crate::rules::Matcher;
use crate::rules::gazetteer::{self, Locus};
use crate::rules::lower::Interner;
use crate::rules::scan::{Ctx, TermHit};
use crate::rules::sense::{Evidence, Verdict, decide};

/// Towns of a division, and of a country, whose names are evidence for it.
const DIVISION_TOWNS: usize = 4;
const COUNTRY_TOWNS: usize = 4;

/// Add the names that tell the candidates of the senses apart (each candidate's country or
/// division and its largest towns, under names that mean them), and say where each place
/// pattern lies. Nothing when no watch uses a place.
pub(crate) fn add_evidence(interner: &mut Interner) -> Vec<Option<Locus>> {
    if interner.senses.is_empty() {
        return Vec::new();
    }
    let Ok(g) = gazetteer::get() else {
        return Vec::new();
    };
    let mut areas: Vec<([u8; 2], Option<[u8; 3]>)> = Vec::new();
    for s in &interner.senses {
        if s.others.is_empty() {
            continue;
        }
        for &(_, n) in s.near.iter() {
            areas.push((n, None));
        }
        for l in s.meant.iter().chain(s.others.iter()) {
            areas.push((l.cc, None));
            if l.has_division() {
                areas.push((l.cc, Some(l.div)));
            }
        }
    }
    areas.sort_unstable();
    areas.dedup();
    let mut places: Vec<u32> = Vec::new();
    for &(cc, div) in &areas {
        let code = match div {
            Some(d) => format!(
                "{}-{}",
                String::from_utf8_lossy(&cc),
                String::from_utf8_lossy(&d).trim_end_matches('\0')
            ),
            None => String::from_utf8_lossy(&cc).into_owned(),
        };
        if div.is_some() {
            places.extend(g.resolve(&code, None).ok().map(|r| r.place.id));
        } else {
            places.extend(g.country_id(cc));
        }
        let n = if div.is_some() {
            DIVISION_TOWNS
        } else {
            COUNTRY_TOWNS
        };
        places.extend(g.largest_towns(cc, div, n));
    }
    places.sort_unstable();
    places.dedup();
    let mut names: Vec<&str> = Vec::new();
    for &id in &places {
        let Some(p) = g.place(id) else { continue };
        let display = crate::rules::fold::fold_term(&p.name);
        let stem: String = display.chars().take(2).collect();
        for n in g.evidence_names(id) {
            let whole = !p.kind.is_point();
            let folded = crate::rules::fold::fold_term(n);
            if (whole || folded.starts_with(&stem))
                && folded.chars().count() >= 3
                && g.principal(n) == Some(id)
            {
                names.push(n);
            }
        }
    }
    names.sort_unstable();
    names.dedup();
    interner.place_names(&names, &[], Vec::new());
    // Where each place pattern lies.
    let place_patterns: HashSet<u32> = (interner.terms.iter())
        .filter(|t| t.capitalised)
        .map(|t| t.pattern)
        .collect();
    (interner.patterns.iter().enumerate())
        .map(|(k, p)| {
            if !place_patterns.contains(&(k as u32)) {
                return None;
            }
            g.principal(p).and_then(|id| g.locus(id))
        })
        .collect()
}

impl Matcher {
    /// Decide the ambiguous place names of a scanned document by its other place names (and the
    /// feed's country, `feed`), set aside those that mean another place, and re-index. With
    /// `report`, every decision is also pushed with its evidence (kept: `true`).
    pub(crate) fn read_article(
        &self,
        ctx: &mut Ctx,
        feed: Option<[u8; 2]>,
        mut report: Option<&mut Vec<(TermHit, bool, String)>>,
    ) {
        if self.senses.is_empty() {
            return;
        }
        let ambiguous = |h: &TermHit| {
            let sense = self.terms.get(h.term as usize).map_or(0, |t| t.sense);
            (sense != 0)
                .then(|| self.senses.get(sense as usize - 1))
                .flatten()
                .filter(|s| !s.others.is_empty())
        };
        if !ctx.s.hits.iter().any(|h| ambiguous(h).is_some()) {
            return;
        }
        // The article's other place names: one per pattern, its first hit's text.
        let mut evidence: Vec<Evidence> = Vec::new();
        for (i, h) in ctx.s.hits.iter().enumerate() {
            let Some(term) = self.terms.get(h.term as usize) else {
                continue;
            };
            let Some(Some(locus)) = self.pattern_locus.get(term.pattern as usize) else {
                continue;
            };
            if !evidence.iter().any(|e| e.pattern == term.pattern) {
                evidence.push(Evidence {
                    pattern: term.pattern,
                    locus: *locus,
                    text: ctx.text(i),
                });
            }
        }
        let mut drop = vec![false; ctx.s.hits.len()];
        let mut any = false;
        let explain = report.is_some();
        for (i, gone) in drop.iter_mut().enumerate() {
            let h = ctx.hit(i);
            let Some(sense) = ambiguous(&h) else { continue };
            let pattern = self.terms[h.term as usize].pattern;
            let written = ctx.text(i);
            match decide(sense, (pattern, written), &evidence, feed, explain) {
                Verdict::Keep(why) => {
                    if let (Some(out), Some(why)) = (report.as_deref_mut(), why) {
                        out.push((h, true, why));
                    }
                }
                Verdict::Aside(why) => {
                    *gone = true;
                    any = true;
                    if let Some(out) = report.as_deref_mut() {
                        out.push((h, false, why));
                    }
                }
            }
        }
        if any {
            let mut k = 0;
            ctx.s.hits.retain(|_| {
                k += 1;
                !drop[k - 1]
            });
            ctx.s.index.rebuild(&ctx.s.hits);
            ctx.s.ranges.clear();
            ctx.s.ranges.resize(ctx.s.hits.len(), (u32::MAX, 0));
        }
    }
}
