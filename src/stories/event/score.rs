//! Stories stage, events: the score of a new article against one earlier article of the window,
//! and whether it joins that article's story. Pure: document frequencies, times and outlets
//! come in as arguments.
//!
//! Invariants: the score is a cosine of idf-weighted term vectors — the whole text's and the
//! headline's — discounted for the terms that many neighbours share (they name the saga, not
//! the development), less a penalty for a story that would stretch over many hours and for an
//! outlet already in the story; an article joins when the best score reaches [`THRESHOLD`]
//! and the gates hold (enough shared specific terms; past [`LATE_HOURS`], terms few
//! neighbours carry). Every constant is measured in `docs/research/stories.md`.

use std::collections::HashMap;

use super::{Term, Terms};

/// The score from which an article joins a story: chosen on the English and French labelled
/// sets by a sweep and grouped 5-fold cross-validation (the same value in every fold).
pub const THRESHOLD: f64 = 0.24;
/// A term is specific when its idf reaches this (carried by under ~13 % of the window).
pub const MIN_IDF: f64 = 2.0;
/// Two articles share at least this many specific terms to be compared at all.
pub const MIN_SHARED: usize = 2;
/// Weight of figures against words.
pub const FIGURE_WEIGHT: f64 = 1.5;
/// Weight of the headline cosine against the whole text's.
pub const TITLE_WEIGHT: f64 = 0.5;
/// Exponent of the local discount: a term's weight × (1 + neighbours carrying it)^-this.
pub const LOCAL_DISCOUNT: f64 = 0.25;
/// Candidates are at most this far apart in time (hours).
pub const WINDOW_HOURS: f64 = 48.0;
/// A story may span this many hours before its span costs anything...
pub const FREE_HOURS: f64 = 6.0;
/// ... then each further hour costs this much of the score.
pub const PER_HOUR: f64 = 0.005;
/// Beyond this gap (hours), two articles must share terms few neighbours carry ...
pub const LATE_HOURS: f64 = 12.0;
/// ... whose idf adds up to this, a term being rare when at most [`RARE_LOCAL`] neighbours
/// carry it.
pub const LATE_IDF: f64 = 5.0;
pub const RARE_LOCAL: u32 = 2;
/// The cost of joining a story that already holds an article of the same outlet: an outlet
/// rarely reports one event twice, and its second piece is often the next development.
pub const SAME_OUTLET: f64 = 0.1;

/// Document frequencies of the window, the new article counted in.
pub struct Stats<'a> {
    pub df: &'a HashMap<u64, u32>,
    /// Document frequencies of articles counted without being candidates ([`Window::ahead`]).
    ///
    /// [`Window::ahead`]: super::Window::ahead
    pub ahead: &'a HashMap<u64, u32>,
    /// Articles in the window and ahead of it, the new one included.
    pub n: u32,
    /// The new article.
    pub new: &'a Terms,
}

impl Stats<'_> {
    /// A term's weight before the local discount: its idf, a figure's counted higher.
    pub fn weight(&self, t: &Term) -> f64 {
        let w = self.idf(t.hash);
        if t.figure { w * FIGURE_WEIGHT } else { w }
    }

    /// `ln((N+1)/(df+0.5))`, the new article counted in `df` when it carries the term.
    pub fn idf(&self, hash: u64) -> f64 {
        let own = u32::from(self.new.contains(hash));
        let mut df = self.df.get(&hash).copied().unwrap_or(0) + own;
        // Empty but for `vigie stories`: the daemon's path stays one lookup.
        if !self.ahead.is_empty() {
            df += self.ahead.get(&hash).copied().unwrap_or(0);
        }
        ((f64::from(self.n) + 1.0) / (f64::from(df) + 0.5)).ln()
    }
}

/// One earlier article as the score sees it.
pub struct Candidate<'a> {
    pub article_id: i64,
    pub story_id: i64,
    pub terms: &'a Terms,
    /// Hours between the two articles' publication.
    pub gap_hours: f64,
    /// Hours the story would span with the new article in it.
    pub span_hours: f64,
    /// The story already holds an article of the new article's outlet.
    pub same_outlet: bool,
}

/// Why an article was or was not put with an earlier one: the parts of its best score.
#[derive(Debug, Clone, PartialEq)]
pub struct Why {
    pub article_id: i64,
    pub story_id: i64,
    pub score: f64,
    /// Cosine of the whole texts and of the headlines, discounted.
    pub full: f64,
    pub title: f64,
    pub time_penalty: f64,
    pub outlet_penalty: f64,
    pub gap_hours: f64,
    /// Shared terms, heaviest first: (term, its share of the full cosine, neighbours
    /// carrying it).
    pub shared: Vec<(u64, f64, u32)>,
}

/// The outcome for a new article: its best candidate, and whether it joins that story.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Judged {
    pub best: Option<Why>,
    pub joins: bool,
}

/// A term's weight ([`Stats::weight`]) discounted by how many neighbours carry it.
fn discounted(t: &Term, stats: &Stats<'_>, local: &HashMap<u64, u32>) -> f64 {
    let l = local.get(&t.hash).copied().unwrap_or(0);
    stats.weight(t) * f64::from(1 + l).powf(-LOCAL_DISCOUNT)
}

