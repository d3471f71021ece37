//! The fictional sample county (示例县): a deterministic generator of schools,
//! classes and students for demos, tests and load checks.
//!
//! The county carries the area code of 农安县 (220122, 吉林省长春市) and uses
//! the real county's township names as place names; every school code, name
//! of a person, address and phone number is invented. The same seed, target
//! and date always give the same county ([`ChaCha8Rng`] is portable).
//!
//! The data tables (schools, townships, places, names, ethnic groups and
//! surnames, weights) are plain text files beside this module, one row a
//! line, each with a header saying what its columns are; the generator reads
//! them at first use. Random choices index into them, so the order of their
//! rows is part of the county a seed gives.
//!
//! [`generate`] builds about 40 schools: county-town primary and junior
//! schools (among them 农安县第二实验小学, 农安县城郊小学 and 农安县第四中学,
//! which the regulation names for migrant workers' children, Art. 18),
//! township central primary schools and junior schools, a few village primary
//! schools whose files their central school holds (Art. 2, 32), and the one
//! special school. Every student is a roster [`Row`] filled as a registrar
//! would: valid ID numbers built with [`IdNumber::from_parts`], birth dates
//! that satisfy the entry age of the grade's intake year (Art. 4, 7), classes
//! within the caps of Art. 6. Names follow the families' ethnic groups: two
//! Uyghur pupils are placed by hand, and a small share of the county-town
//! migrant families are the Uyghur, Kazakh, Hui and Mongolian families of
//! `minority_names.txt`, whose names (8 to 16 characters, parts joined by
//! the middle dot ·) are the longest the forms must print.
//!
//! [`sample_roster_with_mistakes`] builds a first-grade intake roster for one
//! primary school with a handful of deliberate, listed mistakes, for the
//! import workflow (Art. 10) and its duplicate checks (Art. 11, 14).

pub mod load;
mod tables;

use crate::domain::{Gender, IdNumber, SchoolKind, school_year_start};
use crate::roster::Row;
use chrono::{Datelike, NaiveDate, TimeDelta};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;
use tables::TABLES;

/// The county's administrative area code (农安县, 吉林省长春市).
pub const AREA_CODE: &str = "220122";
/// The county's name.
pub const COUNTY_NAME: &str = "农安县";

const PROVINCE_CITY: &str = "吉林省长春市";
const COUNTY_BIRTHPLACE: &str = "吉林省长春市农安县";
const NATIONALITY: &str = "中国";
const ID_CARD: &str = "居民身份证";
const ID_NOT_ISSUED: &str = "未办理";
const YES: &str = "是";
const NO: &str = "否";
const UYGHUR: &str = "维吾尔族";

/// The whole fictional county: its schools, their classes and their students.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct County {
    /// The administrative area code, [`AREA_CODE`].
    pub area_code: &'static str,
    /// The county's name, [`COUNTY_NAME`].
    pub name: &'static str,
    /// The school year the county is generated for, as
    /// [`school_year_start`] gives it for the `today` of [`generate`]: grade
    /// `g` entered in the autumn of `school_year - (g - 1)`.
    pub school_year: i32,
    /// The schools, county-town schools first, then township by township.
    pub schools: Vec<SchoolSeed>,
    /// The classes of every school, by school, grade and class number.
    pub classes: Vec<ClassSeed>,
    /// The students, in the order of their classes.
    pub students: Vec<StudentSeed>,
}

impl County {
    /// The school with this 学校标识码, if the county has it.
    pub fn school(&self, code: &str) -> Option<&SchoolSeed> {
        self.schools.iter().find(|s| s.code == code)
    }

    /// The school with this exact name, if the county has it.
    pub fn school_named(&self, name: &str) -> Option<&SchoolSeed> {
        self.schools.iter().find(|s| s.name == name)
    }
}

/// One school of the county.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchoolSeed {
    /// The 10-digit 学校标识码 (fictional, unique in the county).
    pub code: String,
    /// The full name, e.g. `农安县合隆镇中心小学`.
    pub name: String,
    /// Primary, junior or special school.
    pub kind: SchoolKind,
    /// Whether the school is in the county town (农安镇).
    pub county_town: bool,
    /// For a township's village school: the code of the township's central
    /// school, whose registrar holds the village school's files. `None` for
    /// every other school.
    pub central_school_code: Option<String>,
    /// The 学区 of a county-town school (e.g. `城西学区`), or the township.
    pub district: String,
    /// The postal address.
    pub address: String,
}

