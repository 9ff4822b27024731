//! Rules stage 2a, places: `place:NAME[/CC]` and `within(N km, NAME)` resolved in the built-in
//! gazetteer and expanded into the list of names they stand for, and what they resolved to
//! ([`PlaceReport`]) kept for `vigie check`.
//!
//! Invariants: the gazetteer is touched (and so decoded) only from [`expand`], which the
//! lowering calls only for a `place:` or `within()` node: rules without them never load it; a
//! name that does not resolve is an error of one sentence (the gazetteer's own), never a panic;
//! the names handed out are the gazetteer's usable names (noise already removed, folded, acronyms
//! in capitals), so they are compiled exactly like an entity's names.

use crate::gazetteer::{self, Place};
use crate::rules::query::Expr;

/// Largest number of names one `within()` may expand to. `within(100km, Damascus)` gives some
/// 1,600 and `within(300km, Paris)` some 40,000; a continent-wide circle would put millions of
/// names in the automaton (seconds to build, gigabytes of memory) for a watch that matches
/// nearly every article anyway.
pub(crate) const MAX_AREA_NAMES: usize = 100_000;

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
            name: crate::fold::fold_term(name),
            country: country.as_ref().map(|c| c.to_ascii_uppercase()),
            km: None,
        }),
        Expr::Within { km, name, .. } => Some(PlaceKey {
            name: crate::fold::fold_term(name),
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
    let (places, names) = match km {
        None => (1, g.names(centre)),
        Some(km) => {
            let area = g.within(centre, km);
            (area.len(), g.names_of(&area))
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
    let rivals = resolution.rivals().cloned().collect();
    let report = PlaceReport {
        term: written(name, country, km),
        name: name.clone(),
        watches: Vec::new(),
        place: resolution.place,
        rivals,
        km,
        places,
        names: names.len(),
    };
    Ok(Expansion { names, report })
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
