//! Stories stage, events: the window of recent articles' terms — document frequencies, an
//! inverted index from term to articles, and each story's time span and outlets. Pure: the
//! caller says when articles leave (`evict`).
//!
//! Invariants: a lookup reads at most [`QUERY_TERMS`] posting lists and at most
//! [`POSTINGS`] live entries of each, newest first, so an article's cost is bounded whatever
//! the window holds; document frequencies count every live article once; an article inserted
//! again (an edit) replaces its old terms and keeps its story; articles leave in the order they
//! came, and their postings with them. An article is compared with other outlets' articles
//! only: an outlet's second piece on an event is an update or a copy (the fingerprints find
//! copies), and an update is news.

use std::collections::{HashMap, VecDeque};

use super::score::{self, Candidate, Judged, Stats};
use super::{POSTINGS, QUERY_TERMS, Terms};

/// An article of the window.
#[derive(Debug, Clone)]
pub struct Member {
    pub article_id: i64,
    pub story_id: i64,
    /// When it was first seen (Unix seconds): it leaves the window by this time.
    pub seen: i64,
    /// When it was published (Unix seconds; when first seen if the feed said nothing
    /// believable): what the score's times are.
    pub at: i64,
    /// The feed it came from.
    pub outlet: i64,
    pub terms: Terms,
}

/// A story's extent in the window: its earliest and latest publication, its outlets.
#[derive(Debug, Default)]
struct Span {
    lo: i64,
    hi: i64,
    outlets: Vec<i64>,
    members: u32,
}

#[derive(Default)]
pub struct Window {
    /// Members in the order they came; `None` once replaced by a newer version.
    members: VecDeque<Option<Member>>,
    /// The sequence number of `members[0]`.
    first: u64,
    /// The live members: article → sequence number (their count is the window's size).
    by_article: HashMap<i64, u64>,
    df: HashMap<u64, u32>,
    /// Term → sequence numbers of the members carrying it, ascending.
    postings: HashMap<u64, VecDeque<u64>>,
    stories: HashMap<i64, Span>,
    /// Terms of articles counted in the document frequencies but never candidates, and how
    /// many articles: see [`Window::ahead`].
    ahead: HashMap<u64, u32>,
    ahead_n: u32,
}

impl Window {
    pub fn len(&self) -> usize {
        self.by_article.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_article.is_empty()
    }

    pub fn contains(&self, article_id: i64) -> bool {
        self.by_article.contains_key(&article_id)
    }

    fn get(&self, seq: u64) -> Option<&Member> {
        let k = usize::try_from(seq.checked_sub(self.first)?).ok()?;
        self.members.get(k)?.as_ref()
    }

    /// Add an article; one already present is replaced (an edit: it keeps its story).
    pub fn insert(&mut self, m: Member) {
        if let Some(old) = self.by_article.remove(&m.article_id) {
            self.forget(old);
        }
        let seq = self.first + self.members.len() as u64;
        for t in &m.terms.terms {
            *self.df.entry(t.hash).or_default() += 1;
            self.postings.entry(t.hash).or_default().push_back(seq);
        }
        let span = self.stories.entry(m.story_id).or_insert_with(|| Span {
            lo: m.at,
            hi: m.at,
            ..Span::default()
        });
        span.lo = span.lo.min(m.at);
        span.hi = span.hi.max(m.at);
        if !span.outlets.contains(&m.outlet) {
            span.outlets.push(m.outlet);
        }
        span.members += 1;
        self.by_article.insert(m.article_id, seq);
        self.members.push_back(Some(m));
    }

    /// Count an article that is not filed yet in the document frequencies (`vigie stories`:
    /// the files' items still to come). A window of a handful of articles cannot tell a
    /// specific term from «le» or "the"; the files' other items can. `back` takes it out
    /// again, before the article is judged and filed.
    pub fn ahead(&mut self, terms: &Terms, back: bool) {
        let step = |n: u32| if back { n.saturating_sub(1) } else { n + 1 };
        for t in &terms.terms {
            let d = self.ahead.entry(t.hash).or_default();
            *d = step(*d);
        }
        self.ahead_n = step(self.ahead_n);
    }

    /// How many articles weigh terms: the window's and those counted ahead.
    pub fn weighed(&self) -> usize {
        self.len() + self.ahead_n as usize
    }