/// One class of a school.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassSeed {
    /// The school's 学校标识码.
    pub school_code: String,
    /// The grade, 1 to 9.
    pub grade: u8,
    /// The class number within the grade, 1 to n.
    pub number: u8,
    /// The head teacher (班主任).
    pub head_teacher: String,
    /// The class's cap: `None` for the regulation's cap (Art. 6), or a lower
    /// one, e.g. `Some(12)` for the special school's classes.
    pub cap: Option<u16>,
}

/// One student: the school and the roster row a registrar would have filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudentSeed {
    /// The school's 学校标识码.
    pub school_code: String,
    /// Every cell as text, valid; `年级` and `班级` give the class, `学籍号`
    /// is empty (it is derived from the ID number on import).
    pub row: Row,
}

/// A mistake deliberately put into a sample roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlantedMistake {
    /// The 0-based index of the row in the returned rows.
    pub row_index: usize,
    /// The column concerned: a header of [`crate::roster::COLUMNS`].
    pub column: &'static str,
    /// A short Chinese description of the mistake.
    pub what: &'static str,
}

// ---------------------------------------------------------------------------
// Parameters. The data tables are in the data files beside this module (`tables`).

/// The share of the county-town migrant families with one child that are
/// families of `minority_names.txt`, while some are left (each at most once):
/// about fifteen in a county of 20,000 students.
const MINORITY_SHARE: f64 = 0.012;
/// Mixed into the seed for the choice of the minority families, which has a
/// random stream of its own: the rest of the county (and the sample roster
/// drawn against it) is the same as without them.
const MINORITY_STREAM: u64 = 0x6d69_6e6f_7269_7479;

/// Relative size of each grade's cohort (births have fallen, so the younger
/// grades are smaller).
const GRADE_WEIGHTS: [f64; 9] = [0.82, 0.88, 0.93, 0.97, 1.0, 1.0, 1.02, 1.03, 1.03];

// ---------------------------------------------------------------------------
// Schools as the generator sees them.

struct SchoolDef {
    name: String,
    kind: SchoolKind,
    county_town: bool,
    district: String,
    address: String,
    weight: f64,
    ideal_class: u16,
    cap: Option<u16>,
    central: Option<usize>,
    ctx: Ctx,
}

/// What a school's location means for its pupils' families.
#[derive(Debug, Clone, Copy)]
struct Ctx {
    kind: SchoolKind,
    county_town: bool,
    /// The township (index into the township list), `None` in the county town.
    township: Option<usize>,
    migrant_share: f64,
    boarding_share: f64,
}

impl Ctx {
    /// The index of the families' pool: 0 for the county town, 1 + township.
    fn locality(self) -> usize {
        self.township.map_or(0, |t| t + 1)
    }
}