/// Unit vectors (whole text, headline) of `terms`.
fn vectors(
    terms: &Terms,
    stats: &Stats<'_>,
    local: &HashMap<u64, u32>,
) -> (HashMap<u64, f64>, HashMap<u64, f64>) {
    let mut full = HashMap::with_capacity(terms.terms.len());
    let mut title = HashMap::new();
    for t in &terms.terms {
        let w = discounted(t, stats, local);
        full.insert(t.hash, w);
        if t.title {
            title.insert(t.hash, w);
        }
    }
    (unit(full), unit(title))
}

/// The lengths (whole text, headline) of a candidate's weight vectors: its cosine with the
/// new article needs only these and the shared terms' weights, no vector of its own.
fn norms(terms: &Terms, stats: &Stats<'_>, local: &HashMap<u64, u32>) -> (f64, f64) {
    let (mut full, mut title) = (0.0, 0.0);
    for t in &terms.terms {
        let w = discounted(t, stats, local);
        full += w * w;
        if t.title {
            title += w * w;
        }
    }
    (full.sqrt(), title.sqrt())
}

fn unit(mut v: HashMap<u64, f64>) -> HashMap<u64, f64> {
    let norm = v.values().map(|x| x * x).sum::<f64>().sqrt();
    if norm > 0.0 {
        v.values_mut().for_each(|x| *x /= norm);
    }
    v
}

/// The gates: not another day's figures; enough specific shared terms; past
/// [`LATE_HOURS`], enough rare ones.
fn passes(shared: &[u64], c: &Candidate<'_>, stats: &Stats<'_>, local: &HashMap<u64, u32>) -> bool {
    if stats.new.other_day_figures(c.terms) {
        return false;
    }
    let specific = (shared.iter())
        .filter(|&&h| stats.idf(h) >= MIN_IDF)
        .count();
    if specific < MIN_SHARED {
        return false;
    }
    if c.gap_hours > LATE_HOURS {
        let rare: f64 = (shared.iter())
            .filter(|h| local.get(h).copied().unwrap_or(0) <= RARE_LOCAL)
            .map(|&h| stats.idf(h))
            .sum();
        if rare < LATE_IDF {
            return false;
        }
    }
    true
}

/// The score of the new article's unit vectors `new` against candidate `c`, whose vectors
/// have the lengths `norms`, with its parts.
fn why(
    c: &Candidate<'_>,
    shared: &[u64],
    new: (&HashMap<u64, f64>, &HashMap<u64, f64>),
    norms: (f64, f64),
    (stats, local): (&Stats<'_>, &HashMap<u64, u32>),
) -> Why {
    let (mut cf, mut ct) = (0.0, 0.0);
    let mut parts: Vec<(u64, f64, u32)> = Vec::with_capacity(shared.len());
    for &h in shared {
        let Some(t) = c.terms.get(h) else { continue };
        let w = discounted(t, stats, local);
        let share = if norms.0 > 0.0 {
            new.0.get(&h).unwrap_or(&0.0) * w / norms.0
        } else {
            0.0
        };
        cf += share;
        if t.title && norms.1 > 0.0 {
            ct += new.1.get(&h).unwrap_or(&0.0) * w / norms.1;
        }
        parts.push((h, share, local.get(&h).copied().unwrap_or(0)));
    }
    let time_penalty = PER_HOUR * (c.span_hours - FREE_HOURS).max(0.0);
    let outlet_penalty = if c.same_outlet { SAME_OUTLET } else { 0.0 };
    let score = (cf + TITLE_WEIGHT * ct) / (1.0 + TITLE_WEIGHT) - time_penalty - outlet_penalty;
    parts.sort_by(|a, b| b.1.total_cmp(&a.1));
    parts.truncate(8);
    Why {
        article_id: c.article_id,
        story_id: c.story_id,
        score,
        full: cf,
        title: ct,
        time_penalty,
        outlet_penalty,
        gap_hours: c.gap_hours,
        shared: parts,
    }
}

/// Judge a new article (`terms`) against its candidates: the best score, and whether it
/// reaches [`THRESHOLD`].
pub fn judge(candidates: &[Candidate<'_>], stats: &Stats<'_>) -> Judged {
    let terms = stats.new;
    if terms.apart() || candidates.is_empty() {
        return Judged::default();
    }
    // How many neighbours carry each term: a term most of them carry names the saga.
    let mut local: HashMap<u64, u32> = HashMap::new();
    for c in candidates {
        for t in &c.terms.terms {
            *local.entry(t.hash).or_default() += 1;
        }
    }
    let (full, title) = vectors(terms, stats, &local);
    let mut best: Option<Why> = None;
    for c in candidates {
        let shared: Vec<u64> = (terms.terms.iter())
            .filter(|t| c.terms.contains(t.hash))
            .map(|t| t.hash)
            .collect();
        if !passes(&shared, c, stats, &local) {
            continue;
        }
        let norms = norms(c.terms, stats, &local);
        let why = why(c, &shared, (&full, &title), norms, (stats, &local));
        if best.as_ref().is_none_or(|b| why.score > b.score) {
            best = Some(why);
        }
    }
    let joins = best.as_ref().is_some_and(|b| b.score >= THRESHOLD);
    Judged { best, joins }
}
