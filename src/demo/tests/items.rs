//! The national items of the generated rows: every row passes the import's
//! own row check, the family members fit the pupil, the special groups have
//! plausible shares.

use super::*;

/// The columns every generated row fills. The others: 曾用名 (rare), 姓名拼音
/// (empty for a few rare characters and dotted names), 身份证件号 and
/// 身份证件有效期 (empty while a card is not issued), 电子信箱 (a family
/// without one) and 学籍号 (derived on import).
fn always_filled() -> Vec<&'static str> {
    let sometimes = ["曾用名", "姓名拼音", "身份证件号", "身份证件有效期", "电子信箱", "学籍号"];
    COLUMNS.iter().map(|c| c.header).filter(|h| !sometimes.contains(h)).collect()
}

fn school_record(s: &SchoolSeed) -> crate::db::schools::School {
    crate::db::schools::School {
        id: 1,
        code: s.code.clone(),
        name: s.name.clone(),
        kind: s.kind,
        county_town: s.county_town,
        central_school_id: None,
        district: s.district.clone(),
        address: s.address.clone(),
        principal: String::new(),
        registrar: String::new(),
        migrant_children: s.migrant_children,
    }
}

fn import_options(today: NaiveDate) -> crate::roster::check::Options {
    let fonts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fonts");
    crate::roster::check::Options {
        dry_run: true,
        create_classes: false,
        actor_id: None,
        today,
        coverage: crate::render::Coverage::load(&fonts).unwrap(),
    }
}

/// The import's own checks of each row of every school of `county`.
fn real_check_problems(county: &County, today: NaiveDate) -> Vec<String> {
    let opts = import_options(today);
    let mut out = Vec::new();
    for s in &county.schools {
        let rows: Vec<Row> = rows_of(county, &s.code).into_iter().cloned().collect();
        for e in crate::roster::check::row_errors(&school_record(s), &rows, &opts) {
            out.push(format!("{} 第{}行 {}「{}」：{}", s.name, e.row, e.column, e.value, e.reason));
        }
    }
    out
}

#[test]
fn every_row_passes_the_import_row_check_and_fills_every_item() {
    let c = &*COUNTY;
    let p = real_check_problems(c, today());
    assert!(p.is_empty(), "{} problems, first: {:?}", p.len(), &p[..p.len().min(5)]);
    let filled = always_filled();
    for s in &c.students {
        for (col, cell) in COLUMNS.iter().zip(s.row.cells()) {
            if filled.contains(&col.header) {
                assert!(!cell.trim().is_empty(), "{} empty: {:?}", col.header, s.row);
            }
        }
        let r = &s.row;
        assert_eq!(r.id_valid.is_empty(), r.id_number.is_empty(), "{r:?}");
    }
    let with_email = c.students.iter().filter(|s| !s.row.email.is_empty()).count();
    assert!((6000..=11000).contains(&with_email), "{with_email} with a mailbox");
    // A county generated before the autumn term: registration days and ID
    // cards are not later than its day.
    let august = date(2026, 8, 20);
    let early = generate(5, 600, august);
    assert_eq!(early.school_year, 2026);
    assert!(early.students.iter().all(|s| s.row.registered_on.as_str() <= "2026-08-20"));
    assert_eq!(real_check_problems(&early, august), Vec::<String>::new());
}

#[test]
fn the_intake_roster_passes_the_import_row_check_but_for_the_planted_mistakes() {
    let c = &*COUNTY;
    let opts = import_options(today());
    for (name, seed) in [("农安县第二实验小学", 2026), ("农安县合隆镇中心小学", 3), ("农安县靠山镇大房身小学", 4)]
    {
        let school = c.school_named(name).unwrap();
        let (roster, mistakes) = sample_roster_with_mistakes(c, &school.code, 100, seed);
        let mut found: Vec<usize> = crate::roster::check::row_errors(&school_record(school), &roster, &opts)
            .iter()
            .map(|e| e.row - 2)
            .collect();
        found.dedup();
        // The duplicate ID is found between rows, not in a row.
        let planted: Vec<usize> = mistakes.iter().filter(|m| !m.what.contains("重复")).map(|m| m.row_index).collect();
        assert_eq!(found, planted, "{name}: {mistakes:?}");
        let filled = always_filled();
        for (i, r) in roster.iter().enumerate() {
            if mistakes.iter().any(|m| m.row_index == i) {
                continue;
            }
            for (col, cell) in COLUMNS.iter().zip(r.cells()) {
                assert!(!filled.contains(&col.header) || !cell.is_empty(), "{name} row {i}: {} empty", col.header);
            }
            assert!(r.registered_on.starts_with("2026-0"), "{r:?}");
        }
        // 班内学号 and 学籍辅号 continue the school's.
        let seats: HashSet<_> = roster.iter().map(|r| (&r.class, &r.seat_no)).collect();
        assert_eq!(seats.len(), roster.len());
        let county_aux: HashSet<&str> = c.students.iter().map(|s| s.row.aux_no.as_str()).collect();
        assert!(roster.iter().all(|r| r.aux_no.len() == 10 && !county_aux.contains(r.aux_no.as_str())));
    }
}

