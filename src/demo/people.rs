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

    /// A new family for a child born on `child_birth`: where it lives and
    /// is registered, its circumstances, and its two members of the record.
    pub(super) fn new_family(&mut self, ctx: Ctx, child_birth: NaiveDate) -> Family {
        let migrant = ctx.county_town && self.chance(ctx.migrant_share);
        let left_behind =
            !migrant && self.chance(if ctx.county_town { LEFT_BEHIND_TOWN } else { LEFT_BEHIND_TOWNSHIP });
        let ethnicity = weighted(&mut self.rng, &TABLES.ethnicities);
        let (father_ethnicity, mother_ethnicity) = if ethnicity != HAN && self.chance(MIXED_MARRIAGE) {
            if self.chance(0.5) { (ethnicity, HAN) } else { (HAN, ethnicity) }
        } else {
            (ethnicity, ethnicity)
        };
        let surname = self.surname_for(father_ethnicity);
        let (id_area, birthplace, native_place, household_address, household_type, current_address, home) = if migrant {
            if self.chance(0.55) {
                let ti = self.rng.random_range(0..TABLES.township_count());
                let home = self.village_address(ti);
                let kind = weighted(&mut self.rng, &[("农业户口", 70), ("居民户口", 30)]);
                let native = weighted(&mut self.rng, &TABLES.native_places);
                (AREA_CODE, COUNTY_BIRTHPLACE.to_owned(), native, home, kind, self.town_address(), Home::Migrant)
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
                (o.code, o.prefix.to_owned(), o.prefix, home, kind, self.town_address(), Home::Migrant)
            }
        } else if let Some(ti) = ctx.township {
            let home = self.village_address(ti);
            let in_village = self.chance(0.85);
            let current = if in_village { home.clone() } else { self.seat_address(ti) };
            let kind = weighted(&mut self.rng, &[("农业户口", 75), ("居民户口", 20), ("非农业户口", 5)]);
            let native = weighted(&mut self.rng, &TABLES.native_places);
            let place = if in_village { Home::Village } else { Home::Seat };
            (AREA_CODE, COUNTY_BIRTHPLACE.to_owned(), native, home, kind, current, place)
        } else {
            let home = self.town_address();
            let current = if self.chance(0.75) { home.clone() } else { self.town_address() };
            let kind = weighted(&mut self.rng, &[("非农业户口", 45), ("居民户口", 40), ("农业户口", 15)]);
            let native = weighted(&mut self.rng, &TABLES.native_places);
            (AREA_CODE, COUNTY_BIRTHPLACE.to_owned(), native, home, kind, current, Home::Town)
        };
        let left = match (left_behind, left_behind && self.chance(BOTH_PARENTS_AWAY)) {
            (false, _) => LeftBehind::No,
            (true, false) => LeftBehind::OneParent,
            (true, true) => LeftBehind::BothParents,
        };
        let orphan = !migrant && !left_behind && self.chance(ORPHAN_SHARE);
        let martyr = !orphan && !left_behind && self.chance(MARTYR_SHARE);
        let only_child = self.chance(home.only_child_share());
        let hmt = weighted(&mut self.rng, &TABLES.hmt);
        let at = Place { id_area, current: &current_address, household: &household_address, home };

        let name = self.adult_name(surname, &TABLES.father_given);
        let birth = self.years_from(child_birth, -38, -24);
        let person =
            Person { name, relation: "父亲", note: "", gender: Gender::Male, birth, ethnicity: father_ethnicity };
        let mut father = self.member(&at, person, parent_jobs(home, Gender::Male));
        if martyr {
            father.job = weighted(&mut self.rng, TABLES.jobs("军人"));
        }
        let mother_surname = self.surname_for(mother_ethnicity);
        let name = self.adult_name(mother_surname, &TABLES.mother_given);
        let birth = self.years_from(child_birth, -36, -22);
        let person =
            Person { name, relation: "母亲", note: "", gender: Gender::Female, birth, ethnicity: mother_ethnicity };
        let mother = self.member(&at, person, parent_jobs(home, Gender::Female));

        let parents_born = father.birth.max(mother.birth);
        let surnames = (surname, mother_surname);
        let (member1, member2) = match left {
            LeftBehind::No if orphan => {
                // Both parents have died: a relative is the guardian, with the spouse.
                let r = &TABLES.relatives[weighted(&mut self.rng, &TABLES.relative_weights)];
                let guardian = self.relative(&at, r, None, (&father, &mother), surnames);
                let spouse = self.relative(&at, r, Some(&guardian), (&father, &mother), surnames);
                (guardian, spouse)
            }
            LeftBehind::No if self.chance(0.55) => (father, mother),
            LeftBehind::No => (mother, father),
            LeftBehind::OneParent => {
                let (at_home, mut away) = if self.chance(0.75) { (mother, father) } else { (father, mother) };
                self.send_away(&mut away);
                (at_home, away)
            }
            LeftBehind::BothParents => {
                // The grandparent the child lives with is the guardian (委托监护);
                // one of the parents away is the second member.
                let r = &TABLES.relatives[weighted(&mut self.rng, &TABLES.grandparent_weights)];
                let grandparent = self.relative(&at, r, None, (&father, &mother), surnames);
                let mut parent = if self.chance(0.6) { father } else { mother };
                self.send_away(&mut parent);
                parent.is_guardian = false;
                (grandparent, parent)
            }
        };
        let email = if self.chance(home.email_share()) { self.email(&member1.phone) } else { String::new() };
        Family {
            surname,
            ethnicity,
            id_area,
            birthplace,
            native_place,
            household_address,
            household_type,
            current_address,
            home,
            member1,
            member2,
            migrant,
            left_behind: left,
            orphan,
            martyr,
            only_child,
            hmt,
            email,
            uyghur: None,
            parents_born,
            children: Vec::new(),
        }
    }

    pub(super) fn uyghur_family(&mut self, which: usize, child_birth: NaiveDate) -> Family {
        let u = &TABLES.uyghur[which % TABLES.uyghur.len()];
        let origin = TABLES.minority_origin(UYGHUR);
        let n = self.rng.random_range(1..=300);
        let household = format!("{}{}{n}号", origin.prefix, origin.street);
        let current = self.town_address();
        let at = Place { id_area: origin.code, current: &current, household: &household, home: Home::Migrant };
        let name = format!("{}·{}", u.father, u.grandfather);
        let birth = self.years_from(child_birth, -38, -24);
        let person = Person { name, relation: "父亲", note: "", gender: Gender::Male, birth, ethnicity: UYGHUR };
        let father = self.member(&at, person, parent_jobs(Home::Migrant, Gender::Male));
        let birth = self.years_from(child_birth, -36, -22);
        let name = u.mother.to_owned();
        let person = Person { name, relation: "母亲", note: "", gender: Gender::Female, birth, ethnicity: UYGHUR };
        let mother = self.member(&at, person, parent_jobs(Home::Migrant, Gender::Female));
        let email = if self.chance(Home::Migrant.email_share()) { self.email(&father.phone) } else { String::new() };
        let parents_born = father.birth.max(mother.birth);
        Family {
            surname: 0,
            ethnicity: UYGHUR,
            id_area: origin.code,
            birthplace: origin.prefix.to_owned(),
            native_place: origin.prefix,
            household_address: household,
            household_type: "居民户口",
            current_address: current,
            home: Home::Migrant,
            member1: father,
            member2: mother,
            migrant: true,
            left_behind: LeftBehind::No,
            orphan: false,
            martyr: false,
            only_child: self.chance(0.3),
            hmt: "否",
            email,
            uyghur: Some(which),
            parents_born,
            children: Vec::new(),
        }
    }

    /// A member living with the pupil (at `at`), with a fresh ID number
    /// and phone and a job of the `jobs` category.
    fn member(&mut self, at: &Place<'_>, p: Person, jobs: &str) -> Member {
        let id_number = self.id_number(at.id_area, p.birth, p.gender).as_str().to_owned();
        let phone = self.phone();
        let job = weighted(&mut self.rng, TABLES.jobs(jobs));
        Member {
            name: p.name,
            relation: p.relation,
            note: p.note,
            gender: p.gender,
            birth: p.birth,
            id_number,
            ethnicity: p.ethnicity,
            phone,
            current_address: at.current.to_owned(),
            household_address: at.household.to_owned(),
            is_guardian: true,
            job,
        }
    }

    /// The relative `r` of a pupil whose parents are `parents` (father,
    /// mother; their surnames `surnames`), or with `spouse_of`, r's spouse.
    /// The relative is the guardian, the spouse is not.
    fn relative(
        &mut self,
        at: &Place<'_>,
        r: &Relative,
        spouse_of: Option<&Member>,
        parents: (&Member, &Member),
        surnames: (usize, usize),
    ) -> Member {
        let side = if r.fathers_side { parents.0 } else { parents.1 };
        let (relation, note, gender, kin, birth) = match spouse_of {
            None => (r.relation, r.note, r.gender, r.surname, self.years_from(side.birth, r.years.0, r.years.1)),
            Some(g) => {
                let gender = if g.gender == Gender::Male { Gender::Female } else { Gender::Male };
                (r.spouse_relation, r.spouse_note, gender, r.spouse_surname, self.years_from(g.birth, -4, 4))
            }
        };
        let surname = match kin {
            KinSurname::Father => surnames.0,
            KinSurname::Mother => surnames.1,
            KinSurname::Other => self.surname_for(side.ethnicity),
        };
        let older = r.is_grandparent();
        let given = match (older, gender) {
            (true, Gender::Male) => &TABLES.grandfather_given,
            (true, Gender::Female) => &TABLES.grandmother_given,
            (false, Gender::Male) => &TABLES.father_given,
            (false, Gender::Female) => &TABLES.mother_given,
        };
        let name = self.adult_name(surname, given);
        let jobs = if older { grandparent_jobs(at.home) } else { parent_jobs(at.home, gender) };
        let person = Person { name, relation, note, gender, birth, ethnicity: side.ethnicity };
        let mut m = self.member(at, person, jobs);
        m.is_guardian = spouse_of.is_none();
        m
    }

    /// A parent who works away from home: lives where the work is, is
    /// registered at home.
    fn send_away(&mut self, parent: &mut Member) {
        parent.current_address = self.work_address();
        parent.job = weighted(&mut self.rng, TABLES.jobs("外出"));
    }

    /// A family in the pool of the locality that can take one more child
    /// born on `birth` entering in `intake`: not an only child's, two
    /// children at most, in different grades, at least 400 days apart, the
    /// parents at least 20 years older.
    pub(super) fn sibling_family(&mut self, ctx: Ctx, birth: NaiveDate, intake: i32) -> Option<usize> {
        let pool = &self.pools[ctx.locality()];
        if pool.is_empty() {
            return None;
        }
        for _ in 0..4 {
            let f = pool[self.rng.random_range(0..pool.len())];
            let fam = &self.families[f];
            let fits = fam.uyghur.is_none()
                && !fam.only_child
                && (birth - fam.parents_born).num_days() >= 20 * 365
                && fam.children.len() == 1
                && fam.children.iter().all(|(b, i, _)| *i != intake && (*b - birth).num_days().abs() >= 400);
            if fits {
                return Some(f);
            }
        }
        None
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
                    Some(u) => self.uyghur_family(u, birth),
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
