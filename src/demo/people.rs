//! Families and pupils: surnames by ethnic group, given names, fictional
//! phone and ID numbers, birth dates that meet the entry age, guardians,
//! siblings, and the roster row a registrar would fill for each pupil.

use super::schools::Ctx;
use super::tables::TABLES;
use super::{AREA_CODE, COUNTY_BIRTHPLACE, ID_CARD, ID_NOT_ISSUED, NATIONALITY, NO, UYGHUR, YES};
use crate::domain::{Gender, IdNumber, SchoolKind};
use crate::roster::Row;
use chrono::{NaiveDate, TimeDelta};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;

#[derive(Debug, Clone)]
pub(super) struct Guardian {
    pub(super) name: String,
    pub(super) relation: &'static str,
    pub(super) phone: String,
}

#[derive(Debug, Clone)]
pub(super) struct Family {
    /// Index into the surname table (unused for Uyghur families).
    pub(super) surname: usize,
    pub(super) ethnicity: &'static str,
    pub(super) id_area: &'static str,
    pub(super) birthplace: String,
    pub(super) household_address: String,
    pub(super) household_type: &'static str,
    pub(super) current_address: String,
    pub(super) guardian1: Guardian,
    pub(super) guardian2: Option<Guardian>,
    pub(super) migrant: bool,
    pub(super) left_behind: bool,
    pub(super) uyghur: Option<usize>,
    /// Birth date, intake year and name of each child.
    pub(super) children: Vec<(NaiveDate, i32, String)>,
}

/// What the caller decides about one pupil.
pub(super) struct PupilSpec {
    pub(super) grade: u8,
    pub(super) class: usize,
    /// The intake year of grade 1 (fixes the birth window).
    pub(super) intake: i32,
    /// The year the pupil entered this school.
    pub(super) entry_year: i32,
    pub(super) rare: Option<char>,
    pub(super) uyghur: Option<usize>,
    pub(super) allow_sibling: bool,
    pub(super) allow_no_id: bool,
}

/// The generator's state: one random stream, the ID and phone numbers
/// given out, and the families.
pub(super) struct Gen {
    pub(super) rng: ChaCha8Rng,
    pub(super) used_ids: HashSet<String>,
    pub(super) used_phones: HashSet<String>,
    pub(super) families: Vec<Family>,
    /// Families by locality (0: county town, 1 + township index).
    pub(super) pools: Vec<Vec<usize>>,
}

pub(super) fn weighted<T: Copy>(rng: &mut ChaCha8Rng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut r = rng.random_range(0..total.max(1));
    for &(item, w) in items {
        if r < w {
            return item;
        }
        r -= w;
    }
    items[items.len() - 1].0
}

pub(super) fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    *items.choose(rng).expect("the lists of names and places are not empty")
}

