//! Benchmark of rule matching: 16 French news articles of ~5 KB (the seed article plus generated
//! filler) against 100, 1,000 and 10,000 generated watches of about 10 terms each. Terms are
//! made-up words from a 30,000-word vocabulary, 2% real French words, 10% phrases, 10%
//! prefixes; watches come in 5 shapes mixing AND, OR, NOT, NEAR, field scopes and entities (50
//! generated ones, and `@daech` in 1 watch in 20, which the seed article always matches).
//! Throughput is in article bytes, folding included; the setup line printed before each size
//! gives the pattern count, the build time and how many (watch, article) matches there are.
//! At 1,000 watches, a variant adds one `within(100km, Damascus)` watch: the cost of a place
//! watch (its build, gazetteer decoding included, is printed too); another replaces 100 of the
//! 1,000 by `within()` watches around 25 towns of the news. At 10,000 watches, a
//! variant writes every plain word of 1 watch in 10 as a `~` name (names in every spelling):
//! to compare with the same 10,000 watches without `~`.
//! Invariant: everything is generated from fixed seeds, so runs are comparable.

use std::collections::HashSet;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vigie::rules::{Document, EntityDef, Matcher, WatchDef};

const SEED: &str = include_str!("../../shared/seed-article.txt");
const ARTICLES: usize = 16;
const ARTICLE_BYTES: usize = 5_000;

/// Real French words of the news, some in the seed article and some not.
const REAL: &[&str] = &[
    "Palmyre",
    "Genève",
    "Syrie",
    "armée",
    "offensive",
    "négociations",
    "Raqa",
    "Homs",
    "Pentagone",
    "coalition",
    "troupes",
    "milices",
    "terroristes",
    "diplomatique",
    "Constitution",
    "élections",
    "gouvernance",
    "village",
    "désert",
    "Kirkouk",
    "élection",
    "budget",
    "inflation",
    "grève",
    "sénat",
    "réforme",
    "chômage",
    "Bruxelles",
    "Moscou",
    "Ankara",
    "Téhéran",
    "Bagdad",
    "Mossoul",
    "pétrole",
    "attentat",
    "réfugiés",
    "frontière",
    "cessez-le-feu",
    "otages",
    "drone",
];

