//! The pupil's own national items that take a random draw: the ID card's
//! validity, 政治面貌, the registration day, the family's mailbox and the
//! addresses of parents working away, and dates of birth a number of years
//! from another.

use super::people::{Gen, pick, weighted};
use super::tables::TABLES;
use chrono::{Datelike, Months, NaiveDate, TimeDelta};
use rand::Rng;

impl Gen {
    /// A date `lo` to `hi` years (inclusive, negative: earlier) from `date`.
    pub(super) fn years_from(&mut self, date: NaiveDate, lo: i32, hi: i32) -> NaiveDate {
        let days = self.rng.random_range(i64::from(lo) * 365..=i64::from(hi) * 365 + 364);
        date + TimeDelta::days(days)
    }

    /// 身份证件有效期 of a child's card (valid five years, as cards issued
    /// under 16 are), e.g. `2022.03.15-2027.03.15`: issued after birth and
    /// valid on `today`.
    pub(super) fn id_valid(&mut self, birth: NaiveDate, today: NaiveDate) -> String {
        let earliest = (birth + TimeDelta::days(30)).max(today - Months::new(60) + TimeDelta::days(1));
        let latest = (today - TimeDelta::days(7)).max(earliest);
        let issued = earliest + TimeDelta::days(self.rng.random_range(0..=(latest - earliest).num_days()));
        let expires = issued + Months::new(60);
        format!("{}-{}", issued.format("%Y.%m.%d"), expires.format("%Y.%m.%d"))
    }

    /// 政治面貌 by the grade's shares (`political.txt`); a 共青团员 is at
    /// least 14 on `today`, else still a 少先队员.
    pub(super) fn political(&mut self, grade: u8, birth: NaiveDate, today: NaiveDate) -> &'static str {
        let [pioneer, league, masses] = TABLES.political[usize::from(grade.clamp(1, 9)) - 1];
        let choice = weighted(&mut self.rng, &[("少先队员", pioneer), ("共青团员", league), ("群众", masses)]);
        let fourteen = NaiveDate::from_ymd_opt(birth.year() + 14, birth.month(), birth.day())
            .unwrap_or_else(|| birth + Months::new(14 * 12));
        if choice == "共青团员" && fourteen > today { "少先队员" } else { choice }
    }

    /// 报到日期: the days before the autumn term of `entry_year`, mostly
    /// 1 September, a few in the first week; never after `today`.
    pub(super) fn registration(&mut self, entry_year: i32, today: NaiveDate) -> NaiveDate {
        let first = NaiveDate::from_ymd_opt(entry_year, 9, 1).expect("1 September exists");
        let offset = weighted(
            &mut self.rng,
            &[(-6, 2), (-5, 3), (-4, 4), (-3, 6), (-2, 7), (-1, 8), (0, 60), (1, 4), (2, 3), (3, 2), (6, 1)],
        );
        (first + TimeDelta::days(offset)).min(today)
    }

    /// A family's mailbox: a QQ mailbox, or the guardian's mobile number at
    /// another provider (`record_values.txt`).
    pub(super) fn email(&mut self, phone: &str) -> String {
        match weighted(&mut self.rng, &TABLES.mail_domains) {
            "qq.com" => format!("{}@qq.com", self.rng.random_range(100_000..4_000_000_000_u64)),
            domain => format!("{phone}@{domain}"),
        }
    }

    /// Where a parent working away lives (`work_places.txt`).
    pub(super) fn work_address(&mut self) -> String {
        let place = weighted(&mut self.rng, &TABLES.work_places);
        let street = pick(&mut self.rng, &TABLES.work_streets);
        let n = self.rng.random_range(1..=400);
        format!("{place}{street}{n}号")
    }
}
