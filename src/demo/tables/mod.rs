//! The county's data tables, read from the data files beside this module
//! (built into the binary with `include_str!`) and parsed at first use.
//!
//! Each file's header says what its rows are and where they come from: the
//! township names are the real ones of 农安县 and the area codes of the
//! places of registration are real; the villages, streets, people's names,
//! the schools' districts, addresses and sizes, the workplaces, specialties
//! and every share and weight are invented (the surnames and their pinyin
//! are the common ones; the places where parents work away, the places of
//! family origin (籍贯) and the record's values are real). Random
//! choices index into the tables, so the order of the rows is part of the
//! county a seed gives. A malformed line is a bug in the source tree: parsing
//! panics naming the file and the line, and the tests parse every file.

use crate::domain::national::{DISABILITY, INCLUSIVE, Table};
use crate::domain::{Gender, SchoolKind};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::LazyLock;

mod parse;

use parse::*;
pub(super) use parse::{relatives, town_schools};

/// A county-town school (`town_schools.txt`).
pub(super) struct TownSchool {
    pub(super) name: &'static str,
    pub(super) kind: SchoolKind,
    pub(super) district: &'static str,
    pub(super) street: &'static str,
    pub(super) number: u16,
    /// Share of its level's students, relative to the other schools.
    pub(super) weight: f64,
    /// Share of migrant workers' children (随迁子女).
    pub(super) migrant: f64,
}

/// A township with schools (`townships.txt`): its weights for primary and
/// junior students and its village school (village name, weight), if any.
pub(super) struct Township {
    pub(super) name: &'static str,
    pub(super) primary: f64,
    pub(super) junior: f64,
    pub(super) village_school: Option<(&'static str, f64)>,
}

/// Where migrant families from outside the county are registered (`origins.txt`).
pub(super) struct Origin {
    pub(super) code: &'static str,
    pub(super) prefix: &'static str,
    pub(super) rural: bool,
}

/// Where the Uyghur, Kazakh, Hui and Mongolian families are registered (户籍),
/// by ethnicity (`minority_origins.txt`): the area code of their ID numbers,
/// the place, a street there.
pub(super) struct MinorityOrigin {
    pub(super) ethnicity: &'static str,
    pub(super) code: &'static str,
    pub(super) prefix: &'static str,
    pub(super) street: &'static str,
}

/// The surnames of an ethnic group's families (`ethnicities.txt`): with
/// probability `share` one of `surnames`, else one of `surnames.txt` by weight.
pub(super) struct EthnicSurnames {
    pub(super) share: f64,
    pub(super) surnames: Vec<&'static str>,
}

pub(super) struct Surname {
    pub(super) text: &'static str,
    pub(super) pinyin: &'static str,
    pub(super) weight: u32,
}

/// A Uyghur family placed by hand (`uyghur_families.txt`; names are given
/// name + the father's given name, joined by the middle dot U+00B7 as on the
/// ID card).
pub(super) struct UyghurFamily {
    pub(super) child: &'static str,
    pub(super) gender: Gender,
    pub(super) father: &'static str,
    pub(super) grandfather: &'static str,
    pub(super) mother: &'static str,
    /// The school and grade where the child has the first seat of class 1.
    pub(super) school: &'static str,
    pub(super) grade: u8,
}

/// A family of `minority_names.txt`: names written in Chinese characters
/// with the middle dot U+00B7 between their parts, as on the ID card.
pub(super) struct MinorityFamily {
    pub(super) ethnicity: &'static str,
    pub(super) gender: Gender,
    pub(super) child: &'static str,
    pub(super) father: &'static str,
    pub(super) mother: &'static str,
}

/// Children's given-name characters of one gender (`given_names.txt`).
pub(super) struct GivenChars {
    /// The first characters of two-character names.
    pub(super) first: Vec<char>,
    /// The second characters of two-character names.
    pub(super) second: Vec<char>,
    /// One-character names.
    pub(super) single: Vec<char>,
}

/// A disability type (残疾类型) as the record spells it, and the placement
/// (随班就读) of a pupil with it in an ordinary class (`disabilities.txt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Disability {
    /// The label of the national table, e.g. `视力残疾`.
    pub(super) label: &'static str,
    /// The kind of placement in an ordinary class, e.g. `视力残疾随班就读`.
    pub(super) inclusive: &'static str,
}

/// A workplace and title (工作单位, 职务) of a family member (`jobs.txt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Job {
    pub(super) workplace: &'static str,
    pub(super) title: &'static str,
}

/// Whose surname a relative has (`relatives.txt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KinSurname {
    /// The pupil's father's.
    Father,
    /// The pupil's mother's.
    Mother,
    /// One of their own.
    Other,
}

