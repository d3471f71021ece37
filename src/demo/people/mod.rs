//! Families and pupils: surnames by ethnic group, given names, fictional
//! phone and ID numbers, birth dates that meet the entry age, the family's
//! circumstances (migrant, left behind, orphaned, a soldier's family), its
//! two members of the record, siblings, and the roster row a registrar
//! would fill for each pupil, every national item of it.

use super::members::{Person, fill_member, grandparent_jobs, parent_jobs};
use super::schools::Ctx;
use super::tables::{Job, KinSurname, Relative, TABLES};
use super::{AREA_CODE, COUNTY_BIRTHPLACE, ID_CARD, ID_NOT_ISSUED, NATIONALITY, NO, UYGHUR, YES};
use crate::domain::{Gender, IdNumber, SchoolKind};
use crate::roster::Row;
use chrono::{NaiveDate, TimeDelta};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;

mod families;

const HAN: &str = "汉族";
/// Of the left-behind children (a share of the families where they live),
/// those whose parents are both away (双亲留守); the others have one away.
const LEFT_BEHIND_TOWN: f64 = 0.02;
const LEFT_BEHIND_TOWNSHIP: f64 = 0.10;
const BOTH_PARENTS_AWAY: f64 = 0.4;
/// Families (not migrant, not left behind) whose children are orphans.
const ORPHAN_SHARE: f64 = 0.0015;
/// Families (not left behind, not orphaned) of a serving soldier, whose
/// children are 优抚子女.
const MARTYR_SHARE: f64 = 0.0025;
/// Families of an ethnic minority where one parent is Han.
const MIXED_MARRIAGE: f64 = 0.3;
/// The postal code of 农安县 (all its towns and townships).
pub(super) const POSTCODE: &str = "130200";
const NOT_INCLUSIVE: &str = "非随班就读";
const NO_DISABILITY: &str = "无残疾";

impl Home {
    fn only_child_share(self) -> f64 {
        match self {
            Self::Town => 0.62,
            Self::Migrant => 0.40,
            Self::Seat | Self::Village => 0.48,
        }
    }

    /// The share of children who went to kindergarten (学前教育).
    fn preschool_share(self) -> f64 {
        match self {
            Self::Town => 0.98,
            Self::Migrant => 0.90,
            Self::Seat => 0.95,
            Self::Village => 0.84,
        }
    }

    fn email_share(self) -> f64 {
        match self {
            Self::Town => 0.55,
            Self::Migrant => 0.35,
            Self::Seat | Self::Village => 0.30,
        }
    }
}

/// Whether and how a child is left behind (留守): a parent away working
/// (单亲留守), or both (双亲留守, the child living with a grandparent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LeftBehind {
    No,
    OneParent,
    BothParents,
}

impl LeftBehind {
    /// The label of the national table (`是否留守儿童`).
    pub(super) fn label(self) -> &'static str {
        match self {
            Self::No => "非留守儿童",
            Self::OneParent => "单亲留守儿童",
            Self::BothParents => "双亲留守儿童",
        }
    }
}

/// Where a family lives, for the shares and the jobs that depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Home {
    /// A county-town family.
    Town,
    /// A migrant workers' family in the county town.
    Migrant,
    /// A township family at the township's seat.
    Seat,
    /// A township family in a village.
    Village,
}

/// A family member as the national record lists them (家庭成员).
#[derive(Debug, Clone)]
pub(super) struct Member {
    pub(super) name: String,
    pub(super) relation: &'static str,
    /// 关系说明 of a relative (奶奶, 叔叔 …); empty for a parent, whose one
    /// depends on the child's gender (父子, 母女 …).
    pub(super) note: &'static str,
    pub(super) gender: Gender,
    pub(super) birth: NaiveDate,
    pub(super) id_number: String,
    pub(super) ethnicity: &'static str,
    pub(super) phone: String,
    pub(super) current_address: String,
    pub(super) household_address: String,
    pub(super) is_guardian: bool,
    pub(super) job: Job,
}

#[derive(Debug, Clone)]
pub(super) struct Family {
    /// Index into the surname table (unused for Uyghur families).
    pub(super) surname: usize,
    /// The children's ethnic group (the father's or the mother's).
    pub(super) ethnicity: &'static str,
    pub(super) id_area: &'static str,
    pub(super) birthplace: String,
    /// 籍贯: the place of family origin.
    pub(super) native_place: &'static str,
    pub(super) household_address: String,
    pub(super) household_type: &'static str,
    pub(super) current_address: String,
    pub(super) home: Home,
    /// The two members of the record, the first the guardian the child lives with.
    pub(super) member1: Member,
    pub(super) member2: Member,
    pub(super) migrant: bool,
    pub(super) left_behind: LeftBehind,
    pub(super) orphan: bool,
    /// 烈士或优抚子女: here, a serving soldier's family.
    pub(super) martyr: bool,
    pub(super) only_child: bool,
    pub(super) hmt: &'static str,
    /// The guardian's mailbox, or empty.
    pub(super) email: String,
    pub(super) uyghur: Option<usize>,
    /// The younger parent's birth date (living or not, listed or not).
    pub(super) parents_born: NaiveDate,
    /// Birth date, intake year and name of each child.
    pub(super) children: Vec<(NaiveDate, i32, String)>,
}

/// Where the members of a new family live and are registered.
struct Place<'a> {
    id_area: &'static str,
    current: &'a str,
    household: &'a str,
    home: Home,
}

