//! Gazetteer — the built-in table of places behind `place:` and `within()`: every GeoNames place
//! of 1,000 inhabitants or more, every country, the first-level divisions of ISO 3166-2 (states,
//! provinces, régions, governorates), continents and the news' regions (Middle East, Sahel,
//! Golan…), with their names in every language.
//!
//! Invariants: the data is embedded in the binary (`data/gazetteer.tsv.gz`, made by
//! `tools/gazetteer/generate.py`) and decoded only on the first call to [`get`], so that a
//! configuration without `place:` or `within()` never pays for it; everything here is pure
//! (no I/O, no clock) and never panics, whatever name, country code or distance it is given;
//! names handed out are already folded (`crate::rules::fold::fold_term`), except acronyms (2 to 5
//! capitals), which keep their capitals so that the matcher's acronym rule applies to them.
//!
//! How the rule compiler uses it (see `docs/places.md` for the user's side):
//! - `place:NAME[/CC]` → [`Gazetteer::resolve`] → [`Gazetteer::names`] of the chosen place,
//!   compiled like an entity's names; warn when [`Resolution::rivals`] is not empty.
//! - `within(N km, NAME)` → [`Gazetteer::resolve`] → [`Gazetteer::within`] →
//!   [`Gazetteer::names_of`] of all those places. A town is a point; a country, division or
//!   region is an area (its towns, or a circle), and `within()` adds the distance around it.
//!
//! Some names are *explicit only*: words and first names that are also places («Orange»,
//! «Elizabeth»). [`Gazetteer::names`] gives them (the watch named that place itself);
//! [`Gazetteer::names_of`] leaves them out of an area's members.

mod evidence;
mod load;
mod longer;
mod near;
mod persons;
mod resolve;
#[cfg(test)]
mod tests;

use std::sync::OnceLock;

pub use evidence::Locus;
pub use load::Gazetteer;
pub use near::distance_km;
pub use persons::{PersonNames, persons};

/// The shipped data: GeoNames (CC-BY 4.0) and CLDR, filtered and folded by the generator.
static DATA: &[u8] = include_bytes!("../../../data/gazetteer.tsv.gz");

static GAZETTEER: OnceLock<Result<Gazetteer, GazetteerError>> = OnceLock::new();

/// The built-in gazetteer, decoded on first use (about 0.1 s and 30 MB, once per process).
///
/// An error means the embedded data is damaged, which the tests rule out for a released binary;
/// it is still an error rather than a panic so that a bad build costs the `place:` watches only.
pub fn get() -> Result<&'static Gazetteer, GazetteerError> {
    GAZETTEER
        .get_or_init(|| Gazetteer::parse(DATA))
        .as_ref()
        .map_err(Clone::clone)
}

/// Whether [`get`] has already decoded the data (for tests and `vigie check`'s summary).
pub fn is_loaded() -> bool {
    GAZETTEER.get().is_some()
}

/// What a place is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A populated place: a city, town or village (GeoNames feature class P).
    Town,
    /// A country; its coordinates are its capital's (GeoNames gives countries no point).
    Country,
    /// A first-level division of a country (ISO 3166-2): a state, province, région,
    /// governorate. Its coordinates are its most populous town's, its population its towns'.
    Division,
    /// A landmark of a town that the news names it by (the White House, the Kremlin, Heathrow):
    /// a point, member of areas like a town; its population is its town's, for ranking.
    Landmark,
    /// A continent or a region of the news: whole countries (Middle East, Sahel) or a circle
    /// (Golan, Gaza Strip).
    Region,
    /// A county of the United States or the United Kingdom («Orange County», «Surrey»): a
    /// point, its most populous town's, member of areas like a town; its population its towns'.
    County,
}

impl Kind {
    /// Towns, landmarks and counties are points, the members of areas; the other kinds are
    /// areas.
    pub fn is_point(self) -> bool {
        matches!(self, Kind::Town | Kind::Landmark | Kind::County)
    }

    /// Points and divisions have a first-level division (their area code); countries and
    /// regions do not.
    pub fn lies_in_division(self) -> bool {
        self.is_point() || self == Kind::Division
    }
}

/// One place of the gazetteer.
#[derive(Clone, Debug, PartialEq)]
pub struct Place {
    /// Its id in this gazetteer (stable for a given data file, not across regenerations).
    pub id: u32,
    /// Its name as GeoNames writes it (countries: their English name).
    pub name: String,
    /// ISO 3166-1 alpha-2 code of its country (`ZZ` for a region over several).
    pub country: String,
    /// What the place covers, as the data file writes it: a town's first-level division and a
    /// division's own code (ISO 3166-2 without the country: `WV`; empty when unknown, `?` for a
    /// division whose towns are unknown); a region's countries (`SY,IQ`) or radius (`~30`, km
    /// around its point); empty for a country.
    pub area: String,
    pub kind: Kind,
    pub population: u64,
    /// Degrees, to a thousandth (about 100 m).
    pub lat: f64,
    pub lon: f64,
}

/// What a `place:` name resolved to.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolution {
    /// The most populous place of that name (in the country asked for, if any).
    pub place: Place,
    /// Every other place of that name (in that country, if one was asked for), most populous
    /// first.
    pub ambiguous: Vec<Place>,
}

impl Resolution {
    /// The other candidates worth a warning: those at least a fifth as populous as the chosen
    /// place. «Homs» warns about Al Khums (LY, 200,000 against 775,000); «Palmyra» does not
    /// warn about Palmyra, Pennsylvania (7,500 against 51,000), nor «Damascus» about Damascus,
    /// Maryland.
    pub fn rivals(&self) -> impl Iterator<Item = &Place> {
        let floor = self.place.population / 5;
        self.ambiguous.iter().filter(move |p| p.population >= floor)
    }
}

/// Why a name did not resolve, or why the data could not be read: one sentence each.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GazetteerError {
    #[error(
        "the built-in gazetteer is damaged (line {line}: {reason}); this vigie build is broken"
    )]
    Corrupt { line: usize, reason: String },
    #[error("a place name needs letters or digits")]
    EmptyName,
    #[error("no place named «{name}» in the gazetteer")]
    UnknownPlace { name: String },
    #[error(
        "«{name}» is a common French or English word, which vigie does not use as a place name"
    )]
    CommonWord { name: String },
    #[error("`{code}` is not a country code the gazetteer knows (ISO 3166-1, such as SY or LY)")]
    UnknownCountry { code: String },
    #[error(
        "`{code}` is not a first-level division the gazetteer knows (ISO 3166-2, such as US-WV \
         or FR-PAC)"
    )]
    UnknownDivision { code: String },
    #[error(
        "vigie knows the names of {name} but not which towns it holds; within() needs an area \
         or a point: use place:, or a town of it"
    )]
    NoArea { name: String },
    #[error("no place named «{name}» in {country}; places of that name are in {elsewhere}")]
    NotInCountry {
        name: String,
        country: String,
        /// The countries that do have a place of that name, comma-separated.
        elsewhere: String,
    },
}