/// A guardian who is not a parent, and the guardian's spouse (`relatives.txt`).
pub(super) struct Relative {
    pub(super) relation: &'static str,
    pub(super) note: &'static str,
    pub(super) gender: Gender,
    pub(super) surname: KinSurname,
    /// On the father's side (else the mother's).
    pub(super) fathers_side: bool,
    /// Born this many years after (before, if negative) the parent of
    /// their side: the range, inclusive.
    pub(super) years: (i32, i32),
    pub(super) spouse_relation: &'static str,
    pub(super) spouse_note: &'static str,
    pub(super) spouse_surname: KinSurname,
}

impl Relative {
    /// A grandparent (of the older generation).
    pub(super) fn is_grandparent(&self) -> bool {
        self.years.1 < 0 && self.relation.contains('祖')
    }
}

/// Every table of the data files.
pub(super) struct Tables {
    /// The county-town schools, in the order of their school codes.
    pub(super) town_schools: Vec<TownSchool>,
    /// The townships with a central primary school and a junior school each.
    pub(super) townships: Vec<Township>,
    /// Townships without schools of their own in the sample; families of
    /// migrant workers in the county town come from them too.
    pub(super) other_townships: Vec<&'static str>,
    /// Village names (村); each township gets a handful of them.
    pub(super) villages: Vec<&'static str>,
    /// The villages of each township (index as [`Tables::township_name`]).
    pub(super) township_villages: Vec<Vec<&'static str>>,
    /// Streets and residential compounds (小区) of the county town (农安镇).
    pub(super) town_streets: Vec<&'static str>,
    /// The county town's 学区 and their streets (`town_districts.txt`).
    pub(super) town_districts: Vec<(&'static str, Vec<&'static str>)>,
    /// The county-town schools for migrant workers' children (`migrant_schools.txt`).
    pub(super) migrant_schools: Vec<&'static str>,
    pub(super) compounds: Vec<&'static str>,
    /// Streets of the township seats.
    pub(super) seat_streets: Vec<&'static str>,
    /// Streets of the urban places of registration outside the county.
    pub(super) urban_streets: Vec<&'static str>,
    pub(super) origins: Vec<Origin>,
    pub(super) minority_origins: Vec<MinorityOrigin>,
    /// Ethnic groups of the county's families, per mille.
    pub(super) ethnicities: Weights,
    pub(super) ethnic_surnames: HashMap<&'static str, EthnicSurnames>,
    pub(super) surnames: Vec<Surname>,
    /// `cumulative[i]` is the sum of the weights of `surnames[..=i]`.
    pub(super) cumulative: Vec<u32>,
    pub(super) pinyin: HashMap<char, &'static str>,
    pub(super) male: GivenChars,
    pub(super) female: GivenChars,
    /// Characters outside GB 2312 (some outside the BMP) that real registrars
    /// meet. The first three are guaranteed to appear in every county of at
    /// least three students.
    pub(super) rare: Vec<char>,
    /// Given names of the parents' generation (also the head teachers') and
    /// of the grandparents'.
    pub(super) father_given: Vec<&'static str>,
    pub(super) mother_given: Vec<&'static str>,
    pub(super) grandfather_given: Vec<&'static str>,
    pub(super) grandmother_given: Vec<&'static str>,
    pub(super) uyghur: Vec<UyghurFamily>,
    /// The minority families, in the file's order (the longest name first).
    pub(super) minority: Vec<MinorityFamily>,
    /// Disability types (残疾类型) of pupils taught in ordinary classes
    /// (随班就读) and of the special school's pupils, with relative weights.
    pub(super) disabilities_included: DisabilityWeights,
    pub(super) disabilities_special: DisabilityWeights,
    /// Places where left-behind children's parents work (`work_places.txt`)
    /// and streets there (`places.txt`).
    pub(super) work_places: Weights,
    pub(super) work_streets: Vec<&'static str>,
    /// Workplaces and titles by category of `jobs.txt`.
    pub(super) jobs: HashMap<&'static str, Vec<(Job, u32)>>,
    /// Guardians who are not parents; `relative_weights` and
    /// `grandparent_weights` index into `relatives`.
    pub(super) relatives: Vec<Relative>,
    pub(super) relative_weights: Vec<(usize, u32)>,
    pub(super) grandparent_weights: Vec<(usize, u32)>,
    /// 少先队员, 共青团员, 群众 weights of grades 1 to 9 (`political.txt`).
    pub(super) political: [[u32; 3]; 9],
    /// The values of `record_values.txt`.
    pub(super) health: Weights,
    pub(super) hmt: Weights,
    pub(super) specialties: Weights,
    pub(super) native_places: Weights,
    pub(super) mail_domains: Weights,
}