impl Gen {
    pub(super) fn new(seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            used_ids: HashSet::new(),
            used_phones: HashSet::new(),
            families: Vec::new(),
            pools: vec![Vec::new(); TABLES.township_count() + 1],
        }
    }

    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p.clamp(0.0, 1.0))
    }

    pub(super) fn surname(&mut self) -> usize {
        let t = &*TABLES;
        let total = t.cumulative.last().copied().unwrap_or(0).max(1);
        let r = self.rng.random_range(0..total);
        t.cumulative.partition_point(|&c| c <= r).min(t.surnames.len() - 1)
    }

    /// A surname for a family of the ethnic group: one of the group's
    /// surnames with the share of `ethnicities.txt` (always at a share of 1,
    /// without a random draw), else one of `surnames.txt` by weight.
    pub(super) fn surname_for(&mut self, ethnicity: &str) -> usize {
        let Some(e) = TABLES.ethnic_surnames.get(ethnicity) else {
            return self.surname();
        };
        if e.share < 1.0 && !self.chance(e.share) {
            return self.surname();
        }
        let s = pick(&mut self.rng, &e.surnames);
        TABLES.surname_index(s)
    }

    pub(super) fn adult_name(&mut self, surname: usize, given: &[&str]) -> String {
        format!("{}{}", TABLES.surnames[surname].text, pick(&mut self.rng, given))
    }

    pub(super) fn given_name(&mut self, gender: Gender) -> String {
        let sets = match gender {
            Gender::Male => &TABLES.male,
            Gender::Female => &TABLES.female,
        };
        if self.chance(0.15) {
            return pick(&mut self.rng, &sets.single).to_string();
        }
        loop {
            let a = pick(&mut self.rng, &sets.first);
            let b = pick(&mut self.rng, &sets.second);
            if a != b {
                return [a, b].iter().collect();
            }
        }
    }

    /// A fictional mobile number, 11 digits, starting 13, 15 or 18, never
    /// given out twice.
    pub(super) fn phone(&mut self) -> String {
        loop {
            let second = pick(&mut self.rng, &['3', '5', '8']);
            let rest: u32 = self.rng.random_range(0..1_000_000_000);
            let phone = format!("1{second}{rest:09}");
            if self.used_phones.insert(phone.clone()) {
                return phone;
            }
        }
    }

    /// A fresh, valid ID number for the area, birth date and gender.
    pub(super) fn id_number(&mut self, area: &str, birth: NaiveDate, gender: Gender) -> IdNumber {
        let parity = u16::from(gender == Gender::Male);
        let mut attempt = 0u32;
        loop {
            let seq = if attempt < 1000 {
                self.rng.random_range(0..500u16) * 2 + parity
            } else {
                // A full scan after many misses; 500 pupils of one gender born
                // on the same day in one area would be needed to exhaust it.
                let k = (attempt - 1000) as u16;
                assert!(k < 500, "no free ID sequence number left for {area} {birth}");
                k * 2 + parity
            };
            attempt += 1;
            let id = IdNumber::from_parts(area, birth, seq).expect("a 6-digit area code and a date give 17 digits");
            if self.used_ids.insert(id.as_str().to_owned()) {
                return id;
            }
        }
    }

    /// A birth date for a child entering grade 1 in the autumn of `intake`:
    /// mostly 6 to 7 years old on 1 September, a few up to about 7.8.
    pub(super) fn birth_for_intake(&mut self, intake: i32) -> NaiveDate {
        let date = |y: i32, m: u32, d: u32| NaiveDate::from_ymd_opt(y, m, d).expect("a real date");
        let (start, end) = if self.chance(0.95) {
            (date(intake - 7, 9, 1), date(intake - 6, 8, 31))
        } else {
            (date(intake - 8, 11, 1), date(intake - 7, 8, 31))
        };
        let days = (end - start).num_days();
        start + TimeDelta::days(self.rng.random_range(0..=days))
    }

    pub(super) fn new_family(&mut self, ctx: Ctx) -> Family {
        let migrant = ctx.county_town && self.chance(ctx.migrant_share);
        let left_behind = !migrant && self.chance(if ctx.county_town { 0.02 } else { 0.10 });
        let ethnicity = weighted(&mut self.rng, &TABLES.ethnicities);
        let surname = self.surname_for(ethnicity);
        let (id_area, birthplace, household_address, household_type, current_address) = if migrant {
            if self.chance(0.55) {
                let ti = self.rng.random_range(0..TABLES.township_count());
                let home = self.village_address(ti);
                let kind = weighted(&mut self.rng, &[("农业户口", 70), ("居民户口", 30)]);
                (AREA_CODE, COUNTY_BIRTHPLACE.to_owned(), home, kind, self.town_address())
            } else {
                let o = &TABLES.origins[self.rng.random_range(0..TABLES.origins.len())];
                let (home, kind) = if o.rural {
                    let village = pick(&mut self.rng, &TABLES.villages);
                    let group = self.rng.random_range(1..=9);
                    let kind = weighted(&mut self.rng, &[("农业户口", 70), ("居民户口", 30)]);
                    (format!("{}{village}村{group}组", o.prefix), kind)
                } else {
                    let street = pick(&mut self.rng, &TABLES.urban_streets);
                    let n = self.rng.random_range(1..=300);
                    let kind = weighted(&mut self.rng, &[("非农业户口", 50), ("居民户口", 50)]);
                    (format!("{}{street}{n}号", o.prefix), kind)
                };
                (o.code, o.prefix.to_owned(), home, kind, self.town_address())
            }
        } else if let Some(ti) = ctx.township {
            let home = self.village_address(ti);
            let current = if self.chance(0.85) { home.clone() } else { self.seat_address(ti) };
            let kind = weighted(&mut self.rng, &[("农业户口", 75), ("居民户口", 20), ("非农业户口", 5)]);
            (AREA_CODE, COUNTY_BIRTHPLACE.to_owned(), home, kind, current)
        } else {
            let home = self.town_address();
            let current = if self.chance(0.75) { home.clone() } else { self.town_address() };
            let kind = weighted(&mut self.rng, &[("非农业户口", 45), ("居民户口", 40), ("农业户口", 15)]);
            (AREA_CODE, COUNTY_BIRTHPLACE.to_owned(), home, kind, current)
        };
        let father =
            Guardian { name: self.adult_name(surname, &TABLES.father_given), relation: "父亲", phone: self.phone() };
        let mother_surname = self.surname_for(ethnicity);
        let mother = Guardian {
            name: self.adult_name(mother_surname, &TABLES.mother_given),
            relation: "母亲",
            phone: self.phone(),
        };
        let (guardian1, guardian2) = if left_behind {
            let relation = weighted(&mut self.rng, &[("祖父", 3), ("祖母", 4), ("外祖父", 1), ("外祖母", 2)]);
            let name = match relation {
                "祖父" => self.adult_name(surname, &TABLES.grandfather_given),
                "外祖父" => self.adult_name(mother_surname, &TABLES.grandfather_given),
                _ => {
                    let s = self.surname_for(ethnicity);
                    self.adult_name(s, &TABLES.grandmother_given)
                }
            };
            let grandparent = Guardian { name, relation, phone: self.phone() };
            let parent = if self.chance(0.6) { father } else { mother };
            (grandparent, Some(parent))
        } else if self.chance(0.55) {
            (father, self.chance(0.9).then_some(mother))
        } else {
            (mother, self.chance(0.9).then_some(father))
        };
        Family {
            surname,
            ethnicity,
            id_area,
            birthplace,
            household_address,
            household_type,
            current_address,
            guardian1,
            guardian2,
            migrant,
            left_behind,
            uyghur: None,
            children: Vec::new(),
        }
    }

    pub(super) fn uyghur_family(&mut self, which: usize) -> Family {
        let u = &TABLES.uyghur[which % TABLES.uyghur.len()];
        let origin = TABLES.minority_origin(UYGHUR);
        let n = self.rng.random_range(1..=300);
        let home = format!("{}{}{n}号", origin.prefix, origin.street);
        let father =
            Guardian { name: format!("{}·{}", u.father, u.grandfather), relation: "父亲", phone: self.phone() };
        let mother = Guardian { name: u.mother.to_owned(), relation: "母亲", phone: self.phone() };
        Family {
            surname: 0,
            ethnicity: UYGHUR,
            id_area: origin.code,
            birthplace: origin.prefix.to_owned(),
            household_address: home,
            household_type: "居民户口",
            current_address: self.town_address(),
            guardian1: father,
            guardian2: Some(mother),
            migrant: true,
            left_behind: false,
            uyghur: Some(which),
            children: Vec::new(),
        }
    }

    /// A family in the pool of the locality that can take one more child
    /// born on `birth` entering in `intake`: two children at most, in
    /// different grades, at least 400 days apart.
    pub(super) fn sibling_family(&mut self, ctx: Ctx, birth: NaiveDate, intake: i32) -> Option<usize> {
        let pool = &self.pools[ctx.locality()];
        if pool.is_empty() {
            return None;
        }
        for _ in 0..4 {
            let f = pool[self.rng.random_range(0..pool.len())];
            let fam = &self.families[f];
            let fits = fam.uyghur.is_none()
                && fam.children.len() == 1
                && fam.children.iter().all(|(b, i, _)| *i != intake && (*b - birth).num_days().abs() >= 400);
            if fits {
                return Some(f);
            }
        }
        None
    }

    /// One pupil's roster row; also returns the index of the pupil's family.
    pub(super) fn pupil(&mut self, ctx: Ctx, spec: &PupilSpec) -> (Row, usize) {
        let gender = match spec.uyghur {
            Some(u) => TABLES.uyghur[u % TABLES.uyghur.len()].gender,
            None if self.chance(0.51) => Gender::Male,
            None => Gender::Female,
        };
        let birth = self.birth_for_intake(spec.intake);
        let sibling = if spec.allow_sibling && spec.uyghur.is_none() && self.chance(0.04) {
            self.sibling_family(ctx, birth, spec.intake)
        } else {
            None
        };
        let fam_index = match sibling {
            Some(f) => f,
            None => {
                let fam = match spec.uyghur {
                    Some(u) => self.uyghur_family(u),
                    None => self.new_family(ctx),
                };
                self.families.push(fam);
                let f = self.families.len() - 1;
                if spec.allow_sibling && spec.uyghur.is_none() {
                    self.pools[ctx.locality()].push(f);
                }
                f
            }
        };
        let (name, pinyin, given) = match self.families[fam_index].uyghur {
            Some(u) => {
                let u = &TABLES.uyghur[u % TABLES.uyghur.len()];
                (format!("{}·{}", u.child, u.father), String::new(), u.child.to_owned())
            }
            None => self.child_name(fam_index, gender, spec.rare),
        };
        let former_name = if spec.rare.is_none() && spec.uyghur.is_none() && self.chance(0.01) {
            let surname = &TABLES.surnames[self.families[fam_index].surname];
            let other = self.given_name(gender);
            if other == given { String::new() } else { format!("{}{other}", surname.text) }
        } else {
            String::new()
        };
        let no_id = spec.allow_no_id && spec.rare.is_none() && self.chance(0.001);
        let id_area = self.families[fam_index].id_area;
        let id_number = if no_id { String::new() } else { self.id_number(id_area, birth, gender).as_str().to_owned() };
        let boarding = if self.chance(ctx.boarding_share) { "住校" } else { "走读" };
        let (special_needs, disability) = match ctx.kind {
            SchoolKind::Special => (NO, weighted(&mut self.rng, &TABLES.disabilities_special)),
            _ if self.chance(0.003) => (YES, weighted(&mut self.rng, &TABLES.disabilities_included)),
            _ => (NO, ""),
        };
        let entry_mode = match ctx.kind {
            SchoolKind::Primary => "就近入学",
            SchoolKind::Junior => "统一招生",
            SchoolKind::Special => "其他",
        };
        let fam = &mut self.families[fam_index];
        fam.children.push((birth, spec.intake, given));
        let (g2_name, g2_relation, g2_phone) = match &fam.guardian2 {
            Some(g) => (g.name.clone(), g.relation.to_owned(), g.phone.clone()),
            None => (String::new(), String::new(), String::new()),
        };
        let row = Row {
            name,
            former_name,
            pinyin,
            gender: gender.label().to_owned(),
            birth_date: birth.format("%Y-%m-%d").to_string(),
            birthplace: fam.birthplace.clone(),
            ethnicity: fam.ethnicity.to_owned(),
            nationality: NATIONALITY.to_owned(),
            id_type: if no_id { ID_NOT_ISSUED } else { ID_CARD }.to_owned(),
            id_number,
            household_address: fam.household_address.clone(),
            household_type: fam.household_type.to_owned(),
            current_address: fam.current_address.clone(),
            guardian1_name: fam.guardian1.name.clone(),
            guardian1_relation: fam.guardian1.relation.to_owned(),
            guardian1_phone: fam.guardian1.phone.clone(),
            guardian2_name: g2_name,
            guardian2_relation: g2_relation,
            guardian2_phone: g2_phone,
            grade: spec.grade.to_string(),
            class: spec.class.to_string(),
            entry_date: format!("{}-09-01", spec.entry_year),
            entry_mode: entry_mode.to_owned(),
            study_mode: boarding.to_owned(),
            left_behind: match (fam.left_behind, &fam.guardian2) {
                (false, _) => "非留守儿童",
                (true, Some(_)) => "单亲留守儿童",
                (true, None) => "双亲留守儿童",
            }
            .to_owned(),
            migrant_child: if fam.migrant && ctx.county_town { YES } else { NO }.to_owned(),
            inclusive: special_needs.to_owned(),
            disability_type: disability.to_owned(),
            ..Row::default()
        };
        (row, fam_index)
    }

    /// A name for a child of the family: (name, pinyin, given name). The
    /// given name differs from the siblings'; `rare` replaces its last
    /// character.
    pub(super) fn child_name(
        &mut self,
        fam_index: usize,
        gender: Gender,
        rare: Option<char>,
    ) -> (String, String, String) {
        let mut given = loop {
            let given = self.given_name(gender);
            if self.families[fam_index].children.iter().all(|(_, _, n)| *n != given) {
                break given;
            }
        };
        if let Some(c) = rare {
            given.pop();
            given.push(c);
        }
        let surname = &TABLES.surnames[self.families[fam_index].surname];
        (format!("{}{given}", surname.text), TABLES.pinyin_of(surname, &given), given)
    }
}