/// Filler words: common French words (most are not watch terms).
const FILLER: &[&str] = &[
    "le",
    "la",
    "les",
    "des",
    "une",
    "un",
    "et",
    "dans",
    "pour",
    "sur",
    "avec",
    "par",
    "selon",
    "qui",
    "que",
    "a",
    "été",
    "ont",
    "sont",
    "leur",
    "cette",
    "depuis",
    "entre",
    "après",
    "contre",
    "mois",
    "jours",
    "région",
    "forces",
    "gouvernement",
    "ministre",
    "président",
    "pays",
    "ville",
    "source",
    "agence",
    "presse",
    "déclaré",
    "indiqué",
    "ajouté",
    "hier",
    "aujourd'hui",
    "l'armée",
    "d'une",
    "l'État",
    "qu'il",
    "nouvelle",
    "première",
    "plusieurs",
    "trois",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Made-up words: 2 to 4 syllables, distinct.
fn vocabulary(rng: &mut Rng, n: usize) -> Vec<String> {
    const SYL: &[&str] = &[
        "ka", "lo", "mi", "ra", "te", "su", "vi", "no", "ba", "dé", "fo", "gu", "ze", "pa", "ri",
        "xo", "lan", "mer", "tus", "sav", "bri", "qua", "zel", "dor", "vin",
    ];
    let mut seen = HashSet::new();
    let mut words = Vec::with_capacity(n);
    while words.len() < n {
        let k = 2 + rng.below(3);
        let w: String = (0..k).map(|_| rng.pick(SYL)).collect();
        if seen.insert(w.clone()) {
            words.push(w);
        }
    }
    words
}

fn articles(rng: &mut Rng, vocab: &[String]) -> Vec<String> {
    (0..ARTICLES)
        .map(|_| {
            let mut a = String::from(SEED);
            while a.len() < ARTICLE_BYTES {
                a.push(' ');
                let w = if rng.chance(2) {
                    vocab[rng.below(vocab.len())].as_str()
                } else if rng.chance(5) {
                    rng.pick(REAL)
                } else {
                    rng.pick(FILLER)
                };
                if rng.chance(8) {
                    let mut c = w.chars();
                    if let Some(f) = c.next() {
                        a.extend(f.to_uppercase());
                        a.push_str(c.as_str());
                    }
                } else {
                    a.push_str(w);
                }
                if rng.chance(10) {
                    a.push_str(if rng.chance(50) { "." } else { "," });
                }
            }
            a
        })
        .collect()
}

fn entities(rng: &mut Rng, vocab: &[String]) -> Vec<EntityDef> {
    let mut e: Vec<EntityDef> = (0..50)
        .map(|i| EntityDef {
            name: format!("e{i}"),
            names: (0..5)
                .map(|_| vocab[rng.below(vocab.len())].clone())
                .collect(),
        })
        .collect();
    e.push(EntityDef {
        name: "daech".into(),
        names: [
            "Etat islamique",
            "Islamic State",
            "Daech",
            "Daesh",
            "ISIS",
            "ISIL",
            "EI",
            "EIIL",
        ]
        .map(String::from)
        .to_vec(),
    });
    e
}

/// One term: mostly a made-up word, sometimes (2%) a real word; 10% phrases, 10% prefixes.
fn term(rng: &mut Rng, vocab: &[String]) -> String {
    let word = |rng: &mut Rng| {
        if rng.chance(2) {
            rng.pick(REAL).to_owned()
        } else {
            vocab[rng.below(vocab.len())].clone()
        }
    };
    match rng.below(10) {
        0 => format!("\"{} {}\"", word(rng), word(rng)),
        1 => {
            let w = word(rng);
            let stem: String = w.chars().take(5).collect();
            if stem.chars().count() >= 3 {
                format!("{stem}*")
            } else {
                w
            }
        }
        _ => word(rng),
    }
}

fn watches(rng: &mut Rng, vocab: &[String], n: usize) -> Vec<WatchDef> {
    (0..n)
        .map(|i| {
            let mut t = || term(rng, vocab);
            let query = match i % 5 {
                0 => format!(
                    "({} OR {} OR {}) AND ({} OR {}) -{} {} OR {} {} {}",
                    t(),
                    t(),
                    t(),
                    t(),
                    t(),
                    t(),
                    t(),
                    t(),
                    t(),
                    t()
                ),
                1 => format!(
                    "NEAR/8({}, {} OR {}) OR ({} {}) OR ({} {} NOT {}) OR {} {}",
                    t(),
                    t(),
                    t(),
                    t(),
                    t(),
                    t(),
                    t(),
                    t(),
                    t(),
                    t()
                ),
                2 => format!(
                    "@e{} ({} OR {} OR {}) NOT ({} OR {}) OR title:({} {}) OR {} {}",
                    i % 50,
                    t(),
                    t(),
                    t(),
                    t(),
                    t(),
                    t(),
                    t(),
                    t(),
                    t()
                ),
                3 => {
                    // One watch in 20 follows the Islamic State: the seed article matches it.
                    let ent = if i % 20 == 3 {
                        "daech".to_owned()
                    } else {
                        format!("e{}", i % 50)
                    };
                    format!(
                        "@{ent} ({} OR {} OR {} OR {}) OR ({} {} {}) OR NEAR/5({}, {}) {}",
                        t(),
                        t(),
                        t(),
                        t(),
                        t(),
                        t(),
                        t(),
                        t(),
                        t(),
                        t()
                    )
                }
                _ => format!(
                    "{} {} OR {} {} OR {} {} OR {} {} -{} -{}",
                    t(),
                    t(),
                    t(),
                    t(),
                    t(),
                    t(),
                    t(),
                    t(),
                    t(),
                    t()
                ),
            };
            WatchDef {
                name: format!("w{i}"),
                query,
            }
        })
        .collect()
}

fn bench_matching(c: &mut Criterion) {
    let mut rng = Rng(0x05EE_D0F5_171E);
    let vocab = vocabulary(&mut rng, 30_000);
    let docs = articles(&mut rng, &vocab);
    let ents = entities(&mut rng, &vocab);
    let bytes: usize = docs.iter().map(String::len).sum();

    let mut group = c.benchmark_group("matching");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Bytes(bytes as u64));
    for n in [100, 1_000, 10_000] {
        let defs = watches(&mut rng, &vocab, n);
        let t0 = Instant::now();
        let matcher = match Matcher::build(&ents, &defs) {
            Ok(m) => m,
            Err(e) => panic!(
                "benchmark watches do not compile: {:?}",
                &e[..e.len().min(3)]
            ),
        };
        let built = t0.elapsed();
        // VIGIE_BENCH_DEBUG=1: show what the first article matches, to sanity-check the mix.
        if std::env::var_os("VIGIE_BENCH_DEBUG").is_some() {
            for wm in matcher
                .match_document(&Document {
                    title: "",
                    summary: "",
                    content: &docs[0],
                })
                .iter()
                .take(15)
            {
                eprintln!(
                    "{} => {:?}",
                    defs[wm.watch].query,
                    wm.hits.iter().map(|h| &h.text).collect::<Vec<_>>()
                );
            }
        }
        let matched: usize = docs
            .iter()
            .map(|d| {
                matcher
                    .match_document(&Document {
                        title: "",
                        summary: "",
                        content: d,
                    })
                    .len()
            })
            .sum();
        eprintln!(
            "{n} watches: {} patterns, built in {built:.2?}, {matched} matches over {} articles of ~{} bytes",
            matcher.pattern_count(),
            docs.len(),
            bytes / docs.len(),
        );
        group.bench_function(format!("{n}_watches_{ARTICLES}_articles"), |b| {
            b.iter(|| match_all(&matcher, &docs))
        });
        if n == 1_000 {
            bench_with_areas(&mut group, &ents, defs.clone(), &docs);
            bench_with_place(&mut group, &ents, defs, &docs);
        } else if n == 10_000 {
            for most in [1, usize::MAX] {
                bench_with_loose(&mut group, &ents, &defs, &docs, &matcher, most);
            }
        }
    }
    group.finish();
}