fn school_defs() -> Vec<SchoolDef> {
    let tables = &*TABLES;
    let mut defs = Vec::new();
    for s in &tables.town_schools {
        defs.push(SchoolDef {
            name: s.name.to_owned(),
            kind: s.kind,
            county_town: true,
            district: s.district.to_owned(),
            address: format!("{PROVINCE_CITY}农安县农安镇{}{}号", s.street, s.number),
            weight: s.weight,
            ideal_class: match s.kind {
                SchoolKind::Primary => 43,
                SchoolKind::Junior => 48,
                SchoolKind::Special => 10,
            },
            cap: (s.kind == SchoolKind::Special).then_some(12),
            central: None,
            ctx: Ctx {
                kind: s.kind,
                county_town: true,
                township: None,
                migrant_share: s.migrant,
                boarding_share: if s.kind == SchoolKind::Special { 0.3 } else { 0.0 },
            },
        });
    }
    for (ti, t) in tables.townships.iter().enumerate() {
        let ctx = |kind| Ctx {
            kind,
            county_town: false,
            township: Some(ti),
            migrant_share: 0.0,
            boarding_share: if kind == SchoolKind::Junior { 0.25 } else { 0.0 },
        };
        let seat = |k: usize, n: usize| {
            let street = tables.seat_streets[(ti + k) % tables.seat_streets.len()];
            format!("{PROVINCE_CITY}农安县{}{street}{}号", t.name, n)
        };
        let central = defs.len();
        defs.push(SchoolDef {
            name: format!("农安县{}中心小学", t.name),
            kind: SchoolKind::Primary,
            county_town: false,
            district: t.name.to_owned(),
            address: seat(0, 12 + ti * 7),
            weight: t.primary,
            ideal_class: 38,
            cap: None,
            central: None,
            ctx: ctx(SchoolKind::Primary),
        });
        if let Some((village, weight)) = t.village_school {
            defs.push(SchoolDef {
                name: format!("农安县{}{village}小学", t.name),
                kind: SchoolKind::Primary,
                county_town: false,
                district: t.name.to_owned(),
                address: format!("{PROVINCE_CITY}农安县{}{village}村", t.name),
                weight,
                ideal_class: 40,
                cap: None,
                central: Some(central),
                ctx: ctx(SchoolKind::Primary),
            });
        }
        defs.push(SchoolDef {
            name: format!("农安县{}中学", t.name),
            kind: SchoolKind::Junior,
            county_town: false,
            district: t.name.to_owned(),
            address: seat(3, 40 + ti * 11),
            weight: t.junior,
            ideal_class: 45,
            cap: None,
            central: None,
            ctx: ctx(SchoolKind::Junior),
        });
    }
    defs
}

fn school_code(index: usize) -> String {
    format!("2122012{:03}", index + 1)
}

/// Splits `total` in proportion to `weights` (largest remainders; ties by index).
fn apportion(total: usize, weights: &[f64]) -> Vec<usize> {
    let sum: f64 = weights.iter().sum();
    if weights.is_empty() || sum <= 0.0 {
        return vec![0; weights.len()];
    }
    let quotas: Vec<f64> = weights.iter().map(|w| total as f64 * w / sum).collect();
    let mut counts: Vec<usize> = quotas.iter().map(|q| q.floor() as usize).collect();
    let assigned: usize = counts.iter().sum();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    let rest = |i: usize| quotas[i] - counts[i] as f64;
    order.sort_by(|&a, &b| rest(b).total_cmp(&rest(a)).then(a.cmp(&b)));
    for &i in order.iter().take(total.saturating_sub(assigned)) {
        counts[i] += 1;
    }
    counts
}

/// Students per school and grade (index `grade - 1`).
fn allocate(defs: &[SchoolDef], target: usize, rng: &mut ChaCha8Rng) -> Vec<[usize; 9]> {
    let cohorts = apportion(target, &GRADE_WEIGHTS);
    let mut out = vec![[0; 9]; defs.len()];
    for (gi, &cohort) in cohorts.iter().enumerate() {
        let grade = gi as u8 + 1;
        let schools: Vec<usize> = (0..defs.len()).filter(|&i| defs[i].kind.grades().contains(&grade)).collect();
        let weights: Vec<f64> = schools.iter().map(|&i| defs[i].weight * rng.random_range(0.92..1.08)).collect();
        for (k, n) in apportion(cohort, &weights).into_iter().enumerate() {
            out[schools[k]][gi] = n;
        }
    }
    out
}

/// Class sizes for `n` pupils: as many classes as needed for the cap, about
/// `ideal` pupils each, sizes a little uneven as real classes are.
fn split_classes(n: usize, cap: u16, ideal: u16, rng: &mut ChaCha8Rng) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let cap = usize::from(cap.max(1));
    let ideal = usize::from(ideal.clamp(1, cap as u16));
    let k = n.div_ceil(cap).max((n + ideal / 2) / ideal).max(1);
    let mut sizes = vec![n / k; k];
    for s in sizes.iter_mut().take(n % k) {
        *s += 1;
    }
    if k > 1 {
        for _ in 0..k {
            let i = rng.random_range(0..k);
            let j = rng.random_range(0..k);
            if i != j && sizes[j] < cap && sizes[i] >= sizes[j] && sizes[i] > 1 {
                sizes[i] -= 1;
                sizes[j] += 1;
            }
        }
    }
    sizes
}

