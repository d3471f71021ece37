//! Addresses of the families: in the county town (a street, often a
//! residential compound), in a township's villages and at its seat.

use super::PROVINCE_CITY;
use super::people::{Gen, pick};
use super::tables::TABLES;
use rand::Rng;

/// The share of county-town families who live outside their school's
/// 学区 (their child's intake is flagged for the bureau, Art. 7).
const OUTSIDE_DISTRICT: f64 = 0.015;

impl Gen {
    /// An address in the county town: in the 学区 `district` (but for a
    /// few families who live outside the school's area), or anywhere.
    pub(super) fn town_address(&mut self, district: Option<usize>) -> String {
        let street = match district {
            Some(d) if !self.chance(OUTSIDE_DISTRICT) => pick(&mut self.rng, &TABLES.town_districts[d].1),
            _ => pick(&mut self.rng, &TABLES.town_streets),
        };
        if self.chance(0.6) {
            let compound = pick(&mut self.rng, &TABLES.compounds);
            let building = self.rng.random_range(1..=20);
            let unit = self.rng.random_range(1..=4);
            let floor = self.rng.random_range(1..=7);
            let room = self.rng.random_range(1..=2);
            format!("{PROVINCE_CITY}农安县农安镇{street}{compound}{building}栋{unit}单元{floor}0{room}室")
        } else {
            let n = self.rng.random_range(1..=400);
            format!("{PROVINCE_CITY}农安县农安镇{street}{n}号")
        }
    }

    pub(super) fn village_address(&mut self, ti: usize) -> String {
        let village = pick(&mut self.rng, &TABLES.township_villages[ti % TABLES.township_count()]);
        let group = self.rng.random_range(1..=9);
        format!("{PROVINCE_CITY}农安县{}{village}村{group}组", TABLES.township_name(ti))
    }

    pub(super) fn seat_address(&mut self, ti: usize) -> String {
        let street = pick(&mut self.rng, &TABLES.seat_streets);
        let n = self.rng.random_range(1..=200);
        format!("{PROVINCE_CITY}农安县{}{street}{n}号", TABLES.township_name(ti))
    }
}
