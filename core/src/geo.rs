//! Places: coordinates, distances and the grid cells that name service areas.

use serde::{Deserialize, Serialize};

/// A point on the earth in degrees (WGS-84).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    /// Latitude, -90..=90.
    pub lat: f64,
    /// Longitude, -180..=180.
    pub lon: f64,
}

/// Where a service happens: what the customer wrote plus coordinates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// Free text, as the customer wrote it.
    pub text: String,
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
}

impl Address {
    /// The coordinates of this address.
    pub fn point(&self) -> GeoPoint {
        GeoPoint { lat: self.lat, lon: self.lon }
    }

    /// Checks the address names a real place.
    pub fn validate(&self) -> Result<(), crate::DomainError> {
        if self.text.trim().is_empty() || self.text.chars().count() > 200 {
            return Err(crate::DomainError::Invalid {
                field: "address.text",
                reason: "must be 1 to 200 characters".into(),
            });
        }
        self.point().validate()
    }
}

/// Size of one grid cell in degrees; about 5.5 km north-south.
pub const CELL_DEGREES: f64 = 0.05;

/// Average travel speed in a city used to turn distance into minutes.
pub const CITY_KMH: f64 = 25.0;

impl GeoPoint {
    /// Checks the coordinates are on the earth.
    pub fn validate(&self) -> Result<(), crate::DomainError> {
        let ok = self.lat.is_finite()
            && self.lon.is_finite()
            && (-90.0..=90.0).contains(&self.lat)
            && (-180.0..=180.0).contains(&self.lon);
        if ok {
            Ok(())
        } else {
            Err(crate::DomainError::Invalid {
                field: "lat/lon",
                reason: "latitude must be within ±90 and longitude within ±180".into(),
            })
        }
    }

    /// Great-circle distance in kilometres (haversine).
    pub fn distance_km(&self, other: &GeoPoint) -> f64 {
        const R: f64 = 6371.0;
        let (la1, la2) = (self.lat.to_radians(), other.lat.to_radians());
        let dla = la2 - la1;
        let dlo = (other.lon - self.lon).to_radians();
        let a = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
        2.0 * R * a.sqrt().min(1.0).asin()
    }

    /// The grid cell this point falls in.
    pub fn cell(&self) -> Cell {
        Cell { y: (self.lat / CELL_DEGREES).floor() as i32, x: (self.lon / CELL_DEGREES).floor() as i32 }
    }
}

/// Travel time in whole minutes for a distance in the city.
pub fn travel_minutes(km: f64) -> u32 {
    (km / CITY_KMH * 60.0).ceil().max(0.0) as u32
}

/// One cell of the dispatch grid; workers join the process group of every
/// cell their service area touches, orders call for proposals in their cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Cell {
    /// Row (latitude band).
    pub y: i32,
    /// Column (longitude band).
    pub x: i32,
}

impl Cell {
    /// Cells at Chebyshev distance exactly `ring` from this one (ring 0 = itself).
    pub fn ring(&self, ring: i32) -> Vec<Cell> {
        if ring == 0 {
            return vec![*self];
        }
        let mut out = Vec::with_capacity(8 * ring as usize);
        for dy in -ring..=ring {
            for dx in -ring..=ring {
                if dy.abs() == ring || dx.abs() == ring {
                    out.push(Cell { y: self.y + dy, x: self.x + dx });
                }
            }
        }
        out
    }

    /// Every cell a circle of `radius_km` around `center` touches.
    pub fn covering(center: &GeoPoint, radius_km: f64) -> Vec<Cell> {
        let dlat = radius_km / 111.0;
        let coslat = center.lat.to_radians().cos().abs().max(0.01);
        let dlon = radius_km / (111.0 * coslat);
        let lo = GeoPoint { lat: center.lat - dlat, lon: center.lon - dlon }.cell();
        let hi = GeoPoint { lat: center.lat + dlat, lon: center.lon + dlon }.cell();
        let mut out = Vec::new();
        for y in lo.y..=hi.y {
            for x in lo.x..=hi.x {
                out.push(Cell { y, x });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shanghai_to_beijing_is_about_1070_km() {
        let sh = GeoPoint { lat: 31.23, lon: 121.47 };
        let bj = GeoPoint { lat: 39.90, lon: 116.40 };
        let d = sh.distance_km(&bj);
        assert!((1050.0..1090.0).contains(&d), "{d}");
        assert_eq!(sh.distance_km(&sh), 0.0);
    }

    #[test]
    fn rings_and_coverings() {
        let c = Cell { y: 0, x: 0 };
        assert_eq!(c.ring(0), vec![c]);
        assert_eq!(c.ring(1).len(), 8);
        assert_eq!(c.ring(2).len(), 16);
        let center = GeoPoint { lat: 31.23, lon: 121.47 };
        let cells = Cell::covering(&center, 10.0);
        assert!(cells.contains(&center.cell()));
        assert!(cells.len() >= 9 && cells.len() <= 36, "{}", cells.len());
    }

    #[test]
    fn rejects_impossible_coordinates() {
        assert!(GeoPoint { lat: 91.0, lon: 0.0 }.validate().is_err());
        assert!(GeoPoint { lat: f64::NAN, lon: 0.0 }.validate().is_err());
        assert!(GeoPoint { lat: 31.0, lon: 121.0 }.validate().is_ok());
    }
}
