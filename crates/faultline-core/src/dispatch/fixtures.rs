//! Boards made up for benchmarks and tests.

use chrono::{DateTime, Utc};

use super::*;

/// A board for benchmarks: `orders` waiting orders and `crews` free crews scattered
/// over a 40 km square around 116.4°E 39.9°N (an urban area), a tenth of the orders
/// with a critical customer, every fifth crew a meter crew. Returns the board and the
/// time at which to solve it.
pub fn synthetic_board(orders: usize, crews: usize, seed: u64) -> (Dispatch, DateTime<Utc>) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let t0 = DateTime::from_timestamp(1_780_000_000, 0).unwrap_or_default();
    let mut d = Dispatch::new(DispatchOptions::default());
    let spot = |rng: &mut rand_chacha::ChaCha8Rng| {
        (
            116.4 + rng.random_range(-0.23..0.23),
            39.9 + rng.random_range(-0.18..0.18),
        )
    };
    for i in 0..crews {
        let (lon, lat) = spot(&mut rng);
        let skills = if i % 5 == 4 { "meter" } else { "line" };
        d.crew_update(
            &CrewUpdate {
                id: format!("CREW-{}", i + 1),
                name: None,
                skills: vec![skills.into()],
                lon: Some(lon),
                lat: Some(lat),
                on_shift: true,
            },
            t0,
        );
    }
    let devices: Vec<String> = (0..orders).map(|i| format!("DEV-{i}")).collect();
    for (i, device) in devices.iter().enumerate() {
        let (lon, lat) = spot(&mut rng);
        let started = t0 - Duration::minutes(rng.random_range(0..40));
        let job = if i % 10 == 9 {
            JobKind::Meter
        } else {
            JobKind::Device(DeviceKind::Fuse)
        };
        d.outage(
            &OutageFacts {
                number: i as u64 + 1,
                job,
                device,
                active: true,
                restored: false,
                merged_into: None,
                lon,
                lat,
                zone: ZoneKind::Urban,
                customers_out: rng.random_range(1..500),
                critical_customers_out: u32::from(i % 10 == 3),
                started_at: started,
                arrive_by: started + Duration::minutes(45),
                restore_by: started + Duration::hours(12),
            },
            t0,
        );
    }
    d.take_changes();
    d.needs_solve = true;
    (d, t0)
}
