//! Rules stage 2a, places: `place:NAME[/CC]` and `within(N km, NAME)` resolved in the built-in
//! gazetteer and expanded into the list of names they stand for, and what they resolved to
//! ([`PlaceReport`]) kept for `vigie check`.
//!
//! Invariants: the gazetteer is touched (and so decoded) only from [`expand`], which the
//! lowering calls only for a `place:` or `within()` node: rules without them never load it; a
//! name that does not resolve is an error of one sentence (the gazetteer's own), never a panic;
//! the names handed out are the gazetteer's usable names (noise already removed, folded, acronyms
//! in capitals), so they are compiled exactly like an entity's names.

use crate::rules::gazetteer::{self, Kind, Place};
use crate::rules::query::Expr;
use crate::rules::sense::{self, Sense};

/// Largest number of names one `within()` may expand to. `within(100km, Damascus)` gives some
/// 1,600 names, `within(500km, Damascus)` 13,000, `within(1000km, Paris)` 142,000; the whole
/// world is 620,000, which takes seconds to compile, at every start and reload, for a watch
/// that matches nearly every article anyway.
pub(crate) const MAX_AREA_NAMES: usize = 200_000;

/// What one `place:` or `within()` of the rules resolved to, for `vigie check` to show: each
/// distinct term once, with the watches that use it.
#[derive(Clone, Debug, PartialEq)]
pub struct PlaceReport {
    /// The term as the query writes it, normalised: `place:Homs/LY`, `within(60km, Homs)`.
    pub term: String,
    /// The name looked up, as written.
    pub name: String,
    /// Indices of the watches that use this term (into the `WatchDef` slice), ascending.
    pub watches: Vec<usize>,
    /// The place the name resolved to (for `within()`, the centre).
    pub place: Place,
    /// Other places of that name at least a fifth as populous: the name is ambiguous, and a
    /// country code would say which one is meant. Most populous first.
    pub rivals: Vec<Place>,
    /// For an ambiguous `within()`: the terms that centre it on a rival instead, for those
    /// rivals whose own name is theirs alone (`within(60km, "Al Khums")`).
    pub other_centres: Vec<String>,
    /// For `within()`: how many members' names were left out because a place outside the area,
    /// [`HOMONYM_RATIO`] times as populous, bears them («Damascus», Maryland, near Washington).
    pub set_aside: usize,
    /// The place's own name is not the one asked for (it was found under another of its names).
    pub other_name: bool,
    /// The radius of a `within()`, `None` for `place:`.
    pub km: Option<f64>,
    /// How many places' names are matched (1 for `place:`; for `within()`, the centre and every
    /// town in the circle).
    pub places: usize,
    /// How many distinct names are matched.
    pub names: usize,
}

impl PlaceReport {
    /// Whether the name could mean another place of comparable size.
    pub fn is_ambiguous(&self) -> bool {
        !self.rivals.is_empty()
    }

    /// One line for `vigie check`: the term, the place, its population and coordinates, and for
    /// `within()` the size of the area. «place:Palmyra → Tadmur, SY: 51,323 inhabitants,
    /// 34.560°N 38.267°E».
    pub fn describe(&self) -> String {
        let mut line = format!("{} → {}", self.term, describe_place(&self.place));
        if self.km.is_some() {
            line.push_str(&format!(
                "; {} places, {} names",
                thousands(self.places as u64),
                thousands(self.names as u64)
            ));
            if self.set_aside > 0 {
                line.push_str(&format!(
                    " ({} set aside: a place {HOMONYM_RATIO} times as populous elsewhere bears them)",
                    thousands(self.set_aside as u64)
                ));
            }
        }
        line
    }

    /// The warning `vigie check` gives when the place chosen does not bear the name asked for
    /// as its own name: it was found under one of its other names, which may be a surprise
    /// («Newton» → Tallahassee) or expected («Palmyra» → Tadmur).
    pub fn name_warning(&self) -> Option<String> {
        if !self.other_name {
            return None;
        }
        Some(format!(
            "«{}» is not the own name of {}: vigie found it among that place's other names; \
             check that it is the place meant",
            self.name,
            place_name(&self.place)
        ))
    }