    /// Take a member's counts out; its slot stays (postings still point at it) but is empty.
    fn forget(&mut self, seq: u64) -> Option<Member> {
        let k = usize::try_from(seq.checked_sub(self.first)?).ok()?;
        let m = self.members.get_mut(k)?.take()?;
        for t in &m.terms.terms {
            if let Some(d) = self.df.get_mut(&t.hash) {
                *d = d.saturating_sub(1);
                if *d == 0 {
                    self.df.remove(&t.hash);
                }
            }
        }
        if let Some(s) = self.stories.get_mut(&m.story_id) {
            s.members = s.members.saturating_sub(1);
            if s.members == 0 {
                self.stories.remove(&m.story_id);
            }
        }
        Some(m)
    }

    /// Drop the members first seen before `before` (Unix seconds), oldest first.
    pub fn evict(&mut self, before: i64) {
        while let Some(front) = self.members.front() {
            if front.as_ref().is_some_and(|m| m.seen >= before) {
                break;
            }
            let seq = self.first;
            let gone = self.forget(seq);
            self.members.pop_front();
            self.first += 1;
            if let Some(m) = gone {
                self.by_article.remove(&m.article_id);
                for t in &m.terms.terms {
                    self.prune(t.hash);
                }
            }
        }
    }

    /// Drop the postings of `hash` that point before the window.
    fn prune(&mut self, hash: u64) {
        if let Some(list) = self.postings.get_mut(&hash) {
            while list.front().is_some_and(|&s| s < self.first) {
                list.pop_front();
            }
            if list.is_empty() {
                self.postings.remove(&hash);
            }
        }
    }

    /// Judge a new article published at `at` by feed `outlet` against the window: its best
    /// earlier article and whether it joins that story.
    pub fn judge(&self, terms: &Terms, at: i64, outlet: i64) -> Judged {
        if terms.apart() {
            return Judged::default();
        }
        let stats = Stats {
            df: &self.df,
            ahead: &self.ahead,
            n: u32::try_from(self.weighed())
                .unwrap_or(u32::MAX)
                .saturating_add(1),
            new: terms,
        };
        let mut keys: Vec<(f64, u64)> = (terms.terms.iter())
            .map(|t| (stats.weight(t), t.hash))
            // A term no earlier article carries leads nowhere: it would waste a lookup.
            .filter(|&(w, h)| w >= score::MIN_IDF && self.postings.contains_key(&h))
            .collect();
        keys.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        keys.truncate(QUERY_TERMS);
        let window = (score::WINDOW_HOURS * 3600.0) as i64;
        let mut seqs: Vec<u64> = Vec::new();
        for (_, hash) in keys {
            let Some(list) = self.postings.get(&hash) else {
                continue;
            };
            let newest = list.iter().rev().take(2 * POSTINGS);
            let live = newest.filter_map(|&s| Some((s, self.get(s)?)));
            for (seq, m) in live.take(POSTINGS) {
                if m.outlet != outlet && !m.terms.apart() && (m.at - at).abs() <= window {
                    seqs.push(seq);
                }
            }
        }
        // An article reached by one query term only shares too little to be the same event:
        // it cannot pass the score's gate of two specific shared terms but by terms outside
        // the query, so only those reached twice are scored.
        seqs.sort_unstable();
        let mut reached = Vec::with_capacity(seqs.len() / 2);
        for run in seqs.chunk_by(|a, b| a == b) {
            if run.len() >= score::MIN_SHARED {
                reached.push(run[0]);
            }
        }
        let seqs = reached;
        let candidates: Vec<Candidate<'_>> = (seqs.iter())
            .filter_map(|&s| self.get(s))
            .filter_map(|m| {
                let span = self.stories.get(&m.story_id)?;
                Some(Candidate {
                    article_id: m.article_id,
                    story_id: m.story_id,
                    terms: &m.terms,
                    gap_hours: (m.at - at).abs() as f64 / 3600.0,
                    span_hours: (span.hi.max(at) - span.lo.min(at)) as f64 / 3600.0,
                    same_outlet: span.outlets.contains(&outlet),
                })
            })
            .collect();
        score::judge(&candidates, &stats)
    }

    /// Bytes held on the heap, roughly (for the benchmark's memory figure).
    pub fn heap_bytes(&self) -> usize {
        let terms: usize = (self.members.iter().flatten())
            .map(|m| std::mem::size_of::<Member>() + m.terms.terms.capacity() * 16)
            .sum();
        let postings: usize = self.postings.values().map(|l| 32 + l.capacity() * 8).sum();
        terms + postings + self.df.capacity() * 16 + self.by_article.capacity() * 16
    }
}