/// What the caller decides about one pupil.
pub(super) struct PupilSpec {
    pub(super) grade: u8,
    pub(super) class: usize,
    /// The pupil's seat in the class (班内学号), from 1.
    pub(super) seat: usize,
    /// The county's 学籍辅号 for the pupil ([`aux_number`]).
    pub(super) aux_no: String,
    /// The intake year of grade 1 (fixes the birth window).
    pub(super) intake: i32,
    /// The year the pupil entered this school.
    pub(super) entry_year: i32,
    /// The day the county is generated for: no date of the row is later.
    pub(super) today: NaiveDate,
    pub(super) rare: Option<char>,
    pub(super) uyghur: Option<usize>,
    pub(super) allow_sibling: bool,
    pub(super) allow_no_id: bool,
}

/// The county's 学籍辅号 (a local number; the national file leaves it to
/// local use): the stage (1 primary, 2 junior), the last two digits of the
/// entry year, the school's sequence number (the last three digits of its
/// code) and the pupil's serial number among the school's entrants of that
/// year: 10 digits, e.g. `1262020137`.
pub(super) fn aux_number(grade: u8, entry_year: i32, school_code: &str, serial: usize) -> String {
    let stage = if grade <= 6 { 1 } else { 2 };
    let school = school_code.get(school_code.len().saturating_sub(3)..).unwrap_or("000");
    format!("{stage}{:02}{school}{serial:04}", entry_year.rem_euclid(100))
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
            pools: vec![Vec::new(); TABLES.township_count() + 1 + TABLES.town_districts.len()],
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

    /// One pupil's roster row, every item filled; also returns the index
    /// of the pupil's family.
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
                    Some(u) => self.uyghur_family(ctx, u, birth),
                    None => self.new_family(ctx, birth),
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
        let id_valid = if no_id { String::new() } else { self.id_valid(birth, spec.today) };
        let home_taught = self.chance(ctx.home_share);
        let study_mode = if home_taught {
            "送教上门"
        } else if self.chance(ctx.boarding_share) {
            "住校"
        } else {
            "走读"
        };
        let (inclusive, disability) = match ctx.kind {
            SchoolKind::Special => (NOT_INCLUSIVE, weighted(&mut self.rng, &TABLES.disabilities_special).label),
            _ if self.chance(0.003) => {
                let d = weighted(&mut self.rng, &TABLES.disabilities_included);
                (d.inclusive, d.label)
            }
            _ => (NOT_INCLUSIVE, NO_DISABILITY),
        };
        let health = if disability == NO_DISABILITY { weighted(&mut self.rng, &TABLES.health) } else { "残疾" };
        let political = self.political(spec.grade, birth, spec.today);
        let specialty = if self.chance(if ctx.county_town { 0.3 } else { 0.12 }) {
            weighted(&mut self.rng, &TABLES.specialties)
        } else {
            "无"
        };
        let preschool_share =
            self.families[fam_index].home.preschool_share() * if ctx.kind == SchoolKind::Special { 0.7 } else { 1.0 };
        let preschool = self.chance(preschool_share);
        let registered_on = self.registration(spec.entry_year, spec.today);
        let entry_mode = match ctx.kind {
            SchoolKind::Primary => "就近入学",
            SchoolKind::Junior => "统一招生",
            SchoolKind::Special => "其他",
        };
        let flag = |b: bool| if b { YES } else { NO }.to_owned();
        let fam = &mut self.families[fam_index];
        fam.children.push((birth, spec.intake, given));
        let mut row = Row {
            name,
            former_name,
            pinyin,
            gender: gender.label().to_owned(),
            birth_date: birth.format("%Y-%m-%d").to_string(),
            birthplace: fam.birthplace.clone(),
            birthplace_code: format!("{}000000", fam.id_area),
            native_place: fam.native_place.to_owned(),
            ethnicity: fam.ethnicity.to_owned(),
            nationality: NATIONALITY.to_owned(),
            id_type: if no_id { ID_NOT_ISSUED } else { ID_CARD }.to_owned(),
            id_number,
            id_valid,
            hmt: fam.hmt.to_owned(),
            political: political.to_owned(),
            health: health.to_owned(),
            household_address: fam.household_address.clone(),
            household_type: fam.household_type.to_owned(),
            specialty: specialty.to_owned(),
            aux_no: spec.aux_no.clone(),
            seat_no: format!("{:02}", spec.seat),
            grade: spec.grade.to_string(),
            class: spec.class.to_string(),
            entry_date: format!("{}-09-01", spec.entry_year),
            entry_mode: entry_mode.to_owned(),
            study_mode: study_mode.to_owned(),
            source: "正常入学".to_owned(),
            current_address: fam.current_address.clone(),
            mailing_address: fam.current_address.clone(),
            home_address: fam.current_address.clone(),
            phone: fam.member1.phone.clone(),
            postcode: POSTCODE.to_owned(),
            email: fam.email.clone(),
            homepage: "无".to_owned(),
            only_child: flag(fam.only_child),
            preschool: flag(preschool),
            left_behind: fam.left_behind.label().to_owned(),
            migrant_child: flag(fam.migrant && ctx.county_town),
            orphan: flag(fam.orphan),
            martyr_child: flag(fam.martyr),
            inclusive: inclusive.to_owned(),
            disability_type: disability.to_owned(),
            registered_on: registered_on.format("%Y-%m-%d").to_string(),
            ..Row::default()
        };
        fill_member(&mut row, 1, &fam.member1, gender);
        fill_member(&mut row, 2, &fam.member2, gender);
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
