//! One parser per data file: each line split into its fields, a malformed
//! one a panic naming the file and the line.

use super::*;

pub(super) fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

pub(in crate::demo) fn town_schools((file, text): (&'static str, &'static str)) -> Vec<TownSchool> {
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
pub(super) fn townships((file, text): (&'static str, &'static str)) -> (Vec<Township>, Vec<&'static str>) {
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
pub(super) fn given_names((file, text): (&'static str, &'static str)) -> (GivenChars, GivenChars, Vec<char>) {
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

pub(super) fn ethnicities((file, text): (&'static str, &'static str)) -> Ethnicities {
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

pub(super) fn surnames((file, text): (&'static str, &'static str)) -> Vec<Surname> {
    data_lines(file, text)
        .map(|line| {
            let [text, pinyin, _] = line.exactly("姓 拼音 权重");
            Surname { text, pinyin, weight: line.parse(2, "权重") }
        })
        .collect()
}

pub(super) fn pinyin((file, text): (&'static str, &'static str)) -> HashMap<char, &'static str> {
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

pub(super) fn origins((file, text): (&'static str, &'static str)) -> Vec<Origin> {
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

pub(super) fn minority_origins((file, text): (&'static str, &'static str)) -> Vec<MinorityOrigin> {
    data_lines(file, text)
        .map(|line| {
            let [ethnicity, code, prefix, street] = line.exactly("民族 行政区划代码 户籍地 街道");
            MinorityOrigin { ethnicity, code, prefix, street }
        })
        .collect()
}

pub(super) fn uyghur_families((file, text): (&'static str, &'static str)) -> Vec<UyghurFamily> {
    data_lines(file, text)
        .map(|line| {
            let [child, _, father, grandfather, mother, school, _] =
                line.exactly("学生名 性别 父名 祖父名 母亲姓名 学校 年级");
            let gender = line.gender(1);
            UyghurFamily { child, gender, father, grandfather, mother, school, grade: line.parse(6, "年级") }
        })
        .collect()
}

pub(super) fn minority_families((file, text): (&'static str, &'static str)) -> Vec<MinorityFamily> {
    data_lines(file, text)
        .map(|line| {
            let [ethnicity, _, child, father, mother] = line.exactly("民族 性别 学生 父亲 母亲");
            MinorityFamily { ethnicity, gender: line.gender(1), child, father, mother }
        })
        .collect()
}

/// The disability types of pupils in ordinary classes and of the special
/// school's, spelt as the record's tables spell them.
pub(super) fn disabilities((file, text): (&'static str, &'static str)) -> (DisabilityWeights, DisabilityWeights) {
    let mut included = Vec::new();
    let mut special = Vec::new();
    for line in data_lines(file, text) {
        let [mode, kind, _] = line.exactly("就读方式 残疾类型 权重");
        let list = match mode {
            "随班就读" => &mut included,
            "特教" => &mut special,
            _ => line.bad("就读方式 is 随班就读 or 特教"),
        };
        let d = match DISABILITY.parse(kind) {
            Ok(Some(d)) if d.code() != "0" => d,
            _ => line.bad("残疾类型 is one of 视力, 听力, 言语, 肢体, 智力, 精神, 多重, 其他"),
        };
        // As the import reads 随班就读 "是": the placement follows the disability.
        let placement = match d.code() {
            "1" => "1",
            "2" => "2",
            "5" => "3",
            _ => "4",
        };
        let inclusive = INCLUSIVE.by_code(placement).expect("the placements 1-4 exist").label();
        list.push((Disability { label: d.label(), inclusive }, line.parse(2, "权重")));
    }
    (included, special)
}

pub(super) fn work_places((file, text): (&'static str, &'static str)) -> Weights {
    data_lines(file, text)
        .map(|line| {
            let [place, _] = line.exactly("地点 权重");
            (place, line.parse(1, "权重"))
        })
        .collect()
}

pub(super) fn jobs((file, text): (&'static str, &'static str)) -> HashMap<&'static str, Vec<(Job, u32)>> {
    let mut out: HashMap<&'static str, Vec<(Job, u32)>> = HashMap::new();
    for line in data_lines(file, text) {
        let [category, workplace, title, _] = line.exactly("类别 工作单位 职务 权重");
        let Some(&category) = JOB_CATEGORIES.iter().find(|&&c| c == category) else { line.bad("unknown category") };
        out.entry(category).or_default().push((Job { workplace, title }, line.parse(3, "权重")));
    }
    for category in JOB_CATEGORIES {
        assert!(out.contains_key(category), "{file}: no line of the category {category}");
    }
    out
}

pub(in crate::demo) fn relatives((file, text): (&'static str, &'static str)) -> Vec<(Relative, u32)> {
    data_lines(file, text)
        .map(|line| {
            let [relation, note, _, surname, side, _, _, spouse_relation, spouse_note, spouse_surname, _] =
                line.exactly("关系 关系说明 性别 姓 亲系 年差下限 年差上限 配偶关系 配偶关系说明 配偶姓 权重");
            let kin = |s: &str| match s {
                "父姓" => KinSurname::Father,
                "母姓" => KinSurname::Mother,
                "他姓" => KinSurname::Other,
                _ => line.bad("姓 is 父姓, 母姓 or 他姓"),
            };
            let fathers_side = match side {
                "父系" => true,
                "母系" => false,
                _ => line.bad("亲系 is 父系 or 母系"),
            };
            let years: (i32, i32) = (line.parse(5, "年差下限"), line.parse(6, "年差上限"));
            if years.0 > years.1 {
                line.bad("年差下限 is above 年差上限");
            }
            let r = Relative {
                relation,
                note,
                gender: line.gender(2),
                surname: kin(surname),
                fathers_side,
                years,
                spouse_relation,
                spouse_note,
                spouse_surname: kin(spouse_surname),
            };
            (r, line.parse(10, "权重"))
        })
        .collect()
}

pub(super) fn political((file, text): (&'static str, &'static str)) -> [[u32; 3]; 9] {
    let mut out = [[0; 3]; 9];
    let mut seen = [false; 9];
    for line in data_lines(file, text) {
        let [_, _, _, _] = line.exactly("年级 少先队员 共青团员 群众");
        let grade: usize = line.parse(0, "年级");
        if !(1..=9).contains(&grade) || seen[grade - 1] {
            line.bad("年级 is 1 to 9, once each");
        }
        seen[grade - 1] = true;
        out[grade - 1] = [line.parse(1, "少先队员"), line.parse(2, "共青团员"), line.parse(3, "群众")];
    }
    assert!(seen.iter().all(|&s| s), "{file}: a line for each grade 1 to 9");
    out
}

/// The categories of `record_values.txt` and the record's table each one's
/// values must be in (`None`: free text).
pub(super) const RECORD_VALUES: [(&str, Option<&Table>); 5] = [
    ("健康状况", Some(&crate::domain::national::HEALTH)),
    ("港澳台侨外", Some(&crate::domain::national::HMT)),
    ("特长", None),
    ("籍贯", None),
    ("邮箱", None),
];

pub(super) fn record_values((file, text): (&'static str, &'static str)) -> [Weights; 5] {
    let mut out: [Weights; 5] = Default::default();
    for line in data_lines(file, text) {
        let [category, value, _] = line.exactly("类别 取值 权重");
        let Some(k) = RECORD_VALUES.iter().position(|(c, _)| *c == category) else { line.bad("unknown category") };
        if let Some(table) = RECORD_VALUES[k].1
            && !table.entries.iter().any(|(_, label)| *label == value)
        {
            line.bad(&format!("{category} is one of {}", table.choices()));
        }
        out[k].push((value, line.parse(2, "权重")));
    }
    for (list, (category, _)) in out.iter().zip(RECORD_VALUES) {
        assert!(!list.is_empty(), "{file}: no line of the category {category}");
    }
    out
}