/// A member's cells: (name, relation, note, current address, household,
/// phone, is guardian, ID type, ID number, ethnicity, workplace, title).
fn member(r: &Row, n: usize) -> [String; 12] {
    let mut row = r.clone();
    row.member_mut(n).map(|c| c.clone())
}

#[test]
fn family_members_fit_the_pupil() {
    let c = &*COUNTY;
    let in_county = |a: &str| a.starts_with("吉林省长春市农安县");
    let mut grandparent_guardians = 0;
    for s in &c.students {
        let r = &s.row;
        let birth = NaiveDate::parse_from_str(&r.birth_date, "%Y-%m-%d").unwrap();
        let m1 = member(r, 1);
        let m2 = member(r, 2);
        for m in [&m1, &m2] {
            let [name, relation, note, current, household, phone, guardian, id_type, id, ethnicity, workplace, title] =
                m.each_ref().map(String::as_str);
            assert!(name.chars().count() >= 2 && RELATIONS.contains(&relation) && !note.is_empty(), "{m:?}");
            assert!(!current.is_empty() && !household.is_empty() && is_phone(phone), "{m:?}");
            assert!(["是", "否"].contains(&guardian) && id_type == "居民身份证", "{m:?}");
            assert!(ETHNIC.contains(&ethnicity) && !workplace.is_empty() && !title.is_empty(), "{m:?}");
            let id = IdNumber::parse(id).unwrap_or_else(|e| panic!("{id}: {e:?}"));
            let years = (birth - id.birth_date()).num_days() / 365;
            let older = relation.contains('祖');
            let (lo, hi) = if older { (38, 80) } else { (15, 50) };
            assert!((lo..=hi).contains(&years), "{relation} {years} years older: {m:?}");
            let female = ["母亲", "祖母", "外祖母"].contains(&relation)
                || ["婶婶", "伯母", "姑姑", "舅妈", "姨妈"].contains(&note);
            let male = ["父亲", "祖父", "外祖父"].contains(&relation)
                || ["叔叔", "伯父", "姑父", "舅舅", "姨父"].contains(&note);
            assert!(female != male, "{m:?}");
            assert_eq!(id.gender(), if male { Gender::Male } else { Gender::Female }, "{m:?}");
            if relation == "父亲" || relation == "母亲" {
                let child = if r.gender == "男" { '子' } else { '女' };
                assert_eq!(note.chars().collect::<Vec<_>>(), [relation.chars().next().unwrap(), child], "{m:?}");
            }
        }
        // The first member is the guardian the pupil lives with.
        assert_eq!(m1[6], "是", "{r:?}");
        assert_eq!(m1[3], r.current_address, "{r:?}");
        assert_eq!(r.phone, m1[5]);
        assert_ne!(m1[8], m2[8]);
        let parents: Vec<&[String; 12]> =
            [&m1, &m2].into_iter().filter(|m| ["父亲", "母亲"].contains(&m[1].as_str())).collect();
        if parents.len() == 2 && !r.name.contains('·') {
            assert!(parents.iter().any(|m| m[9] == r.ethnicity), "{r:?}");
        }
        match r.left_behind.as_str() {
            "非留守儿童" => assert!(in_county(&m2[3]) && m2[3] == m1[3], "{r:?}"),
            "单亲留守儿童" => {
                assert!(parents.len() == 2 && m1[1] != m2[1], "{r:?}");
                assert!(!in_county(&m2[3]) && m2[6] == "是", "{r:?}");
            }
            "双亲留守儿童" => {
                assert!(m1[1].contains('祖') && parents.len() == 1, "{r:?}");
                assert!(!in_county(&m2[3]) && m2[6] == "否", "{r:?}");
                grandparent_guardians += 1;
            }
            other => panic!("{other}"),
        }
        if r.orphan == "是" {
            assert!(parents.is_empty() && r.left_behind == "非留守儿童" && r.migrant_child == "否", "{r:?}");
            assert_eq!(m2[6], "否", "{r:?}");
        } else if r.left_behind == "非留守儿童" {
            assert_eq!(parents.len(), 2, "{r:?}");
        }
        if r.martyr_child == "是" {
            assert!(parents.iter().any(|m| m[1] == "父亲" && m[10] == "部队"), "{r:?}");
        }
        // The members are registered where the pupil is.
        assert!(m1[4] == r.household_address && m2[4] == r.household_address, "{r:?}");
    }
    assert!(grandparent_guardians > 0);
}

