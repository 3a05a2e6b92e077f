//! The demo city: workers of every service with skills, areas and hours
//! around one centre (People's Square, Shanghai), seeded when the database
//! is empty (`autoglm serve --demo`, `./dev run`).

use autoglm_core::worker::WorkingHours;
use autoglm_core::{GeoPoint, Service, Worker, WorkerId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

/// Centre of the demo city.
pub const CENTRE: GeoPoint = GeoPoint { lat: 31.2304, lon: 121.4737 };

const SURNAMES: &[&str] =
    &["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭"];
const GIVEN: &[&str] = &["阿姨", "师傅", "姐", "大姐", "老师"];

/// `n` workers, deterministic for a given `seed`: every service has workers,
/// each worker has one to three services with levels 1-5, lives within
/// ~12 km of the centre and travels 8-15 km.
pub fn workers(n: usize, seed: u64) -> Vec<Worker> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let mut skills = BTreeMap::new();
            skills.insert(Service::ALL[i % Service::ALL.len()], rng.gen_range(1..=5));
            for _ in 0..rng.gen_range(0..=2) {
                skills.insert(Service::ALL[rng.gen_range(0..Service::ALL.len())], rng.gen_range(1..=5));
            }
            let home =
                GeoPoint { lat: CENTRE.lat + rng.gen_range(-0.1..0.1), lon: CENTRE.lon + rng.gen_range(-0.12..0.12) };
            let start = [7, 8, 9][rng.gen_range(0..3)] * 60;
            let name =
                format!("{}{}", SURNAMES[rng.gen_range(0..SURNAMES.len())], GIVEN[rng.gen_range(0..GIVEN.len())]);
            Worker {
                id: WorkerId(format!("W{}", i + 1)),
                name,
                skills,
                home,
                radius_km: rng.gen_range(8.0..15.0),
                hours: WorkingHours { start, end: start + 12 * 60, ..WorkingHours::default() },
                rating: (rng.gen_range(40..=50) as f64) / 10.0,
                rating_count: rng.gen_range(1..200),
                active: true,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_city_covers_every_service_and_is_valid() {
        let ws = workers(120, 7);
        for s in Service::ALL {
            assert!(ws.iter().any(|w| w.skills.contains_key(s)), "{s} missing");
        }
        for w in &ws {
            w.validate().unwrap_or_else(|e| panic!("{}: {e}", w.id));
        }
        assert_eq!(workers(5, 7), workers(5, 7));
    }
}