/// The same 1,000 watches plus one `within(100km, Damascus)` (some 1,600 place names more in
/// the automaton): what a place watch costs.
fn bench_with_place(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    ents: &[EntityDef],
    mut defs: Vec<WatchDef>,
    docs: &[String],
) {
    let n = defs.len();
    defs.push(WatchDef {
        name: "damascus-area".into(),
        query: "within(100km, Damascus)".into(),
    });
    // The first build also decodes the gazetteer; the second is what a reload costs.
    for pass in ["first", "again"] {
        let t0 = Instant::now();
        let matcher = match Matcher::build(ents, &defs) {
            Ok(m) => m,
            Err(e) => panic!("within(100km, Damascus) does not compile: {e:?}"),
        };
        eprintln!(
            "{n} watches + within(100km, Damascus): {} patterns, built in {:.2?} ({pass})",
            matcher.pattern_count(),
            t0.elapsed()
        );
        if pass == "again" {
            let place_hits: usize = docs
                .iter()
                .map(|d| {
                    let doc = Document {
                        title: "",
                        summary: "",
                        content: d,
                    };
                    (matcher.match_document(&doc).iter())
                        .filter(|w| w.watch == n)
                        .count()
                })
                .sum();
            eprintln!(
                "  the place watch matches {place_hits} of {} articles",
                docs.len()
            );
            group.bench_function(
                format!("{n}_watches_plus_within_100km_damascus_{ARTICLES}_articles"),
                |b| b.iter(|| match_all(&matcher, docs)),
            );
        }
    }
}

/// Plain words of a query written as `~` names (phrases, prefixes, entities, fields and
/// operators as they are), at most `most` of them: `(kalomi OR "te su") -riba` →
/// `(~kalomi OR "te su") -~riba`.
fn loosen(query: &str, most: usize) -> String {
    let mut out = String::with_capacity(query.len() + 16);
    let mut quoted = false;
    let mut word = String::new();
    let mut left = most;
    let mut flush = |word: &mut String, out: &mut String| {
        let w = std::mem::take(word);
        let (sign, bare) = w.strip_prefix('-').map_or(("", w.as_str()), |b| ("-", b));
        let plain = !bare.is_empty()
            && !matches!(bare, "OR" | "AND" | "NOT")
            && !bare.contains([':', '*', '/', '@']);
        out.push_str(sign);
        if plain && left > 0 {
            out.push('~');
            left -= 1;
        }
        out.push_str(bare);
    };
    for c in query.chars() {
        if c == '"' {
            quoted = !quoted;
        }
        if !quoted && c != '"' && !c.is_whitespace() && !matches!(c, '(' | ')' | ',') {
            word.push(c);
            continue;
        }
        flush(&mut word, &mut out);
        out.push(c);
    }
    flush(&mut word, &mut out);
    out
}