#[test]
fn the_pupils_own_items_are_coherent() {
    let c = &*COUNTY;
    let origins: HashMap<&str, &str> = TABLES
        .origins
        .iter()
        .map(|o| (o.prefix, o.code))
        .chain(TABLES.minority_origins.iter().map(|o| (o.prefix, o.code)))
        .chain([("吉林省长春市农安县", "220122")])
        .collect();
    let mut aux = HashSet::new();
    let mut seats = HashSet::new();
    for s in &c.students {
        let r = &s.row;
        let school = c.school(&s.school_code).unwrap();
        let birth = NaiveDate::parse_from_str(&r.birth_date, "%Y-%m-%d").unwrap();
        let grade: u8 = r.grade.parse().unwrap();
        // 出生地 and its code; the ID's area is the place of registration at birth.
        assert_eq!(r.birthplace_code, format!("{}000000", origins[r.birthplace.as_str()]), "{r:?}");
        if !r.id_number.is_empty() {
            assert!(r.birthplace_code.starts_with(&r.id_number[..6]), "{r:?}");
            let (from, to) = r.id_valid.split_once('-').unwrap();
            let from = NaiveDate::parse_from_str(from, "%Y.%m.%d").unwrap();
            let to = NaiveDate::parse_from_str(to, "%Y.%m.%d").unwrap();
            assert!(from > birth && from <= today() && to > today(), "{r:?}");
            assert_eq!(to, from.checked_add_months(chrono::Months::new(60)).unwrap(), "{r:?}");
        }
        assert!(!r.native_place.is_empty() && !r.hmt.is_empty() && r.source == "正常入学");
        assert!(r.mailing_address == r.current_address && r.home_address == r.current_address);
        assert_eq!(r.postcode, "130200");
        assert!(r.email.is_empty() || (r.email.contains('@') && r.email.is_ascii()), "{}", r.email);
        // 政治面貌: 共青团员 only in junior grades, at 14 or older.
        if r.political == "共青团员" {
            assert!(grade >= 8 && (today() - birth).num_days() >= 14 * 365, "{r:?}");
        }
        // 健康状况 残疾 exactly for the disabled; 随班就读 follows 残疾类型.
        let disabled = r.disability_type != "无残疾";
        assert_eq!(r.health == "残疾", disabled, "{r:?}");
        if r.inclusive != "非随班就读" {
            let kind = &r.disability_type[..6];
            let expect = if ["视力", "听力", "智力"].contains(&kind) {
                format!("{kind}残疾随班就读")
            } else {
                "其他残疾随班就读".into()
            };
            assert_eq!(r.inclusive, expect, "{r:?}");
            assert_ne!(school.kind, SchoolKind::Special);
        } else {
            assert_eq!(disabled, school.kind == SchoolKind::Special, "{r:?}");
        }
        // 报到 in the days around 1 September of the entry.
        let entry = NaiveDate::parse_from_str(&r.entry_date, "%Y-%m-%d").unwrap();
        let on = NaiveDate::parse_from_str(&r.registered_on, "%Y-%m-%d").unwrap();
        assert!((-7..=7).contains(&(on - entry).num_days()), "{r:?}");
        assert!(aux.insert(r.aux_no.clone()), "学籍辅号 {} twice", r.aux_no);
        let stage = if grade <= 6 { '1' } else { '2' };
        assert!(r.aux_no.len() == 10 && r.aux_no.starts_with(stage) && r.aux_no[1..3] == r.entry_date[2..4], "{r:?}");
        assert!(seats.insert((&s.school_code, &r.grade, &r.class, &r.seat_no)), "{r:?}");
    }
    // Siblings are not only children.
    let mut by_phone: HashMap<&str, Vec<&Row>> = HashMap::new();
    for s in &c.students {
        by_phone.entry(s.row.guardian1_phone.as_str()).or_default().push(&s.row);
    }
    for kids in by_phone.values().filter(|k| k.len() > 1) {
        assert!(kids.iter().all(|k| k.only_child == "否"));
    }
}

