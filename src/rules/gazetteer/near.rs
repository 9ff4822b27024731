//! Gazetteer, distance: `within(N km, NAME)` as a latitude band search over towns.
//!
//! Invariants: distances are great-circle (haversine on a sphere of the Earth's mean radius);
//! the band search is exact, not approximate: a town is returned iff its distance is at most
//! `km`, whatever the longitude (the date line and the poles need no special case); countries
//! are never members of an area (a country is not a point), only its centre when asked for.

use crate::rules::gazetteer::{Gazetteer, Kind};

/// Mean radius of the Earth, km (IUGG).
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Great-circle distance in km between two (latitude, longitude) points in degrees.
pub fn distance_km((lat1, lon1): (f64, f64), (lat2, lon2): (f64, f64)) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

impl Gazetteer {
    /// Every place within `km` (great-circle) of place `id`, itself included and first, then
    /// nearest first (ties by id). Only towns are members; a country as the centre stands for
    /// its capital's point. Empty for an unknown id; just the place for a `km` that is not a
    /// positive number.
    pub fn within(&self, id: u32, km: f64) -> Vec<u32> {
        let Some(centre) = self.entries.get(id as usize) else {
            return Vec::new();
        };
        if km.is_nan() || km <= 0.0 {
            return vec![id];
        }
        let here = (
            f64::from(centre.lat) / 1000.0,
            f64::from(centre.lon) / 1000.0,
        );
        // One degree of latitude is at least 110.5 km: a band of km / 110 degrees each side
        // holds every point within `km` (in millidegrees, rounded outwards).
        let band = (km / 110.0 * 1000.0).ceil().min(180_000.0) as i32 + 1;
        let by_lat = self.by_lat();
        let low = by_lat.partition_point(|&i| self.entries[i as usize].lat < centre.lat - band);
        let mut found: Vec<(f64, u32)> = by_lat[low..]
            .iter()
            .take_while(|&&i| self.entries[i as usize].lat <= centre.lat + band)
            .filter(|&&i| i != id)
            .filter_map(|&i| {
                let e = &self.entries[i as usize];
                let d = distance_km(here, (f64::from(e.lat) / 1000.0, f64::from(e.lon) / 1000.0));
                (d <= km).then_some((d, i))
            })
            .collect();
        found.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        std::iter::once(id)
            .chain(found.into_iter().map(|(_, i)| i))
            .collect()
    }

    /// Ids of towns sorted by latitude, made once (about 10 ms).
    fn by_lat(&self) -> &[u32] {
        self.by_lat.get_or_init(|| {
            let mut ids: Vec<u32> = (0..self.entries.len() as u32)
                .filter(|&i| self.entries[i as usize].kind == Kind::Town)
                .collect();
            ids.sort_by_key(|&i| (self.entries[i as usize].lat, i));
            ids
        })
    }
}