    /// The warning `vigie check` gives for an ambiguous name, or `None`. «`place:Homs` may also
    /// mean Al Khums, LY (201,943 inhabitants); write place:Homs/SY or place:Homs/LY to say
    /// which».
    pub fn warning(&self) -> Option<String> {
        if self.rivals.is_empty() {
            return None;
        }
        let others: Vec<String> = self
            .rivals
            .iter()
            .map(|p| {
                format!(
                    "{} ({} inhabitants)",
                    place_name(p),
                    thousands(p.population)
                )
            })
            .collect();
        let advice = if let Some(km) = self.km {
            let mut advice = "within() is centred on the place above".to_owned();
            let mut others = self.other_centres.clone();
            // A division is named by its code: `within(50km, US-WA)` for the state.
            for p in self.rivals.iter().filter(|p| p.kind == Kind::Division) {
                others.push(format!("within({km}km, {}-{})", p.country, p.area));
            }
            if !others.is_empty() {
                advice.push_str(&format!("; for another, write {}", others.join(" or ")));
            }
            advice
        } else {
            let mut codes = vec![self.place.country.as_str()];
            for p in &self.rivals {
                if !codes.contains(&p.country.as_str()) {
                    codes.push(&p.country);
                }
            }
            let mut terms: Vec<String> = codes
                .iter()
                .map(|cc| written(&self.name, Some(cc), None))
                .collect();
            // A division is named by its code: `place:US-NY` for the state of New York.
            for p in self.rivals.iter().filter(|p| p.kind == Kind::Division) {
                terms.push(format!("place:{}-{}", p.country, p.area));
            }
            format!("write {} to say which", terms.join(" or "))
        };
        Some(format!(
            "«{}» may also mean {}; {advice}",
            self.name,
            others.join(", ")
        ))
    }
}

/// «Tadmur, SY-HI: 51,323 inhabitants, 34.560°N 38.267°E»; a country's point is its capital's,
/// a division's its largest town's.
fn describe_place(p: &Place) -> String {
    let at = coordinates(p.lat, p.lon);
    let people = thousands(p.population);
    let name = place_name(p);
    match p.kind {
        Kind::Town => format!("{name}: {people} inhabitants, {at}"),
        Kind::Landmark => format!("{name}: a landmark, {at}"),
        Kind::County => format!("{name}: {people} inhabitants in its towns, largest at {at}"),
        Kind::Country => format!("{name}: {people} inhabitants, capital at {at}"),
        Kind::Division if p.area == "?" || p.area.is_empty() => {
            format!("{name}: which towns it holds is unknown")
        }
        Kind::Division => format!("{name}: {people} inhabitants in its towns, largest at {at}"),
        Kind::Region => match p.area.strip_prefix('~') {
            Some(km) => format!("{name}: {km} km around {at}"),
            None => format!(
                "{name}: {} countries, {people} inhabitants",
                p.area.split(',').count()
            ),
        },
    }
}

/// «Tadmur, SY-HI», «Syria (country, SY)», «Texas (division, US-TX)», «Sahel (region)».
fn place_name(p: &Place) -> String {
    match p.kind {
        Kind::Town if p.area.is_empty() => format!("{}, {}", p.name, p.country),
        Kind::Town => format!("{}, {}-{}", p.name, p.country, p.area),
        Kind::Landmark => format!("{} (landmark, {}-{})", p.name, p.country, p.area),
        Kind::County => format!("{} (county, {}-{})", p.name, p.country, p.area),
        Kind::Country => format!("{} (country, {})", p.name, p.country),
        Kind::Division => format!("{} (division, {}-{})", p.name, p.country, p.area),
        Kind::Region if p.country == "ZZ" => format!("{} (region)", p.name),
        Kind::Region => format!("{} (region, {})", p.name, p.country),
    }
}

/// «34.560°N 38.267°E».
fn coordinates(lat: f64, lon: f64) -> String {
    let ns = if lat < 0.0 { 'S' } else { 'N' };
    let ew = if lon < 0.0 { 'W' } else { 'E' };
    format!("{:.3}°{ns} {:.3}°{ew}", lat.abs(), lon.abs())
}

