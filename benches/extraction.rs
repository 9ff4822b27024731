//! Article extraction quality and speed on the 181 real pages of the article-extraction
//! benchmark (`../shared/corpora/article-extraction`, or `$VIGIE_CORPORA/article-extraction`),
//! scored as that benchmark's `evaluate.py` scores them: word 4-shingles of the extracted
//! text against the human-checked `articleBody`, true and false positives and negatives
//! normalised per page, precision and recall averaged over pages, F1 of the two averages.
//! Also pages per second on one core, and the memory that extracting the largest page adds.
//!
//! Run: `cargo bench --bench extraction`.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

use vigie::parse::page;

/// Python's `\w+` tokens (letters, digits, underscore).
fn tokens(s: &str) -> Vec<&str> {
    s.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|t| !t.is_empty())
        .collect()
}

fn shingles(s: &str) -> HashMap<Vec<&str>, usize> {
    let t = tokens(s);
    let mut m = HashMap::new();
    for i in 0..t.len().saturating_sub(3).max(1) {
        let sh = t[i..(i + 4).min(t.len())].to_vec();
        if !sh.is_empty() {
            *m.entry(sh).or_insert(0) += 1;
        }
    }
    m
}

/// (tp, fp, fn), normalised to sum to 1 (`string_shingle_matching`).
fn matching(truth: &str, pred: &str) -> (f64, f64, f64) {
    let (a, b) = (shingles(truth), shingles(pred));
    let (mut tp, mut fp, mut fn_) = (0.0, 0.0, 0.0);
    for k in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
        let t = *a.get(k).unwrap_or(&0) as f64;
        let p = *b.get(k).unwrap_or(&0) as f64;
        tp += t.min(p);
        fp += (p - t).max(0.0);
        fn_ += (t - p).max(0.0);
    }
    let s = tp + fp + fn_;
    if s > 0.0 {
        (tp / s, fp / s, fn_ / s)
    } else {
        (tp, fp, fn_)
    }
}

fn peak_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() {
    let dir = std::env::var_os("VIGIE_CORPORA")
        .map_or_else(|| PathBuf::from("../shared/corpora"), PathBuf::from)
        .join("article-extraction");
    let truth: serde_json::Value = match std::fs::read_to_string(dir.join("ground-truth.json")) {
        Ok(t) => serde_json::from_str(&t).expect("ground-truth.json is JSON"),
        Err(e) => {
            eprintln!("{}: {e} (set VIGIE_CORPORA)", dir.display());
            std::process::exit(1);
        }
    };
    let truth = truth.as_object().expect("ground truth is an object");
    let mut pages = Vec::new();
    for (id, v) in truth {
        let mut html = Vec::new();
        let file = std::fs::File::open(dir.join("html").join(format!("{id}.html.gz")))
            .expect("every page of the ground truth is there");
        flate2::read::GzDecoder::new(file)
            .read_to_end(&mut html)
            .expect("pages are gzip");
        let html = vigie::parse::charset::html_to_utf8(&html, None);
        let url = v["url"].as_str().unwrap_or_default().to_string();
        let body = v["articleBody"].as_str().unwrap_or_default().to_string();
        pages.push((id.clone(), html, url, body));
    }
    // The largest page first, before anything else raised the high-water mark.
    let largest = (0..pages.len())
        .max_by_key(|&i| pages[i].1.len())
        .expect("pages");
    let before = peak_kb();
    let t = Instant::now();
    let _ = page::extract(&pages[largest].1, Some(&pages[largest].2));
    let largest_time = t.elapsed();
    let added = peak_kb().saturating_sub(before);

    let (mut precisions, mut recalls) = (Vec::new(), Vec::new());
    let t = Instant::now();
    let mut extracted = Vec::with_capacity(pages.len());
    for (_, html, url, _) in &pages {
        extracted.push(
            page::extract(html, Some(url))
                .map(|p| p.text)
                .unwrap_or_default(),
        );
    }
    let secs = t.elapsed().as_secs_f64();
    for ((_, _, _, body), text) in pages.iter().zip(&extracted) {
        let (tp, fp, fn_) = matching(body, text);
        if tp + fp > 0.0 {
            precisions.push(if fp == 0.0 && fn_ == 0.0 {
                1.0
            } else {
                tp / (tp + fp)
            });
        }
        if tp + fn_ > 0.0 {
            recalls.push(if fp == 0.0 && fn_ == 0.0 {
                1.0
            } else {
                tp / (tp + fn_)
            });
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let (p, r) = (mean(&precisions), mean(&recalls));
    println!(
        "article extraction, {} pages ({})",
        pages.len(),
        dir.display()
    );
    println!(
        "precision {p:.3}  recall {r:.3}  F1 {:.3}   (target F1 >= 0.95)",
        2.0 * p * r / (p + r)
    );
    println!(
        "speed: {:.0} pages/s on one core ({:.1} ms a page)",
        pages.len() as f64 / secs,
        1000.0 * secs / pages.len() as f64
    );
    println!(
        "largest page ({} KB): {:.1} ms, {} KB of memory added at its peak",
        pages[largest].1.len() / 1024,
        largest_time.as_secs_f64() * 1000.0,
        added
    );
}
