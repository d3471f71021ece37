//! The first-grade intake roster with deliberate, listed mistakes, for the
//! import workflow (Art. 10) and its duplicate checks (Art. 11, 14).

use super::people::{Gen, PupilSpec, aux_number, pick};
use super::schools::{Ctx, school_defs};
use super::tables::TABLES;
use super::{County, PlantedMistake};
use crate::domain::{Gender, SchoolKind};
use crate::roster::Row;
use chrono::{Datelike, NaiveDate};
use std::collections::BTreeMap;

const COL_ID_NUMBER: &str = "身份证件号";
const COL_BIRTH: &str = "出生日期";
const COL_GENDER: &str = "性别";
const COL_PHONE: &str = "成员1联系电话";

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
            district: TABLES.town_districts.iter().position(|(d, _)| *d == school.district),
            migrant_share: if school.county_town { 0.05 } else { 0.0 },
            boarding_share: 0.0,
            home_share: 0.0,
        },
    };
    let intake = county.school_year;
    let mut g = Gen::new(seed);
    // Only the county's pupils' IDs with a birth year a new pupil can have
    // could collide, and the family members' IDs.
    let years = (intake - 8)..=(intake - 6);
    for s in &county.students {
        let year = s.row.id_number.get(6..10).and_then(|y| y.parse::<i32>().ok());
        if year.is_some_and(|y| years.contains(&y)) {
            g.used_ids.insert(s.row.id_number.to_ascii_uppercase());
        }
        for id in [&s.row.guardian1_id_number, &s.row.guardian2_id_number] {
            if !id.is_empty() {
                g.used_ids.insert(id.to_ascii_uppercase());
            }
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
    // The school's entrants of this year so far, for the 学籍辅号.
    let entrants = county.students.iter().filter(|s| s.school_code == school.code && s.row.grade == "1").count();

    let mut out = Vec::with_capacity(rows);
    let mut families = Vec::with_capacity(rows);
    let mut seats: BTreeMap<usize, usize> = BTreeMap::new();
    for i in 0..rows {
        let class = existing + 1 + i * class_count / rows;
        let seat = seats.entry(class).or_default();
        *seat += 1;
        let spec = PupilSpec {
            grade: 1,
            class,
            seat: *seat,
            aux_no: aux_number(1, intake, &school.code, entrants + i + 1),
            intake,
            entry_year: intake,
            today: county.today,
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
                let valid = g.id_valid(birth, county.today);
                let row = &mut out[row_index];
                row.birth_date = birth.format("%Y-%m-%d").to_string();
                row.id_number = id.as_str().to_owned();
                row.id_valid = valid;
            }
            Mistake::DuplicateId => {
                let clean: Vec<usize> = (0..row_index).filter(|i| !positions.contains(i)).collect();
                let twin = pick(&mut g.rng, &clean);
                let gender = Gender::parse(&out[twin].gender).unwrap_or(Gender::Female);
                let fam = families[twin];
                let (name, pinyin, _) = g.child_name(fam, gender, None);
                // A twin: the same family and birth, so neither is an only child;
                // the seat and 学籍辅号 are the row's own.
                let mut copy = out[twin].clone();
                copy.name = name;
                copy.pinyin = pinyin;
                copy.former_name.clear();
                copy.only_child = super::NO.to_owned();
                copy.class = out[row_index].class.clone();
                copy.seat_no = out[row_index].seat_no.clone();
                copy.aux_no = out[row_index].aux_no.clone();
                out[row_index] = copy;
                out[twin].only_child = super::NO.to_owned();
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
