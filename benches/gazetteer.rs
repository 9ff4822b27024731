//! Gazetteer benchmarks: decoding the embedded data (what the first `place:` rule costs), one
//! `place:` resolution, and `within(100km, Damascus)` with the names it expands to.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use vigie::rules::gazetteer::{self, Gazetteer};

/// A line of /proc/self/status, in kB (Linux only; 0 elsewhere).
fn status_kb(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(key)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn bench(c: &mut Criterion) {
    // The first use, as a rule compiler sees it: time and memory of `get()`, measured before
    // anything else has grown the heap.
    let (rss, started) = (status_kb("VmRSS:"), Instant::now());
    let g = gazetteer::get().expect("loads");
    eprintln!(
        "first gazetteer::get(): {:.1} ms, RSS +{} kB (VmRSS {} kB, VmHWM {} kB)",
        started.elapsed().as_secs_f64() * 1000.0,
        status_kb("VmRSS:").saturating_sub(rss),
        status_kb("VmRSS:"),
        status_kb("VmHWM:"),
    );

    let data = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/gazetteer.tsv.gz"
    ))
    .expect("data/gazetteer.tsv.gz");
    let mut group = c.benchmark_group("gazetteer");
    group.sample_size(10);
    group.bench_function("load", |b| {
        b.iter(|| Gazetteer::parse(black_box(&data)).expect("loads"))
    });
    group.finish();

    c.bench_function("gazetteer/resolve Palmyre", |b| {
        b.iter(|| g.resolve(black_box("Palmyre"), None).expect("resolves"))
    });
    c.bench_function("gazetteer/resolve Homs/LY", |b| {
        b.iter(|| g.resolve(black_box("Homs"), Some("LY")).expect("resolves"))
    });
    let damascus = g.resolve("Damascus", None).expect("resolves").place.id;
    let area = g.within(damascus, 100.0).expect("an area");
    let names = g.names_of(&area);
    eprintln!(
        "within(100km, Damascus): {} places, {} distinct names",
        area.len(),
        names.len()
    );
    c.bench_function("gazetteer/within 100km Damascus", |b| {
        b.iter(|| g.within(black_box(damascus), 100.0))
    });
    c.bench_function("gazetteer/within 100km Damascus + names", |b| {
        b.iter(|| {
            g.names_of(&g.within(black_box(damascus), 100.0).unwrap_or_default())
                .len()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