// ---------------------------------------------------------------------------
// Families and pupils.

#[derive(Debug, Clone)]
struct Guardian {
    name: String,
    relation: &'static str,
    phone: String,
}

#[derive(Debug, Clone)]
struct Family {
    /// Index into the surname table (unused for Uyghur families).
    surname: usize,
    ethnicity: &'static str,
    id_area: &'static str,
    birthplace: String,
    household_address: String,
    household_type: &'static str,
    current_address: String,
    guardian1: Guardian,
    guardian2: Option<Guardian>,
    migrant: bool,
    left_behind: bool,
    uyghur: Option<usize>,
    /// Birth date, intake year and name of each child.
    children: Vec<(NaiveDate, i32, String)>,
}

/// What the caller decides about one pupil.
struct PupilSpec {
    grade: u8,
    class: usize,
    /// The intake year of grade 1 (fixes the birth window).
    intake: i32,
    /// The year the pupil entered this school.
    entry_year: i32,
    rare: Option<char>,
    uyghur: Option<usize>,
    allow_sibling: bool,
    allow_no_id: bool,
}

struct Gen {
    rng: ChaCha8Rng,
    used_ids: HashSet<String>,
    used_phones: HashSet<String>,
    families: Vec<Family>,
    /// Families by locality (0: county town, 1 + township index).
    pools: Vec<Vec<usize>>,
}

fn weighted<T: Copy>(rng: &mut ChaCha8Rng, items: &[(T, u32)]) -> T {
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

fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    *items.choose(rng).expect("the lists of names and places are not empty")
}