/// The same 10,000 watches with 1 watch in 10 using `~`: its first plain word written as a
/// `~` name (`most` = 1: some 1,000 names), or every plain word (some 7,000 names, many of them
/// spellings of the articles' made-up words: a worst case): what names in every spelling
/// cost, against the same watches without `~`.
fn bench_with_loose(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    ents: &[EntityDef],
    defs: &[WatchDef],
    docs: &[String],
    without: &Matcher,
    most: usize,
) {
    let n = defs.len();
    let loose: Vec<WatchDef> = (defs.iter().enumerate())
        .map(|(i, w)| WatchDef {
            name: w.name.clone(),
            query: if i % 10 == 0 {
                loosen(&w.query, most)
            } else {
                w.query.clone()
            },
        })
        .collect();
    let t0 = Instant::now();
    let matcher = match Matcher::build(ents, &loose) {
        Ok(m) => m,
        Err(e) => panic!("~ watches do not compile: {:?}", &e[..e.len().min(3)]),
    };
    let matched: usize = (docs.iter())
        .map(|d| {
            let doc = Document {
                title: "",
                summary: "",
                content: d,
            };
            matcher.match_document(&doc).len()
        })
        .sum();
    let names = matcher.loose_names().len();
    eprintln!(
        "{n} watches, 1 in 10 with ~ names ({names} names): {} patterns, built in {:.2?}, \
         {matched} matches (e.g. {})",
        matcher.pattern_count(),
        t0.elapsed(),
        loose[0].query
    );
    // The two timed in turn, round after round: on a busy machine, the ratio of the fastest
    // rounds (the least disturbed) holds better than two runs apart.
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..100 {
        let t = Instant::now();
        match_all(without, docs);
        a.push(t.elapsed());
        let t = Instant::now();
        match_all(&matcher, docs);
        b.push(t.elapsed());
    }
    a.sort();
    b.sort();
    let ratio = |x: Duration, y: Duration| x.as_secs_f64() / y.as_secs_f64();
    eprintln!(
        "  in turn, 100 rounds: fastest {:.2?} without ~, {:.2?} with ~ ({:.2} of the speed); \
         medians {:.2?} and {:.2?} ({:.2})",
        a[0],
        b[0],
        ratio(a[0], b[0]),
        a[50],
        b[50],
        ratio(a[50], b[50])
    );
    let label = if most == 1 { "one_name" } else { "all_words" };
    group.bench_function(
        format!("{n}_watches_1000_with_tilde_{label}_{ARTICLES}_articles"),
        |b| b.iter(|| match_all(&matcher, docs)),
    );
}

/// Centres of the `within()` watches of [`bench_with_areas`]: towns of the news, some with
/// homonyms elsewhere (Georgia's Tbilisi, Paris, Tripoli, Homs).
const CENTRES: &[&str] = &[
    "Damascus",
    "Aleppo",
    "Homs",
    "Palmyra",
    "Beirut",
    "Baghdad",
    "Mosul",
    "Tripoli",
    "Paris",
    "Lyon",
    "Marseille",
    "Geneva",
    "London",
    "Moscow",
    "Kyiv",
    "Tbilisi",
    "Jerusalem",
    "Gaza",
    "Cairo",
    "Istanbul",
    "Ankara",
    "Tehran",
    "Kabul",
    "Atlanta",
    "Washington",
];

/// The same 1,000 watches, 100 of them replaced by `within(N km, X)` AND one of their words
/// (every fifth a `within()` alone): what place watches in number cost.
fn bench_with_areas(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    ents: &[EntityDef],
    mut defs: Vec<WatchDef>,
    docs: &[String],
) {
    let n = defs.len();
    for (k, def) in defs.iter_mut().step_by(10).take(100).enumerate() {
        let centre = CENTRES[k % CENTRES.len()];
        let km = [20, 50, 100, 30][k % 4];
        def.query = if k % 5 == 0 {
            format!("within({km}km, {centre})")
        } else {
            format!("within({km}km, {centre}) AND ({})", def.query)
        };
    }
    let t0 = Instant::now();
    let matcher = match Matcher::build(ents, &defs) {
        Ok(m) => m,
        Err(e) => panic!("the within() watches do not compile: {e:?}"),
    };
    let matched: usize = (docs.iter())
        .map(|d| {
            let doc = Document {
                title: "",
                summary: "",
                content: d,
            };
            matcher.match_document(&doc).len()
        })
        .sum();
    eprintln!(
        "{n} watches, 100 of them within(): {} patterns, built in {:.2?}, {matched} matches",
        matcher.pattern_count(),
        t0.elapsed()
    );
    group.bench_function(format!("{n}_watches_100_within_{ARTICLES}_articles"), |b| {
        b.iter(|| match_all(&matcher, docs))
    });
}

fn match_all(matcher: &Matcher, docs: &[String]) {
    for d in docs {
        let doc = Document {
            title: "",
            summary: "",
            content: d,
        };
        black_box(matcher.match_document(black_box(&doc)));
    }
}

criterion_group!(benches, bench_matching);
criterion_main!(benches);
