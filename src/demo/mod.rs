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
//! Every row fills every item of the national record (`national-fields.md`)
//! as the county's families would have it: the 12-digit code of the
//! birthplace, 籍贯, the child's ID card valid five years from issue,
//! 政治面貌 by grade (少先队员 from grade 1 or 2, a few 共青团员 of 14 or
//! more in the junior grades), 健康状况, 特长, a county-local 学籍辅号 and
//! the seat in the class, 住校 in the township junior schools and the
//! special school, 送教上门 for a few of the special school's pupils (Art.
//! 12), the addresses and the postcode 130200, 独生子女, 学前教育 (fewer in
//! the villages), 随班就读 by type and 残疾类型, and the 报到日期 of the
//! autumn of entry. About one township child in ten is left behind (留守):
//! with one parent away working (单亲, the other parent the guardian) or
//! both (双亲, a grandparent the guardian); the parent away lives where the
//! work is, often in another province. A few children are orphans (a
//! relative the guardian) or a serving soldier's (优抚子女). The two family
//! members have every item too: valid ID numbers whose birth dates fit
//! parents or grandparents, 民族 of the family (one parent Han in some
//! minority families), 是否监护人, workplace and title.
//!
//! [`sample_roster_with_mistakes`] builds a first-grade intake roster for one
//! primary school with a handful of deliberate, listed mistakes, for the
//! import workflow (Art. 10) and its duplicate checks (Art. 11, 14).

mod addresses;
mod intake;
mod items;
pub mod load;
mod members;
mod people;
mod schools;
mod tables;

pub use intake::sample_roster_with_mistakes;

use crate::domain::{Gender, IdNumber, SchoolKind, school_year_start};
use crate::roster::Row;
use chrono::NaiveDate;
use people::{Gen, PupilSpec, aux_number, pick};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use schools::{allocate, school_code, school_defs, split_classes};
use std::collections::{HashMap, HashSet};
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
    /// The `today` of [`generate`]: no date of the county is later (a
    /// registration day, an ID card's issue).
    pub today: NaiveDate,
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
    /// The catchment area (学区, Art. 7, 18) as the bureau records it: the
    /// county-town streets of its 学区, its township, or the whole county
    /// for the special school.
    pub catchment: Vec<String>,
    /// On the bureau's list of schools for migrant workers' children (Art. 18).
    pub migrant_children: bool,
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
    /// Every cell as text, valid, every item of the national record filled
    /// (an empty 电子信箱 is a family without one; 曾用名 and, for a few rare
    /// characters, 姓名拼音 are empty, and 身份证件号 and 身份证件有效期 for
    /// a child whose card is not issued yet); `年级` and `班级` give the
    /// class, `学籍号` is empty (it is derived from the ID number on import).
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
// The county. The data tables are in the data files beside this module
// (`tables`); the schools, the families and pupils, their addresses and the
// intake roster with mistakes are generated in the modules of those names.

/// The share of the county-town migrant families with one child that are
/// families of `minority_names.txt`, while some are left (each at most once):
/// about fifteen in a county of 20,000 students.
const MINORITY_SHARE: f64 = 0.012;
/// Mixed into the seed for the choice of the minority families, which has a
/// random stream of its own: the rest of the county (and the sample roster
/// drawn against it) is the same as without them.
const MINORITY_STREAM: u64 = 0x6d69_6e6f_7269_7479;

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
            catchment: catchment(d),
            migrant_children: TABLES.migrant_schools.contains(&d.name.as_str()),
        })
        .collect();

    let mut classes = Vec::new();
    let mut students = Vec::with_capacity(total);
    // The family of each student.
    let mut families = Vec::with_capacity(total);
    // Forced rare characters waiting for a seat (one may land on a Uyghur pupil).
    let mut carry: Vec<char> = Vec::new();
    // Entrants so far per school and entry year, for the 学籍辅号.
    let mut serials: HashMap<(usize, i32), usize> = HashMap::new();
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
                    let serial = serials.entry((si, entry_year)).or_default();
                    *serial += 1;
                    let spec = PupilSpec {
                        grade,
                        class: number,
                        seat: seat + 1,
                        aux_no: aux_number(grade, entry_year, code, *serial),
                        intake,
                        entry_year,
                        today,
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
    County { area_code: AREA_CODE, name: COUNTY_NAME, school_year, today, schools, classes, students }
}

/// Makes a small share of the county-town migrant families with one child
/// into the families of `minority_names.txt` (each at most once, the pupil's
/// gender matching): the names of the pupil and the parents, their
/// ethnicity, the place of registration and origin and the ID numbers' area
/// code change; the birth dates, the IDs' sequence numbers, the phones, the
/// jobs and the class stay. The choice has its own random stream
/// ([`MINORITY_STREAM`]).
fn place_minority_families(g: &Gen, students: &mut [StudentSeed], families: &[usize], seed: u64) {
    let minority = &TABLES.minority;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ MINORITY_STREAM);
    let mut placed = vec![false; minority.len()];
    let mut new_ids = HashSet::new();
    // The same birth date and sequence number in another area.
    let moved = |id: &str, area: &str| {
        let birth = NaiveDate::parse_from_str(id.get(6..14)?, "%Y%m%d").ok()?;
        let seq = id.get(14..17)?.parse::<u16>().ok()?;
        IdNumber::from_parts(area, birth, seq).ok().map(|id| id.as_str().to_owned())
    };
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
        let ids = [&r.id_number, &r.guardian1_id_number, &r.guardian2_id_number].map(|id| moved(id, origin.code));
        let [Some(child_id), Some(id1), Some(id2)] = ids else { continue };
        let fresh = |id: &String| !g.used_ids.contains(id) && !new_ids.contains(id);
        if ![&child_id, &id1, &id2].into_iter().all(fresh) {
            continue;
        }
        new_ids.extend([child_id.clone(), id1.clone(), id2.clone()]);
        placed[k] = true;
        r.name = m.child.to_owned();
        r.former_name.clear();
        r.pinyin.clear();
        r.ethnicity = m.ethnicity.to_owned();
        r.id_number = child_id;
        r.birthplace = origin.prefix.to_owned();
        r.birthplace_code = format!("{}000000", origin.code);
        r.native_place = origin.prefix.to_owned();
        r.household_address = format!("{}{}{}号", origin.prefix, origin.street, rng.random_range(1..=300));
        let household = r.household_address.clone();
        for (n, id) in [(1, id1), (2, id2)] {
            let [name, relation, _, _, household_address, _, _, _, id_number, ethnicity, _, _] = r.member_mut(n);
            match relation.as_str() {
                "父亲" => *name = m.father.to_owned(),
                "母亲" => *name = m.mother.to_owned(),
                _ => {}
            }
            household.clone_into(household_address);
            *id_number = id;
            m.ethnicity.clone_into(ethnicity);
        }
    }
}

#[cfg(test)]
mod tests;

/// A school's catchment area: the streets of a county-town school's 学区
/// (as addresses spell them, `农安镇兴华大街`), a township school's township,
/// the whole county for the special school.
fn catchment(d: &schools::SchoolDef) -> Vec<String> {
    if d.kind == SchoolKind::Special {
        return vec![COUNTY_NAME.to_owned()];
    }
    match d.ctx.district {
        Some(i) if d.county_town => TABLES.town_districts[i].1.iter().map(|s| format!("农安镇{s}")).collect(),
        _ => vec![d.district.clone()],
    }
}
