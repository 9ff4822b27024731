//! Gazetteer, distance: `within(N km, NAME)` as a latitude band search over towns, around a
//! town's point or around every town of an area (country, division, region).
//!
//! Invariants: distances are great-circle (haversine on a sphere of the Earth's mean radius);
//! the band search is exact, not approximate: a town is returned iff its distance is at most
//! `km`, whatever the longitude (the date line and the poles need no special case); only towns
//! are members of an area (a country or region is not a point), the centre is always first.

use crate::rules::gazetteer::load::{Entry, range};
use crate::rules::gazetteer::{Gazetteer, GazetteerError, Kind};

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
    /// Every place within `km` (great-circle) of place `id`, itself included and first. A town
    /// is a point: the towns within `km` of it, nearest first (ties by id). A country, division
    /// or region is an area: its towns (a region's countries' towns, or those in its circle),
    /// and the towns within `km` of any of them, by id. Empty for an unknown id; a `km` that is
    /// not a positive number adds nothing around. Error: a division whose towns are unknown.
    pub fn within(&self, id: u32, km: f64) -> Result<Vec<u32>, GazetteerError> {
        let Some(centre) = self.entries.get(id as usize) else {
            return Ok(Vec::new());
        };
        let km = if km.is_nan() || km <= 0.0 { 0.0 } else { km };
        let area = &self.text[range(centre.area)];
        let members: Vec<u32> = match centre.kind {
            Kind::Town | Kind::Landmark | Kind::County => {
                let mut found = self.around(point(centre), km);
                found.retain(|&(_, i)| i != id);
                found.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                return Ok(std::iter::once(id)
                    .chain(found.into_iter().map(|(_, i)| i))
                    .collect());
            }
            Kind::Country => self.towns_where(|e| e.cc == centre.cc),
            Kind::Division if area.is_empty() || area == "?" => {
                return Err(GazetteerError::NoArea {
                    name: format!(
                        "{} (a division of {})",
                        &self.text[range(centre.display)],
                        String::from_utf8_lossy(&centre.cc)
                    ),
                });
            }
            Kind::Division => {
                self.towns_where(|e| e.cc == centre.cc && self.text[range(e.area)] == *area)
            }
            Kind::Region => match area.strip_prefix('~') {
                Some(radius) => {
                    let radius = radius.parse::<f64>().unwrap_or(0.0);
                    (self.around(point(centre), radius).into_iter())
                        .map(|(_, i)| i)
                        .collect()
                }
                None => {
                    let countries: Vec<&[u8]> = area.split(',').map(str::as_bytes).collect();
                    self.towns_where(|e| countries.contains(&e.cc.as_slice()))
                }
            },
        };
        let mut inside = vec![false; self.entries.len()];
        inside[id as usize] = true;
        let mut out = vec![id];
        for &m in &members {
            if !std::mem::replace(&mut inside[m as usize], true) {
                out.push(m);
            }
        }
        if km > 0.0 {
            let mut around = Vec::new();
            for &m in &members {
                for (_, i) in self.around(point(&self.entries[m as usize]), km) {
                    if !std::mem::replace(&mut inside[i as usize], true) {
                        around.push(i);
                    }
                }
            }
            out.extend(around);
        }
        out[1..].sort_unstable();
        Ok(out)
    }

    /// Towns within `km` of a point, with their distances, in no order.
    fn around(&self, here: (f64, f64), km: f64) -> Vec<(f64, u32)> {
        // One degree of latitude is at least 110.5 km: a band of km / 110 degrees each side
        // holds every point within `km` (in millidegrees, rounded outwards).
        let band = (km / 110.0 * 1000.0).ceil().min(180_000.0) as i32 + 1;
        let lat = (here.0 * 1000.0).round() as i32;
        let by_lat = self.by_lat();
        let low = by_lat.partition_point(|&i| self.entries[i as usize].lat < lat - band);
        (by_lat[low..].iter())
            .take_while(|&&i| self.entries[i as usize].lat <= lat + band)
            .filter_map(|&i| {
                let d = distance_km(here, point(&self.entries[i as usize]));
                (d <= km).then_some((d, i))
            })
            .collect()
    }

    /// Ids of the towns that satisfy `keep`, ascending.
    fn towns_where(&self, keep: impl Fn(&Entry) -> bool) -> Vec<u32> {
        (0..self.entries.len() as u32)
            .filter(|&i| {
                let e = &self.entries[i as usize];
                e.kind.is_point() && keep(e)
            })
            .collect()
    }

    /// Ids of towns sorted by latitude, made once (about 10 ms).
    fn by_lat(&self) -> &[u32] {
        self.by_lat.get_or_init(|| {
            let mut ids: Vec<u32> = (0..self.entries.len() as u32)
                .filter(|&i| self.entries[i as usize].kind.is_point())
                .collect();
            ids.sort_by_key(|&i| (self.entries[i as usize].lat, i));
            ids
        })
    }
}

/// A place's point in degrees.
fn point(e: &Entry) -> (f64, f64) {
    (f64::from(e.lat) / 1000.0, f64::from(e.lon) / 1000.0)
}
