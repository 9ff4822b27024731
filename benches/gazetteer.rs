//! Gazetteer benchmarks: decoding the embedded data (what the first `place:` rule costs), one
//! `place:` resolution, and `within(100km, Damascus)` with the names it expands to.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use vigie::gazetteer::{self, Gazetteer};

fn bench(c: &mut Criterion) {
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

    let g = gazetteer::get().expect("loads");
    c.bench_function("gazetteer/resolve Palmyre", |b| {
        b.iter(|| g.resolve(black_box("Palmyre"), None).expect("resolves"))
    });
    c.bench_function("gazetteer/resolve Homs/LY", |b| {
        b.iter(|| g.resolve(black_box("Homs"), Some("LY")).expect("resolves"))
    });
    let damascus = g.resolve("Damascus", None).expect("resolves").place.id;
    let area = g.within(damascus, 100.0);
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
        b.iter(|| g.names_of(&g.within(black_box(damascus), 100.0)).len())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