impl Gen {
    fn new(seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            used_ids: HashSet::new(),
            used_phones: HashSet::new(),
            families: Vec::new(),
            pools: vec![Vec::new(); TABLES.township_count() + 1],
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p.clamp(0.0, 1.0))
    }

    fn surname(&mut self) -> usize {
        let t = &*TABLES;
        let total = t.cumulative.last().copied().unwrap_or(0).max(1);
        let r = self.rng.random_range(0..total);
        t.cumulative.partition_point(|&c| c <= r).min(t.surnames.len() - 1)
    }

    /// A surname for a family of the ethnic group: one of the group's
    /// surnames with the share of `ethnicities.txt` (always at a share of 1,
    /// without a random draw), else one of `surnames.txt` by weight.
    fn surname_for(&mut self, ethnicity: &str) -> usize {
        let Some(e) = TABLES.ethnic_surnames.get(ethnicity) else {
            return self.surname();
        };
        if e.share < 1.0 && !self.chance(e.share) {
            return self.surname();
        }
        let s = pick(&mut self.rng, &e.surnames);
        TABLES.surname_index(s)
    }

    fn adult_name(&mut self, surname: usize, given: &[&str]) -> String {
        format!("{}{}", TABLES.surnames[surname].text, pick(&mut self.rng, given))
    }

    fn given_name(&mut self, gender: Gender) -> String {
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
    fn phone(&mut self) -> String {
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
    fn id_number(&mut self, area: &str, birth: NaiveDate, gender: Gender) -> IdNumber {
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
    fn birth_for_intake(&mut self, intake: i32) -> NaiveDate {
        let date = |y: i32, m: u32, d: u32| NaiveDate::from_ymd_opt(y, m, d).expect("a real date");
        let (start, end) = if self.chance(0.95) {
            (date(intake - 7, 9, 1), date(intake - 6, 8, 31))
        } else {
            (date(intake - 8, 11, 1), date(intake - 7, 8, 31))
        };
        let days = (end - start).num_days();
        start + TimeDelta::days(self.rng.random_range(0..=days))
    }

    fn town_address(&mut self) -> String {
        let street = pick(&mut self.rng, &TABLES.town_streets);
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

    fn village_address(&mut self, ti: usize) -> String {
        let village = pick(&mut self.rng, &TABLES.township_villages[ti % TABLES.township_count()]);
        let group = self.rng.random_range(1..=9);
        format!("{PROVINCE_CITY}农安县{}{village}村{group}组", TABLES.township_name(ti))
    }

    fn seat_address(&mut self, ti: usize) -> String {
        let street = pick(&mut self.rng, &TABLES.seat_streets);
        let n = self.rng.random_range(1..=200);
        format!("{PROVINCE_CITY}农安县{}{street}{n}号", TABLES.township_name(ti))
    }

    fn new_family(&mut self, ctx: Ctx) -> Family {
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

    fn uyghur_family(&mut self, which: usize) -> Family {
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
    fn sibling_family(&mut self, ctx: Ctx, birth: NaiveDate, intake: i32) -> Option<usize> {
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
    fn pupil(&mut self, ctx: Ctx, spec: &PupilSpec) -> (Row, usize) {
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
            boarding: boarding.to_owned(),
            left_behind: if fam.left_behind { YES } else { NO }.to_owned(),
            migrant_child: if fam.migrant && ctx.county_town { YES } else { NO }.to_owned(),
            special_needs: special_needs.to_owned(),
            disability_type: disability.to_owned(),
            student_no: String::new(),
        };
        (row, fam_index)
    }

    /// A name for a child of the family: (name, pinyin, given name). The
    /// given name differs from the siblings'; `rare` replaces its last
    /// character.
    fn child_name(&mut self, fam_index: usize, gender: Gender, rare: Option<char>) -> (String, String, String) {
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

// ---------------------------------------------------------------------------
// The county.

/// Generates the sample county.
///
/// `seed` fixes every random choice; `students_target` is the number of
/// students (met exactly, spread over grades 1-9 with smaller younger
/// cohorts); `today` fixes the school year as the importer reckons it
/// ([`school_year_start`]: the year of `today` from promotion day, 10 August,
/// on, else the year before), so that grade `g` entered in the autumn of
/// `school_year - (g - 1)` and every birth date meets the entry age of that
/// intake year (Art. 4, 7).
///
/// About 20,000 students take well under a second in an optimised build.
/// Targets up to about 300,000 keep class numbers within 1-99.
pub fn generate(seed: u64, students_target: usize, today: NaiveDate) -> County {
    let school_year = school_year_start(today);
    let defs = school_defs();
    let mut g = Gen::new(seed);
    let counts = allocate(&defs, students_target, &mut g.rng);
    let total: usize = counts.iter().flatten().sum();
    let forced_rare: Vec<usize> =
        if total == 0 { Vec::new() } else { rand::seq::index::sample(&mut g.rng, total, 3.min(total)).into_vec() };

    let schools: Vec<SchoolSeed> = defs
        .iter()
        .enumerate()
        .map(|(i, d)| SchoolSeed {
            code: school_code(i),
            name: d.name.clone(),
            kind: d.kind,
            county_town: d.county_town,
            central_school_code: d.central.map(school_code),
            district: d.district.clone(),
            address: d.address.clone(),
        })
        .collect();

    let mut classes = Vec::new();
    let mut students = Vec::with_capacity(total);
    // The family of each student.
    let mut families = Vec::with_capacity(total);
    // Forced rare characters waiting for a seat (one may land on a Uyghur pupil).
    let mut carry: Vec<char> = Vec::new();
    for (si, d) in defs.iter().enumerate() {
        let code = &schools[si].code;
        let cap = d.cap.unwrap_or(d.kind.max_class_size());
        for grade in d.kind.grades() {
            let n = counts[si][usize::from(grade - 1)];
            let intake = school_year - i32::from(grade - 1);
            let entry_year = match d.kind {
                SchoolKind::Junior => school_year - i32::from(grade - 7),
                _ => intake,
            };
            let sizes = split_classes(n, cap, d.ideal_class, &mut g.rng);
            for (ci, &size) in sizes.iter().enumerate() {
                let number = ci + 1;
                let female_teacher = g.chance(if d.kind == SchoolKind::Junior { 0.6 } else { 0.8 });
                let s = g.surname();
                let head_teacher =
                    g.adult_name(s, if female_teacher { &TABLES.mother_given } else { &TABLES.father_given });
                classes.push(ClassSeed {
                    school_code: code.clone(),
                    grade,
                    number: u8::try_from(number).unwrap_or(u8::MAX),
                    head_teacher,
                    cap: d.cap,
                });
                for seat in 0..size {
                    let index = students.len();
                    let uyghur = TABLES
                        .uyghur
                        .iter()
                        .position(|u| u.school == d.name && u.grade == grade && number == 1 && seat == 0);
                    if let Some(k) = forced_rare.iter().position(|&p| p == index) {
                        carry.push(TABLES.rare[k]);
                    }
                    let rare = if uyghur.is_some() {
                        None
                    } else if let Some(c) = carry.pop() {
                        Some(c)
                    } else if g.chance(1.0 / 500.0) {
                        Some(pick(&mut g.rng, &TABLES.rare))
                    } else {
                        None
                    };
                    let spec = PupilSpec {
                        grade,
                        class: number,
                        intake,
                        entry_year,
                        rare,
                        uyghur,
                        allow_sibling: d.kind != SchoolKind::Special,
                        allow_no_id: true,
                    };
                    let (row, fam) = g.pupil(d.ctx, &spec);
                    families.push(fam);
                    students.push(StudentSeed { school_code: code.clone(), row });
                }
            }
        }
    }
    place_minority_families(&g, &mut students, &families, seed);
    County { area_code: AREA_CODE, name: COUNTY_NAME, school_year, schools, classes, students }
}

/// Makes a small share of the county-town migrant families with one child
/// into the families of `minority_names.txt` (each at most once, the pupil's
/// gender matching): the names of the pupil and the parents, the ethnicity,
/// the place of registration and the ID number's area code change; the
/// birth date, the ID's sequence number, the phones and the class stay. The
/// choice has its own random stream ([`MINORITY_STREAM`]).
fn place_minority_families(g: &Gen, students: &mut [StudentSeed], families: &[usize], seed: u64) {
    let minority = &TABLES.minority;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ MINORITY_STREAM);
    let mut placed = vec![false; minority.len()];
    let mut new_ids = HashSet::new();
    for (s, &f) in students.iter_mut().zip(families) {
        if placed.iter().all(|&p| p) {
            break;
        }
        let fam = &g.families[f];
        let r = &mut s.row;
        let eligible = fam.migrant
            && fam.uyghur.is_none()
            && fam.children.len() == 1
            && r.migrant_child == YES
            && r.id_type == ID_CARD
            && !r.name.chars().any(|c| TABLES.rare.contains(&c));
        if !eligible || !rng.random_bool(MINORITY_SHARE) {
            continue;
        }
        let Ok(gender) = Gender::parse(&r.gender) else { continue };
        let Some(k) = (0..minority.len()).find(|&k| !placed[k] && minority[k].gender == gender) else {
            continue;
        };
        let m = &minority[k];
        let origin = TABLES.minority_origin(m.ethnicity);
        let (Ok(birth), Some(Ok(seq))) =
            (NaiveDate::parse_from_str(&r.birth_date, "%Y-%m-%d"), r.id_number.get(14..17).map(str::parse::<u16>))
        else {
            continue;
        };
        let Ok(id) = IdNumber::from_parts(origin.code, birth, seq) else { continue };
        if g.used_ids.contains(id.as_str()) || !new_ids.insert(id.as_str().to_owned()) {
            continue;
        }
        placed[k] = true;
        r.name = m.child.to_owned();
        r.former_name.clear();
        r.pinyin.clear();
        r.ethnicity = m.ethnicity.to_owned();
        r.id_number = id.as_str().to_owned();
        r.birthplace = origin.prefix.to_owned();
        r.household_address = format!("{}{}{}号", origin.prefix, origin.street, rng.random_range(1..=300));
        for (name, relation) in
            [(&mut r.guardian1_name, &r.guardian1_relation), (&mut r.guardian2_name, &r.guardian2_relation)]
        {
            match relation.as_str() {
                "父亲" => *name = m.father.to_owned(),
                "母亲" => *name = m.mother.to_owned(),
                _ => {}
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The intake roster with mistakes.

const COL_ID_NUMBER: &str = "身份证件号";
const COL_BIRTH: &str = "出生日期";
const COL_GENDER: &str = "性别";
const COL_PHONE: &str = "监护人电话";

/// The kinds of mistakes, in the order they are planted when there is room
/// for fewer than all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mistake {
    CheckChar,
    BirthMismatch,
    GenderMismatch,
    TooYoung,
    DuplicateId,
    EmptyPhone,
    ShortPhone,
    ImpossibleDate,
}

const MISTAKES: [Mistake; 8] = [
    Mistake::CheckChar,
    Mistake::BirthMismatch,
    Mistake::GenderMismatch,
    Mistake::TooYoung,
    Mistake::DuplicateId,
    Mistake::EmptyPhone,
    Mistake::ShortPhone,
    Mistake::ImpossibleDate,
];

impl Mistake {
    fn column(self) -> &'static str {
        match self {
            Self::CheckChar | Self::DuplicateId => COL_ID_NUMBER,
            Self::BirthMismatch | Self::TooYoung | Self::ImpossibleDate => COL_BIRTH,
            Self::GenderMismatch => COL_GENDER,
            Self::EmptyPhone | Self::ShortPhone => COL_PHONE,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Self::CheckChar => "身份证件号校验码错误",
            Self::BirthMismatch => "出生日期与身份证件号不一致",
            Self::GenderMismatch => "性别与身份证件号不一致",
            Self::TooYoung => "未满入学年龄（9月1日才满6周岁）",
            Self::DuplicateId => "身份证件号与本表另一行重复（双胞胎误填同一号码）",
            Self::EmptyPhone => "必填项监护人电话为空",
            Self::ShortPhone => "监护人电话只有10位",
            Self::ImpossibleDate => "出生日期不存在（2月30日）",
        }
    }
}

/// Builds a first-grade intake roster (学前调档名单) of `rows` new pupils for
/// one primary school of the county, with a handful of deliberate mistakes.
///
/// The pupils belong to the county's current intake (`county.school_year`;
/// 入学日期 is 1 September of that year), live where the school's pupils
/// live, and are put in new grade-1 classes numbered after the school's
/// existing ones, at most 40 to a class, so the classes have room. Their ID
/// numbers collide neither with each other nor with the county's students.
///
/// Every row would import cleanly except the planted mistakes, one per
/// listed row (up to eight, at most half the rows): a wrong ID check
/// character; a birth date not matching the ID; a gender not matching the
/// ID; a child who turns 6 on 1 September (too young, Art. 7); an ID number
/// repeated from an earlier row (a twin given the sibling's number); an
/// empty 监护人电话; a 10-digit phone number; an impossible birth date
/// (30 February). The mistakes are returned sorted by row.
///
/// Returns nothing if `school_code` is not a primary school of the county.
pub fn sample_roster_with_mistakes(
    county: &County,
    school_code: &str,
    rows: usize,
    seed: u64,
) -> (Vec<Row>, Vec<PlantedMistake>) {
    let Some(school) = county.school(school_code) else {
        return (Vec::new(), Vec::new());
    };
    if school.kind != SchoolKind::Primary || rows == 0 {
        return (Vec::new(), Vec::new());
    }
    let defs = school_defs();
    let ctx = match defs.iter().find(|d| d.name == school.name) {
        Some(d) => d.ctx,
        None => Ctx {
            kind: SchoolKind::Primary,
            county_town: school.county_town,
            township: (0..TABLES.townships.len()).find(|&t| school.district == TABLES.township_name(t)),
            migrant_share: if school.county_town { 0.05 } else { 0.0 },
            boarding_share: 0.0,
        },
    };
    let intake = county.school_year;
    let mut g = Gen::new(seed);
    // Only the county's IDs with a birth year a new pupil can have could collide.
    let years = (intake - 8)..=(intake - 6);
    for s in &county.students {
        let year = s.row.id_number.get(6..10).and_then(|y| y.parse::<i32>().ok());
        if year.is_some_and(|y| years.contains(&y)) {
            g.used_ids.insert(s.row.id_number.to_ascii_uppercase());
        }
        for phone in [&s.row.guardian1_phone, &s.row.guardian2_phone] {
            if !phone.is_empty() {
                g.used_phones.insert(phone.clone());
            }
        }
    }
    let existing = county
        .classes
        .iter()
        .filter(|c| c.school_code == school.code && c.grade == 1)
        .map(|c| usize::from(c.number))
        .max()
        .unwrap_or(0);
    let class_count = rows.div_ceil(40).max(1);

    let mut out = Vec::with_capacity(rows);
    let mut families = Vec::with_capacity(rows);
    for i in 0..rows {
        let spec = PupilSpec {
            grade: 1,
            class: existing + 1 + i * class_count / rows,
            intake,
            entry_year: intake,
            rare: None,
            uyghur: None,
            allow_sibling: false,
            allow_no_id: false,
        };
        let (row, fam) = g.pupil(ctx, &spec);
        out.push(row);
        families.push(fam);
    }

    let planted = (rows / 2).min(MISTAKES.len());
    let mut positions: Vec<usize> =
        rand::seq::index::sample(&mut g.rng, rows - 1, planted).into_iter().map(|p| p + 1).collect();
    positions.sort_unstable();
    let mut kinds: Vec<Mistake> = MISTAKES[..planted].to_vec();
    // The duplicate takes the last position so that an earlier clean row can
    // be its twin; the other kinds are spread at random.
    let dup = kinds.iter().position(|&k| k == Mistake::DuplicateId);
    if let Some(d) = dup {
        kinds.remove(d);
    }
    rand::seq::SliceRandom::shuffle(kinds.as_mut_slice(), &mut g.rng);
    if dup.is_some() {
        kinds.push(Mistake::DuplicateId);
    }

    let mut mistakes = Vec::with_capacity(planted);
    for (&row_index, &kind) in positions.iter().zip(&kinds) {
        let row = &mut out[row_index];
        match kind {
            Mistake::CheckChar => {
                let last = row.id_number.pop().unwrap_or('0');
                let wrong: Vec<char> = "0123456789X".chars().filter(|&c| c != last).collect();
                row.id_number.push(pick(&mut g.rng, &wrong));
            }
            Mistake::BirthMismatch => {
                if let Ok(birth) = NaiveDate::parse_from_str(&row.birth_date, "%Y-%m-%d") {
                    // One digit of the day mistyped: same month, still a real date.
                    let day = if birth.day() > 10 { birth.day() - 10 } else { birth.day() + 10 };
                    let typo = birth.with_day(day).expect("days 1-20 exist in every month");
                    row.birth_date = typo.format("%Y-%m-%d").to_string();
                }
            }
            Mistake::GenderMismatch => {
                row.gender =
                    if row.gender == Gender::Male.label() { Gender::Female.label() } else { Gender::Male.label() }
                        .to_owned();
            }
            Mistake::TooYoung => {
                let birth = NaiveDate::from_ymd_opt(intake - 6, 9, 1).expect("1 September exists");
                let gender = Gender::parse(&row.gender).unwrap_or(Gender::Female);
                let area = g.families[families[row_index]].id_area;
                let id = g.id_number(area, birth, gender);
                let row = &mut out[row_index];
                row.birth_date = birth.format("%Y-%m-%d").to_string();
                row.id_number = id.as_str().to_owned();
            }
            Mistake::DuplicateId => {
                let clean: Vec<usize> = (0..row_index).filter(|i| !positions.contains(i)).collect();
                let twin = pick(&mut g.rng, &clean);
                let gender = Gender::parse(&out[twin].gender).unwrap_or(Gender::Female);
                let fam = families[twin];
                let (name, pinyin, _) = g.child_name(fam, gender, None);
                let mut copy = out[twin].clone();
                copy.name = name;
                copy.pinyin = pinyin;
                copy.former_name.clear();
                copy.class = out[row_index].class.clone();
                out[row_index] = copy;
            }
            Mistake::EmptyPhone => row.guardian1_phone.clear(),
            Mistake::ShortPhone => {
                row.guardian1_phone.remove(6);
            }
            Mistake::ImpossibleDate => {
                let year = row.birth_date.get(..4).unwrap_or("2019").to_owned();
                row.birth_date = format!("{year}-02-30");
            }
        }
        mistakes.push(PlantedMistake { row_index, column: kind.column(), what: kind.what() });
    }
    (out, mistakes)
}

#[cfg(test)]
mod tests;