/// «775,404».
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The identity of a place term, for caching: two terms with the same key expand alike.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PlaceKey {
    name: String,
    country: Option<String>,
    /// `f64::to_bits` of the radius of a `within()`.
    km: Option<u64>,
}

/// The cache key of a `place:` or `within()` node; `None` for any other node.
pub(crate) fn key(expr: &Expr) -> Option<PlaceKey> {
    match expr {
        Expr::Place { name, country, .. } => Some(PlaceKey {
            name: crate::rules::fold::fold_term(name),
            country: country.as_ref().map(|c| c.to_ascii_uppercase()),
            km: None,
        }),
        Expr::Within { km, name, .. } => Some(PlaceKey {
            name: crate::rules::fold::fold_term(name),
            country: None,
            km: Some(km.to_bits()),
        }),
        _ => None,
    }
}

/// A place term expanded: the names to match and the report (its `watches` left empty for the
/// caller to fill).
pub(crate) struct Expansion {
    pub names: Vec<&'static str>,
    /// For each name, the longer names of other places that contain it.
    pub longer: Vec<Vec<(u32, &'static str)>>,
    /// For each name, what the term means by it and what else it may mean.
    pub senses: Vec<Sense>,
    pub report: PlaceReport,
}

/// Resolve a `place:` or `within()` node in the gazetteer (loading it on first use) and list the
/// names it stands for. The error is one sentence, to be shown at the term's position.
pub(crate) fn expand(expr: &Expr) -> Result<Expansion, String> {
    let (name, country, km) = match expr {
        Expr::Place { name, country, .. } => (name, country.as_deref(), None),
        Expr::Within { km, name, .. } => (name, None, Some(*km)),
        _ => return Err("not a place".to_owned()),
    };
    let g = gazetteer::get().map_err(|e| e.to_string())?;
    let resolution = g.resolve(name, country).map_err(|e| e.to_string())?;
    let centre = resolution.place.id;
    let mut set_aside = 0;
    let (places, names, own) = match km {
        None => (1, g.names(centre), vec![centre]),
        Some(km) => {
            let area = g.within(centre, km).map_err(|e| e.to_string())?;
            // The centre's own names all count (the watch named it); its members' names
            // without the explicit-only ones.
            let mut own = area.clone();
            own.sort_unstable();
            let mut names = g.names_of(area.get(1..).unwrap_or_default());
            let before = names.len();
            names.retain(|n| !homonym_elsewhere(g, n, &own));
            set_aside = before - names.len();
            names.extend(g.names(centre));
            names.sort_unstable();
            names.dedup();
            (area.len(), names, own)
        }
    };
    if names.is_empty() {
        return Err(format!(
            "«{name}» is a place of the gazetteer with no name vigie can match"
        ));
    }
    if names.len() > MAX_AREA_NAMES {
        return Err(format!(
            "within({km}km, {name}) covers {places} places and {} names, more than the {MAX_AREA_NAMES} \
             vigie accepts for one area; use a smaller distance",
            names.len(),
            km = km.unwrap_or_default(),
        ));
    }
    let rivals: Vec<Place> = resolution.rivals().cloned().collect();
    // `within()` takes no country code: a rival can be the centre only under a name that
    // resolves to it.
    let other_centres = match km {
        Some(_) => (rivals.iter())
            .filter(|p| g.resolve(&p.name, None).is_ok_and(|r| r.place.id == p.id))
            .map(|p| written(&p.name, None, km))
            .collect(),
        None => Vec::new(),
    };
    let asked = crate::rules::fold::fold_term(name);
    let other_name =
        crate::rules::fold::fold_term(&resolution.place.name) != asked && !is_division_code(name);
    let report = PlaceReport {
        set_aside,
        other_name,
        term: written(name, country, km),
        name: name.clone(),
        watches: Vec::new(),
        place: resolution.place,
        rivals,
        other_centres,
        km,
        places,
        names: names.len(),
    };
    let longer = names.iter().map(|n| g.longer_names(n, &own)).collect();
    let senses = names
        .iter()
        .map(|n| sense_of(g, n, &own, km.is_some()))
        .collect();
    Ok(Expansion {
        names,
        longer,
        senses,
        report,
    })
}

/// A member's name stays out of a `within()` area when a place outside it that bears the name
/// is this many times as populous as the largest member that does: «Damascus» in an article is
/// Syria's capital, not the town of 15,000 in Maryland, «Newport» is not the village nearby.
pub const HOMONYM_RATIO: u64 = 10;

/// Whether `name` (a member's, folded) means a far larger place outside the area `own` (sorted).
fn homonym_elsewhere(g: &gazetteer::Gazetteer, name: &str, own: &[u32]) -> bool {
    let (mut inside, mut outside) = (0, 0);
    for id in g.carriers(name) {
        let population = g.population(id).unwrap_or(0);
        let largest = if own.binary_search(&id).is_ok() {
            &mut inside
        } else {
            &mut outside
        };
        *largest = population.max(*largest);
    }
    outside >= inside.saturating_mul(HOMONYM_RATIO).max(1)
}

/// What a term means by `name` (one of its names, folded): the loci of the places of `own`
/// (sorted ids: the place named, or an area's members) that bear it, those of the other places
/// that bear it, and what the name may be besides (a first name), for reading it in context.
fn sense_of(g: &gazetteer::Gazetteer, name: &str, own: &[u32], area: bool) -> Sense {
    let (mut meant, mut others) = (Vec::new(), Vec::new());
    let (mut towns, mut landmarks) = (true, false);
    for id in g.carriers(name) {
        let Some(locus) = g.locus(id) else { continue };
        if own.binary_search(&id).is_ok() {
            towns &= locus.kind() == Kind::Town;
            landmarks |= locus.kind() == Kind::Landmark;
            meant.push(locus);
        } else {
            others.push(locus);
        }
    }
    if meant.is_empty() {
        // The name was found on the place itself under another key (an acronym): its own locus.
        meant.extend(own.first().and_then(|&id| g.locus(id)));
    }
    meant.sort_unstable();
    meant.dedup();
    others.sort_unstable();
    others.dedup();
    // A place elsewhere in the same division is no rival: the evidence could not tell them apart.
    others.retain(|o| !meant.iter().any(|m| (m.cc, m.div) == (o.cc, o.div)));
    let mut flags = 0;
    if !name.contains(' ') && gazetteer::persons().is_first_name(name) {
        flags |= sense::FIRST_NAME;
    }
    if area {
        flags |= sense::AREA;
    }
    if towns && !meant.is_empty() {
        flags |= sense::TOWN;
    }
    if landmarks && !meant.is_empty() {
        flags |= sense::LANDMARK;
    }
    // Neighbouring countries, for a name that is a country and something else.
    let mut near = Vec::new();
    if !others.is_empty() {
        for l in meant.iter().chain(&others) {
            if l.kind() == Kind::Country {
                for n in g.neighbour_countries(l.cc, sense::NEIGHBOUR_KM) {
                    near.push((l.cc, n));
                }
            }
        }
    }
    near.sort_unstable();
    near.dedup();
    Sense {
        name: name.into(),
        meant: meant.into(),
        others: others.into(),
        near: near.into(),
        flags,
    }
}

/// `US-NY` (or `us-ny`): a division named by its ISO 3166-2 code, which is no name of it.
fn is_division_code(name: &str) -> bool {
    name.contains('-') && crate::rules::query::is_place_qualifier(name.trim())
}

/// The term as a query would write it.
fn written(name: &str, country: Option<&str>, km: Option<f64>) -> String {
    let full = match country {
        Some(cc) => format!("{name}/{cc}"),
        None => name.to_owned(),
    };
    let quoted = if full.contains(char::is_whitespace) {
        format!("\"{full}\"")
    } else {
        full
    };
    match km {
        Some(km) => format!("within({km}km, {quoted})"),
        None => format!("place:{quoted}"),
    }
}
