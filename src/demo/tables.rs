//! The county's data tables, read from the data files beside this module
//! (built into the binary with `include_str!`) and parsed at first use.
//!
//! Each file's header says what its rows are and where they come from: the
//! township names are the real ones of 农安县 and the area codes of the
//! places of registration are real; the villages, streets, people's names,
//! the schools' districts, addresses and sizes and every share and weight
//! are invented (the surnames and their pinyin are the common ones). Random
//! choices index into the tables, so the order of the rows is part of the
//! county a seed gives. A malformed line is a bug in the source tree: parsing
//! panics naming the file and the line, and the tests parse every file.

use crate::domain::{Gender, SchoolKind};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::LazyLock;

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
    pub(super) disabilities_included: Weights,
    pub(super) disabilities_special: Weights,
}

/// Items with relative weights, for [`super::weighted`].
pub(super) type Weights = Vec<(&'static str, u32)>;

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

/// A data file beside this module: its name (for the messages) and its text.
macro_rules! data_file {
    ($name:literal) => {
        ($name, include_str!($name))
    };
}

impl Tables {
    pub(super) fn parse() -> Self {
        let town_schools = town_schools(data_file!("town_schools.txt"));
        let (townships, other_townships) = townships(data_file!("townships.txt"));
        let (file, text) = data_file!("places.txt");
        let [villages, town_streets, compounds, seat_streets, urban_streets] =
            lists(file, text, ["村", "县城街道", "县城小区", "乡镇街道", "外地城区街道"]);
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
        }
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

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

pub(super) fn town_schools((file, text): (&'static str, &'static str)) -> Vec<TownSchool> {
    data_lines(file, text)
        .map(|line| {
            let [name, kind, district, street, ..] = line.exactly::<7>("校名 类型 学区 街道 门牌号 权重 随迁子女比例");
            TownSchool {
                name,
                kind: SchoolKind::parse(kind).unwrap_or_else(|_| line.bad("类型 is 小学, 初中 or 特教")),
                district,
                street,
                number: line.parse(4, "门牌号"),
                weight: line.parse(5, "权重"),
                migrant: line.parse(6, "随迁子女比例"),
            }
        })
        .collect()
}

/// The townships with schools, then those without (a name alone).
fn townships((file, text): (&'static str, &'static str)) -> (Vec<Township>, Vec<&'static str>) {
    let mut with_schools = Vec::new();
    let mut others = Vec::new();
    for line in data_lines(file, text) {
        let name = line.fields[0];
        if line.fields.len() == 1 {
            others.push(name);
            continue;
        }
        if !others.is_empty() {
            line.bad("the townships with schools come before those without");
        }
        let village_school = match line.fields.len() {
            3 => None,
            5 => Some((line.fields[3], line.parse(4, "村小权重"))),
            _ => line.bad("expected 乡镇 中心小学权重 中学权重 [村 村小权重], or the name alone"),
        };
        with_schools.push(Township {
            name,
            primary: line.parse(1, "中心小学权重"),
            junior: line.parse(2, "中学权重"),
            village_school,
        });
    }
    (with_schools, others)
}

/// Boys' and girls' characters and the rare characters.
fn given_names((file, text): (&'static str, &'static str)) -> (GivenChars, GivenChars, Vec<char>) {
    let categories = ["男首字", "男次字", "男单字", "女首字", "女次字", "女单字", "生僻字"];
    let mut sets: [Vec<char>; 7] = Default::default();
    for line in data_lines(file, text) {
        let [category, chars] = line.exactly("类别 一串字");
        let k = categories.iter().position(|&c| c == category).unwrap_or_else(|| line.bad("unknown category"));
        sets[k].extend(chars.chars());
    }
    for (set, category) in sets.iter().zip(categories) {
        assert!(!set.is_empty(), "{file}: no line of the category {category}");
    }
    let [male_first, male_second, male_single, female_first, female_second, female_single, rare] = sets;
    (
        GivenChars { first: male_first, second: male_second, single: male_single },
        GivenChars { first: female_first, second: female_second, single: female_single },
        rare,
    )
}

type Ethnicities = (Weights, HashMap<&'static str, EthnicSurnames>);

fn ethnicities((file, text): (&'static str, &'static str)) -> Ethnicities {
    let mut weights = Vec::new();
    let mut surnames = HashMap::new();
    for line in data_lines(file, text) {
        let name = line.fields[0];
        if line.fields.len() < 2 || line.fields.len() == 3 {
            line.bad("expected 民族 千分比 [比例 姓……]");
        }
        weights.push((name, line.parse(1, "千分比")));
        if line.fields.len() > 3 {
            let share = line.parse(2, "比例");
            surnames.insert(name, EthnicSurnames { share, surnames: line.fields[3..].to_vec() });
        }
    }
    (weights, surnames)
}

fn surnames((file, text): (&'static str, &'static str)) -> Vec<Surname> {
    data_lines(file, text)
        .map(|line| {
            let [text, pinyin, _] = line.exactly("姓 拼音 权重");
            Surname { text, pinyin, weight: line.parse(2, "权重") }
        })
        .collect()
}

fn pinyin((file, text): (&'static str, &'static str)) -> HashMap<char, &'static str> {
    data_lines(file, text)
        .map(|line| {
            let [ch, pinyin] = line.exactly("字 拼音");
            let mut chars = ch.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => (c, pinyin),
                _ => line.bad("one character per line"),
            }
        })
        .collect()
}

fn origins((file, text): (&'static str, &'static str)) -> Vec<Origin> {
    data_lines(file, text)
        .map(|line| {
            let [code, prefix, kind] = line.exactly("行政区划代码 户籍地 城乡");
            let rural = match kind {
                "农村" => true,
                "城市" => false,
                _ => line.bad("城乡 is 农村 or 城市"),
            };
            Origin { code, prefix, rural }
        })
        .collect()
}

fn minority_origins((file, text): (&'static str, &'static str)) -> Vec<MinorityOrigin> {
    data_lines(file, text)
        .map(|line| {
            let [ethnicity, code, prefix, street] = line.exactly("民族 行政区划代码 户籍地 街道");
            MinorityOrigin { ethnicity, code, prefix, street }
        })
        .collect()
}

fn uyghur_families((file, text): (&'static str, &'static str)) -> Vec<UyghurFamily> {
    data_lines(file, text)
        .map(|line| {
            let [child, _, father, grandfather, mother, school, _] =
                line.exactly("学生名 性别 父名 祖父名 母亲姓名 学校 年级");
            let gender = line.gender(1);
            UyghurFamily { child, gender, father, grandfather, mother, school, grade: line.parse(6, "年级") }
        })
        .collect()
}

fn minority_families((file, text): (&'static str, &'static str)) -> Vec<MinorityFamily> {
    data_lines(file, text)
        .map(|line| {
            let [ethnicity, _, child, father, mother] = line.exactly("民族 性别 学生 父亲 母亲");
            MinorityFamily { ethnicity, gender: line.gender(1), child, father, mother }
        })
        .collect()
}

/// The disability types of pupils in ordinary classes and of the special school's.
fn disabilities((file, text): (&'static str, &'static str)) -> (Weights, Weights) {
    let mut included = Vec::new();
    let mut special = Vec::new();
    for line in data_lines(file, text) {
        let [mode, kind, _] = line.exactly("就读方式 残疾类型 权重");
        let list = match mode {
            "随班就读" => &mut included,
            "特教" => &mut special,
            _ => line.bad("就读方式 is 随班就读 or 特教"),
        };
        list.push((kind, line.parse(2, "权重")));
    }
    (included, special)
}