#[test]
fn the_special_groups_have_plausible_shares() {
    let c = &*COUNTY;
    let n = c.students.len() as f64;
    let count = |f: &dyn Fn(&StudentSeed) -> bool| c.students.iter().filter(|s| f(s)).count();
    let town = |s: &StudentSeed| c.school(&s.school_code).unwrap().county_town;
    let township: Vec<&StudentSeed> = c.students.iter().filter(|s| !town(s)).collect();
    // 留守儿童: about one in ten in the townships, four in ten of them 双亲.
    let left = count(&|s| s.row.left_behind != "非留守儿童");
    let both = count(&|s| s.row.left_behind == "双亲留守儿童");
    let both_share = both as f64 / left as f64;
    assert!((0.3..0.5).contains(&both_share), "双亲 {both} of {left}");
    let township_left = township.iter().filter(|s| s.row.left_behind != "非留守儿童").count();
    assert!(township_left * 10 > left * 8, "most left-behind children are in the townships");
    // 孤儿 and 烈士或优抚子女: rare, but present.
    let orphans = count(&|s| s.row.orphan == "是");
    assert!((5..=60).contains(&orphans), "{orphans} orphans");
    let martyrs = count(&|s| s.row.martyr_child == "是");
    assert!((10..=100).contains(&martyrs), "{martyrs} 烈士或优抚子女");
    // 随班就读 of every kind, 送教上门 at the special school only.
    for p in PLACEMENTS {
        assert!(count(&|s| s.row.inclusive == p) > 0, "no {p}");
    }
    let special = c.school_named("农安县特殊教育学校").unwrap();
    let special_n = rows_of(c, &special.code).len();
    let home = count(&|s| s.row.study_mode == "送教上门");
    assert!(home >= 1 && home * 5 <= special_n, "{home} 送教上门 of {special_n}");
    // 学前教育: nearly all in the county town, most in the townships, fewer in villages.
    let preschool = |rows: &[&StudentSeed]| {
        rows.iter().filter(|s| s.row.preschool == "是").count() as f64 / rows.len().max(1) as f64
    };
    let town_rows: Vec<&StudentSeed> =
        c.students.iter().filter(|s| town(s) && s.row.migrant_child == "否" && s.school_code != special.code).collect();
    let (village, seat): (Vec<&StudentSeed>, Vec<&StudentSeed>) =
        township.iter().partition(|s| s.row.current_address.ends_with('组'));
    let (p_town, p_seat, p_village) = (preschool(&town_rows), preschool(&seat), preschool(&village));
    assert!(p_town > 0.95 && p_seat > 0.9 && (0.78..0.9).contains(&p_village), "{p_town} {p_seat} {p_village}");
    // 独生子女: more in the county town.
    let only = |rows: &[&StudentSeed]| {
        rows.iter().filter(|s| s.row.only_child == "是").count() as f64 / rows.len().max(1) as f64
    };
    assert!(only(&town_rows) > only(&township) + 0.08, "{} {}", only(&town_rows), only(&township));
    // 港澳台侨外 nearly always 否; 健康状况 mostly good.
    let hmt = count(&|s| s.row.hmt != "否");
    assert!((1..=60).contains(&hmt), "{hmt} 港澳台侨外");
    let healthy = count(&|s| s.row.health == "健康或良好") as f64 / n;
    assert!((0.94..0.98).contains(&healthy), "{healthy}");
    for h in ["一般或较弱", "有慢性病", "残疾"] {
        assert!(count(&|s| s.row.health == h) > 10, "{h}");
    }
    // 政治面貌: 少先队员 from grade 2 on; some 共青团员 in grade 9.
    let share = |grade: &str, value: &str| {
        let g: Vec<_> = c.students.iter().filter(|s| s.row.grade == grade).collect();
        g.iter().filter(|s| s.row.political == value).count() as f64 / g.len() as f64
    };
    assert!(share("1", "少先队员") < 0.5);
    for g in ["2", "3", "4", "5", "6"] {
        assert!(share(g, "少先队员") > 0.9, "grade {g}");
    }
    assert!((0.15..0.35).contains(&share("9", "共青团员")));
    assert_eq!(share("7", "共青团员"), 0.0);
    // 随迁子女 from another province too.
    let other_province = count(&|s| s.row.migrant_child == "是" && !s.row.household_address.starts_with("吉林省"));
    assert!(other_province >= 20, "{other_province}");
    // 住校 in the township junior schools.
    let boarding = township.iter().filter(|s| s.row.study_mode == "住校").count();
    assert!(boarding > 500, "{boarding}");
}
