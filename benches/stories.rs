//! Benchmark of the near-duplicate step (contract §4): what one new article costs —
//! normalising, shingling and MinHash (`fingerprint`), then finding its story among
//! 100,000 articles of a 7-day window (`place`, new and copy) — and what that index
//! holds in memory (printed once: the index's own byte count and the process's RSS
//! growth while building it). Articles are generated from fixed seeds out of the words
//! of the labelled set (`tests/fixtures/stories/`), about 300 words each, one in ten a
//! trimmed copy of an earlier one, so runs are comparable.
//!
//! Then the event step (`stories::event`): what filing one new article (its title and
//! teaser reduced to terms, then judged against the window) costs with 1,000, 10,000 and
//! 100,000 articles in the 48-hour window, and what the window holds at 100,000.
//!
//! `cargo bench --bench stories`

use std::hint::black_box;

use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use vigie::stories::event::{self, Member, Window};
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

/// Print what a structure of `len` articles takes: `heap` bytes as its own `counter` counts
/// them, and how much the process's resident memory grew since `rss_before`.
fn report_memory(
    what: &str,
    span: &str,
    (len, heap, counter): (usize, usize, &str),
    rss_before: Option<usize>,
) {
    let grew = rss_before
        .zip(rss_bytes())
        .map_or("(unknown)".to_string(), |(a, b)| {
            format!("{:.1} MB", b.saturating_sub(a) as f64 / 1e6)
        });
    let span = if span.is_empty() {
        String::new()
    } else {
        format!(" {span}")
    };
    eprintln!(
        "{what}: {len} articles{span}, {:.1} MB counted by {counter} ({} bytes an article); \
         process RSS grew {grew} while building it",
        heap as f64 / 1e6,
        heap / len.max(1),
    );
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
    report_memory(
        "stories index",
        "over 7 days",
        (index.len(), index.heap_bytes(), "Index::heap_bytes"),
        rss_before,
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

/// A headline and a teaser: 12 and 40 words.
fn teaser(rng: &mut Rng, vocab: &[String]) -> (String, String) {
    let mut words = |n: usize| {
        (0..n)
            .map(|_| vocab[rng.below(vocab.len())].as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    (words(12), words(40))
}

/// Another outlet's wording of `of`: two thirds of its words kept, the rest changed.
fn rewrite(rng: &mut Rng, of: &(String, String), vocab: &[String]) -> (String, String) {
    let mut redo = |text: &str| {
        (text.split_whitespace())
            .map(|w| {
                if rng.below(3) == 0 {
                    vocab[rng.below(vocab.len())].as_str()
                } else {
                    w
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    (redo(&of.0), redo(&of.1))
}

/// A window of `n` articles published over the 48 hours before `now` by 40 outlets, one
/// in five another outlet's wording of a recent article (it joins that story).
fn window_of(n: usize, now: i64, vocab: &[String]) -> (Window, Vec<(String, String)>) {
    let mut rng = Rng(0x00e0_e275_0f57_0000 + n as u64);
    let mut w = Window::default();
    let mut recent: Vec<(String, String)> = Vec::new();
    let step = 48 * 3600 / n as i64;
    for i in 0..n {
        let text = if !recent.is_empty() && rng.below(5) == 0 {
            let of = recent[rng.below(recent.len())].clone();
            rewrite(&mut rng, &of, vocab)
        } else {
            teaser(&mut rng, vocab)
        };
        let at = now - 48 * 3600 + step * i as i64;
        let terms = event::terms(&text.0, &text.1, "");
        let id = i as i64 + 1;
        let judged = w.judge(&terms, at, (i % 40) as i64);
        let story = match judged.best {
            Some(why) if judged.joins => why.story_id,
            _ => id,
        };
        w.insert(Member {
            article_id: id,
            story_id: story,
            seen: at,
            at,
            outlet: (i % 40) as i64,
            terms,
        });
        recent.push(text);
        if recent.len() > 200 {
            recent.remove(0);
        }
    }
    (w, recent)
}

fn bench_events(c: &mut Criterion) {
    let vocab = vocabulary();
    let now = 1_488_369_600; // 2017-03-01T12:00:00Z
    let mut g = c.benchmark_group("stories-event");
    g.sample_size(30);
    for n in [1_000, 10_000, 100_000] {
        let rss_before = rss_bytes();
        let (window, recent) = window_of(n, now, &vocab);
        report_memory(
            "event window",
            "",
            (window.len(), window.heap_bytes(), "Window::heap_bytes"),
            rss_before,
        );
        let mut rng = Rng(0xbe11_0000 + n as u64);
        let fresh: Vec<(String, String)> = (0..64).map(|_| teaser(&mut rng, &vocab)).collect();
        let copies: Vec<(String, String)> = (0..64)
            .map(|_| {
                let of = recent[rng.below(recent.len())].clone();
                rewrite(&mut rng, &of, &vocab)
            })
            .collect();
        let mut i = 0;
        for (what, texts) in [("new event", &fresh), ("rewording", &copies)] {
            g.bench_function(format!("file a {what} among {n}"), |b| {
                b.iter(|| {
                    i = (i + 1) % texts.len();
                    let terms = event::terms(&texts[i].0, &texts[i].1, "");
                    black_box(window.judge(&terms, now, 99))
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench, bench_events);
criterion_main!(benches);