/// The categories of `jobs.txt`.
pub(super) const JOB_CATEGORIES: [&str; 10] =
    ["县城父亲", "县城母亲", "乡镇父亲", "乡镇母亲", "随迁父亲", "随迁母亲", "外出", "县城祖辈", "乡镇祖辈", "军人"];

/// Items with relative weights, for [`super::weighted`].
pub(super) type Weights = Vec<(&'static str, u32)>;

/// Disability types with relative weights.
pub(super) type DisabilityWeights = Vec<(Disability, u32)>;

pub(super) static TABLES: LazyLock<Tables> = LazyLock::new(Tables::parse);

/// One data line of a data file: its whitespace-separated fields and, for
/// the messages, where it is.
struct Line {
    file: &'static str,
    number: usize,
    fields: Vec<&'static str>,
}

impl Line {
    /// Panics: a malformed line is a bug in the source tree.
    fn bad(&self, what: &str) -> ! {
        panic!("{} line {}: {what}: {}", self.file, self.number, self.fields.join(" "))
    }

    /// The fields, exactly `N` of them (the columns are named for the message).
    fn exactly<const N: usize>(&self, columns: &str) -> [&'static str; N] {
        self.fields.as_slice().try_into().unwrap_or_else(|_| self.bad(&format!("expected {N} fields: {columns}")))
    }

    /// Field `i` parsed as a `T` (numbers from the same decimal text as a
    /// literal in the code, so the values are the same).
    fn parse<T: FromStr>(&self, i: usize, column: &str) -> T {
        self.fields[i].parse().unwrap_or_else(|_| self.bad(&format!("{column} is not a number")))
    }

    fn gender(&self, i: usize) -> Gender {
        Gender::parse(self.fields[i]).unwrap_or_else(|_| self.bad("性别 is 男 or 女"))
    }
}

/// The data lines of a file: trimmed, without blank lines and `#` comments.
fn data_lines(file: &'static str, text: &'static str) -> impl Iterator<Item = Line> {
    text.lines().enumerate().filter_map(move |(i, l)| {
        let l = l.trim();
        (!l.is_empty() && !l.starts_with('#')).then(|| Line {
            file,
            number: i + 1,
            fields: l.split_whitespace().collect(),
        })
    })
}

/// The lines of a file of `类别 项` lines, by category: the items of each
/// of `categories`, in the file's order.
fn lists<const N: usize>(file: &'static str, text: &'static str, categories: [&str; N]) -> [Vec<&'static str>; N] {
    let mut out = [const { Vec::new() }; N];
    for line in data_lines(file, text) {
        let [category, item] = line.exactly("类别 项");
        let k = categories.iter().position(|&c| c == category).unwrap_or_else(|| line.bad("unknown category"));
        out[k].push(item);
    }
    for (list, category) in out.iter().zip(categories) {
        assert!(!list.is_empty(), "{file}: no line of the category {category}");
    }
    out
}

/// The county town's 学区, each with its streets; every street of
/// `streets` in exactly one.
fn town_districts(
    (file, text): (&'static str, &'static str),
    streets: &[&'static str],
) -> Vec<(&'static str, Vec<&'static str>)> {
    let out: Vec<(&'static str, Vec<&'static str>)> = data_lines(file, text)
        .map(|line| {
            if line.fields.len() < 2 {
                line.bad("expected 学区 街道…");
            }
            (line.fields[0], line.fields[1..].to_vec())
        })
        .collect();
    for street in streets {
        let n = out.iter().filter(|(_, s)| s.contains(street)).count();
        assert_eq!(n, 1, "{file}: the street {street} is in {n} districts");
    }
    out
}

/// A data file beside this module: its name (for the messages) and its text.
macro_rules! data_file {
    ($name:literal) => {
        ($name, include_str!(concat!("../", $name)))
    };
}

impl Tables {
    pub(super) fn parse() -> Self {
        let town_schools = town_schools(data_file!("town_schools.txt"));
        let (townships, other_townships) = townships(data_file!("townships.txt"));
        let (file, text) = data_file!("places.txt");
        let [villages, town_streets, compounds, seat_streets, urban_streets, work_streets] =
            lists(file, text, ["村", "县城街道", "县城小区", "乡镇街道", "外地城区街道", "务工地街道"]);
        let (file, text) = data_file!("adult_names.txt");
        let [father_given, mother_given, grandfather_given, grandmother_given] =
            lists(file, text, ["父辈男", "父辈女", "祖辈男", "祖辈女"]);
        let (male, female, rare) = given_names(data_file!("given_names.txt"));
        let (ethnicities, ethnic_surnames) = ethnicities(data_file!("ethnicities.txt"));
        let surnames = surnames(data_file!("surnames.txt"));
        let cumulative = surnames
            .iter()
            .scan(0u32, |acc, s| {
                *acc += s.weight;
                Some(*acc)
            })
            .collect();
        let (disabilities_included, disabilities_special) = disabilities(data_file!("disabilities.txt"));
        let relatives = relatives(data_file!("relatives.txt"));
        let relative_weights = relatives.iter().enumerate().map(|(i, (_, w))| (i, *w)).collect();
        let grandparent_weights =
            relatives.iter().enumerate().filter(|(_, (r, _))| r.is_grandparent()).map(|(i, (_, w))| (i, *w)).collect();
        let [health, hmt, specialties, native_places, mail_domains] = record_values(data_file!("record_values.txt"));
        let township_count = townships.len() + other_townships.len();
        let township_villages = (0..township_count)
            .map(|ti| {
                let mut v: Vec<&'static str> =
                    townships.get(ti).and_then(|t| t.village_school).map(|(name, _)| name).into_iter().collect();
                for k in 0..6 {
                    let candidate = villages[(ti * 3 + k * 7) % villages.len()];
                    if !v.contains(&candidate) {
                        v.push(candidate);
                    }
                }
                v
            })
            .collect();
        Self {
            town_schools,
            townships,
            other_townships,
            villages,
            township_villages,
            town_districts: town_districts(data_file!("town_districts.txt"), &town_streets),
            migrant_schools: data_lines("migrant_schools.txt", include_str!("../migrant_schools.txt"))
                .map(|l| l.exactly::<1>("校名")[0])
                .collect(),
            town_streets,
            compounds,
            seat_streets,
            urban_streets,
            origins: origins(data_file!("origins.txt")),
            minority_origins: minority_origins(data_file!("minority_origins.txt")),
            ethnicities,
            ethnic_surnames,
            surnames,
            cumulative,
            pinyin: pinyin(data_file!("pinyin.txt")),
            male,
            female,
            rare,
            father_given,
            mother_given,
            grandfather_given,
            grandmother_given,
            uyghur: uyghur_families(data_file!("uyghur_families.txt")),
            minority: minority_families(data_file!("minority_names.txt")),
            disabilities_included,
            disabilities_special,
            work_places: work_places(data_file!("work_places.txt")),
            work_streets,
            jobs: jobs(data_file!("jobs.txt")),
            relatives: relatives.into_iter().map(|(r, _)| r).collect(),
            relative_weights,
            grandparent_weights,
            political: political(data_file!("political.txt")),
            health,
            hmt,
            specialties,
            native_places,
            mail_domains,
        }
    }

    /// The workplaces and titles of a category of `jobs.txt`.
    pub(super) fn jobs(&self, category: &str) -> &[(Job, u32)] {
        self.jobs.get(category).map_or(&[], Vec::as_slice)
    }

    /// The number of townships, with schools or not.
    pub(super) fn township_count(&self) -> usize {
        self.townships.len() + self.other_townships.len()
    }

    /// The name of township `ti`: the townships with schools first, then the
    /// others (counting on from the first again past the end).
    pub(super) fn township_name(&self, ti: usize) -> &'static str {
        match self.townships.get(ti) {
            Some(t) => t.name,
            None => self.other_townships[(ti - self.townships.len()) % self.other_townships.len()],
        }
    }

    pub(super) fn surname_index(&self, text: &str) -> usize {
        self.surnames
            .iter()
            .position(|s| s.text == text)
            .expect("every surname of ethnicities.txt is in surnames.txt (tested)")
    }

    /// Where the families of an ethnic group of `minority_names.txt` (and
    /// the Uyghur families placed by hand) are registered.
    pub(super) fn minority_origin(&self, ethnicity: &str) -> &MinorityOrigin {
        self.minority_origins
            .iter()
            .find(|o| o.ethnicity == ethnicity)
            .expect("every ethnicity of minority_names.txt and 维吾尔族 have an origin (tested)")
    }

    /// The pinyin of a name in the style of GB/T 28039 (`Wang Zihan`), or an
    /// empty string if a character is not in the table.
    pub(super) fn pinyin_of(&self, surname: &Surname, given: &str) -> String {
        let mut out = capitalised(surname.pinyin);
        out.push(' ');
        for (i, c) in given.chars().enumerate() {
            let Some(p) = self.pinyin.get(&c) else {
                return String::new();
            };
            if i == 0 {
                out.push_str(&capitalised(p));
            } else {
                if p.starts_with(['a', 'o', 'e']) {
                    out.push('\'');
                }
                out.push_str(p);
            }
        }
        out
    }
}
