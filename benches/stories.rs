//! Benchmark of the near-duplicate step (contract §4): what one new article costs —
//! normalising, shingling and MinHash (`fingerprint`), then finding its story among
//! 100,000 articles of a 7-day window (`place`, new and copy) — and what that index
//! holds in memory (printed once: the index's own byte count and the process's RSS
//! growth while building it). Articles are generated from fixed seeds out of the words
//! of the labelled set (`tests/fixtures/stories/`), about 300 words each, one in ten a
//! trimmed copy of an earlier one, so runs are comparable.
//!
//! `cargo bench --bench stories`

use std::hint::black_box;

use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use vigie::stories::{self, Entry, Index};

const ARTICLES: usize = 100_000;
const WORDS: usize = 300;

/// xorshift64*: a fixed, dependency-free stream of numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Every word of the labelled set, repeated as often as it occurs there (so common
/// words are drawn as often as in news), plus numbers.
fn vocabulary() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stories");
    let mut words = Vec::new();
    for e in std::fs::read_dir(dir).expect("fixtures") {
        let path = e.expect("entry").path();
        if path.extension().is_some_and(|x| x == "txt") {
            let text = std::fs::read_to_string(&path).expect("fixture");
            words.extend(text.split_whitespace().map(str::to_string));
        }
    }
    words.extend((0..2_000).map(|n| n.to_string()));
    words
}

fn article(rng: &mut Rng, vocab: &[String]) -> String {
    (0..WORDS)
        .map(|_| vocab[rng.below(vocab.len())].as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A wire copy: a dateline, the last 15 % cut, one word in fifty changed.
fn copy_of(rng: &mut Rng, original: &str, vocab: &[String]) -> String {
    let words: Vec<&str> = original.split_whitespace().collect();
    let kept = words.len() * 85 / 100;
    let mut out = vec!["PARIS", "(AFP)", "-"];
    for w in &words[..kept] {
        out.push(if rng.below(50) == 0 {
            &vocab[rng.below(vocab.len())]
        } else {
            w
        });
    }
    out.join(" ")
}

fn rss_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// An index of `ARTICLES` articles first seen over the 7 days before `now`, one in ten a
/// copy of an earlier one (it joins that story), and some texts to look up.
fn build(now: DateTime<Utc>) -> (Index, Vec<String>, Vec<String>) {
    let vocab = vocabulary();
    let mut rng = Rng(0x5eed_0f57_091e_5eed);
    let mut index = Index::new();
    let mut kept: Vec<String> = Vec::new();
    let start = now - Duration::days(7);
    let step = Duration::days(7).num_seconds() / ARTICLES as i64;
    let rss_before = rss_bytes();
    for i in 0..ARTICLES {
        let body = if i > 0 && rng.below(10) == 0 {
            let original = kept[rng.below(kept.len())].clone();
            copy_of(&mut rng, &original, &vocab)
        } else {
            article(&mut rng, &vocab)
        };
        let seen = start + Duration::seconds(step * i as i64);
        let placed = stories::place(&index, "", "", &body, seen - Duration::days(7));
        let id = i as i64 + 1;
        let story = placed.found.map_or(id, |f| f.story_id);
        if let Some(fp) = placed.fingerprint {
            index.insert(Entry {
                article_id: id,
                story_id: story,
                seen_at: seen,
                fingerprint: fp,
            });
        }
        if i % 97 == 0 {
            kept.push(body);
        }
    }
    let rss_growth = rss_before
        .zip(rss_bytes())
        .map(|(a, b)| b.saturating_sub(a));
    eprintln!(
        "stories index: {} articles over 7 days, {:.1} MB counted by Index::heap_bytes \
         ({} bytes an article); process RSS grew {} while building it",
        index.len(),
        index.heap_bytes() as f64 / 1e6,
        index.heap_bytes() / index.len().max(1),
        rss_growth.map_or("(unknown)".to_string(), |b| format!(
            "{:.1} MB",
            b as f64 / 1e6
        )),
    );
    let fresh: Vec<String> = (0..64).map(|_| article(&mut rng, &vocab)).collect();
    let copies: Vec<String> = (0..64)
        .map(|_| {
            let original = kept[rng.below(kept.len())].clone();
            copy_of(&mut rng, &original, &vocab)
        })
        .collect();
    (index, fresh, copies)
}

fn bench(c: &mut Criterion) {
    let now = DateTime::parse_from_rfc3339("2017-03-01T12:00:00Z")
        .expect("a date")
        .to_utc();
    let (index, fresh, copies) = build(now);
    let since = now - Duration::days(7);
    let mut g = c.benchmark_group("stories");
    g.sample_size(50);
    let mut i = 0;
    g.bench_function("fingerprint (300 words)", |b| {
        b.iter(|| {
            i = (i + 1) % fresh.len();
            black_box(stories::text("", "", &fresh[i]).map(|t| t.fingerprint()))
        })
    });
    g.bench_function("place a new article among 100k", |b| {
        b.iter(|| {
            i = (i + 1) % fresh.len();
            let p = stories::place(&index, "", "", &fresh[i], since);
            assert!(p.found.is_none());
            black_box(p)
        })
    });
    g.bench_function("place a wire copy among 100k", |b| {
        b.iter(|| {
            i = (i + 1) % copies.len();
            let p = stories::place(&index, "", "", &copies[i], since);
            assert!(p.found.is_some());
            black_box(p)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
