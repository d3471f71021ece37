//! The bureau's hold on intake: the autumn intake plan (Art. 3, 7), the
//! autumn window, delayed entry (Art. 4) and catchment areas (Art. 7, 18).
//! Rules only; the plans, areas and applications are kept in the database.

use super::{DomainError, SchoolKind};
use chrono::{Datelike, NaiveDate};

/// The grade a school of `kind` takes its intake into: 一年级 for primary
/// and special schools, 初一 (7) for junior schools.
pub fn entry_grade(kind: SchoolKind) -> u8 {
    *kind.grades().start()
}

/// The autumn window of an intake year (Art. 3: 秋季招生、入学): from
/// 1 August, when schools register the children, to 30 September.
pub fn autumn_window(year: i32) -> (NaiveDate, NaiveDate) {
    (
        NaiveDate::from_ymd_opt(year, 8, 1).expect("1 August exists"),
        NaiveDate::from_ymd_opt(year, 9, 30).expect("30 September exists"),
    )
}

/// The autumn intake an entry date belongs to: its own year's from August,
/// the year before's until July (a late entrant, Art. 3).
pub fn intake_year_of(entry: NaiveDate) -> i32 {
    if entry.month() >= 8 { entry.year() } else { entry.year() - 1 }
}

/// Whether an entry date falls within its year's autumn window.
pub fn in_autumn_window(entry: NaiveDate) -> bool {
    let (from, to) = autumn_window(entry.year());
    (from..=to).contains(&entry)
}

/// The most classes a plan may open in one entry grade.
pub const MAX_PLAN_CLASSES: u32 = 40;

/// A plan's figures: classes and places of the entry grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlanFigures {
    /// 计划班数.
    pub classes: u32,
    /// 计划人数 (学位).
    pub places: u32,
}

impl PlanFigures {
    /// Checks the figures for a school of `kind`: at least one class and
    /// one place, at most [`MAX_PLAN_CLASSES`] classes, and no more places
    /// than the classes hold at the regulation's cap (Art. 6).
    pub fn new(kind: SchoolKind, classes: u32, places: u32) -> Result<Self, DomainError> {
        if classes == 0 || classes > MAX_PLAN_CLASSES {
            return Err(DomainError::new(
                "plan.classes_invalid",
                "计划班数",
                classes.to_string(),
                &format!("应为1至{MAX_PLAN_CLASSES}个班"),
            ));
        }
        let cap = u32::from(kind.max_class_size());
        if places == 0 {
            return Err(DomainError::new("plan.places_invalid", "计划人数", "0", "须至少为1人"));
        }
        if places > classes * cap {
            return Err(DomainError::new(
                "plan.places_exceed_classes",
                "计划人数",
                places.to_string(),
                &format!("超过{classes}个班按班额{cap}人（第六条）所能容纳的{}人", classes * cap),
            ));
        }
        Ok(Self { classes, places })
    }
}

/// What a new intake does to a plan: refuses the intake beyond its places
/// or classes (`intake.over_plan`, Art. 7). `enrolled` and `classes` are
/// what the school has now in the entry grade of the plan's year; `adding`
/// and `new_classes` what the intake brings.
pub fn check_plan(
    plan: PlanFigures,
    year: i32,
    enrolled: u64,
    adding: u64,
    classes: u64,
    new_classes: u64,
) -> Result<(), DomainError> {
    if enrolled + adding > u64::from(plan.places) {
        return Err(DomainError::new(
            "intake.over_plan",
            "招生计划",
            format!("{year}年{}人", plan.places),
            &format!(
                "已招{enrolled}人，再招{adding}人将超出教育局下达的招生计划（第七条）；须由学校书面申请调整计划，经教育局批准后再招生（第三条）"
            ),
        ));
    }
    if classes + new_classes > u64::from(plan.classes) {
        return Err(DomainError::new(
            "intake.over_plan",
            "招生计划",
            format!("{year}年{}个班", plan.classes),
            &format!(
                "已有{classes}个班，再开{new_classes}个班将超出教育局下达的计划班数（第七条）；须由学校书面申请调整计划（第三条）"
            ),
        ));
    }
    Ok(())
}

/// The place names a catchment area (学区) is made of: streets, residential
/// compounds, villages or whole townships, as addresses spell them
/// (e.g. `农安镇兴华大街`, `合隆镇陈家店村`, `合隆镇`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catchment {
    places: Vec<String>,
}

/// The longest place name of an area.
pub const MAX_PLACE_CHARS: usize = 60;
/// The most place names one school's area holds.
pub const MAX_PLACES: usize = 500;

/// An address or place name as compared: without spaces, full-width
/// letters and digits folded to ASCII.
fn normalised(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

impl Catchment {
    /// An area of the given place names, checked: none empty or too long,
    /// none twice, at most [`MAX_PLACES`].
    pub fn new<S: AsRef<str>>(places: &[S]) -> Result<Self, DomainError> {
        if places.len() > MAX_PLACES {
            return Err(DomainError::new(
                "area.too_many",
                "学区",
                places.len().to_string(),
                &format!("个地名过多（最多{MAX_PLACES}个）"),
            ));
        }
        let mut out: Vec<String> = Vec::with_capacity(places.len());
        for p in places {
            let p = normalised(p.as_ref());
            if p.is_empty() {
                continue;
            }
            if p.chars().count() > MAX_PLACE_CHARS || p.chars().any(char::is_control) {
                return Err(DomainError::new(
                    "area.place_invalid",
                    "学区地名",
                    p.chars().take(MAX_PLACE_CHARS).collect::<String>(),
                    &format!("过长（最多{MAX_PLACE_CHARS}字）或含有控制字符"),
                ));
            }
            if p.chars().count() < 2 {
                return Err(DomainError::new(
                    "area.place_invalid",
                    "学区地名",
                    p,
                    "过短：须写出街道、小区、村或乡镇名",
                ));
            }
            if out.contains(&p) {
                return Err(DomainError::new("area.place_twice", "学区地名", p, "重复"));
            }
            out.push(p);
        }
        Ok(Self { places: out })
    }

    /// The place names, as kept.
    pub fn places(&self) -> &[String] {
        &self.places
    }

    /// Whether no area is recorded (then no address is judged).
    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    /// Whether an address lies in the area: it names one of its places.
    pub fn covers(&self, address: &str) -> bool {
        let a = normalised(address);
        !a.is_empty() && self.places.iter().any(|p| a.contains(p.as_str()))
    }
}

/// Where an intake stands against its school's catchment area (Art. 7, 18).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AreaFinding {
    /// The household or the current (property) address lies in the area,
    /// or the school has no area recorded.
    Inside,
    /// A migrant worker's child at a school the bureau directs such
    /// children to (Art. 18): placed by where the family lives, not by area.
    MigrantSchool,
    /// Neither address lies in the area: the bureau decides.
    Outside,
    /// Neither address lies in the area, and the child is a migrant
    /// worker's child at a county-town school the bureau does not direct
    /// such children to (Art. 18): the bureau decides.
    MigrantElsewhere,
}

/// Judges an intake's addresses against its school's area. `migrant` is the
/// 随迁子女 item (unknown: not a migrant child); `migrant_school` whether the
/// school is on the bureau's list for migrant workers' children.
pub fn judge_area(
    area: &Catchment,
    household: &str,
    current: &str,
    migrant: Option<bool>,
    county_town: bool,
    migrant_school: bool,
) -> AreaFinding {
    let migrant = migrant == Some(true);
    if migrant && migrant_school {
        return AreaFinding::MigrantSchool;
    }
    if area.is_empty() || area.covers(household) || area.covers(current) {
        return AreaFinding::Inside;
    }
    if migrant && county_town { AreaFinding::MigrantElsewhere } else { AreaFinding::Outside }
}

/// The longest a delay may be: the child enters the next year's intake, or
/// at most this many years later.
pub const MAX_DELAY_YEARS: i32 = 2;

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn intake_is_in_autumn() {
        assert!(in_autumn_window(d(2026, 9, 1)));
        assert!(in_autumn_window(d(2026, 8, 1)));
        assert!(in_autumn_window(d(2026, 9, 30)));
        assert!(!in_autumn_window(d(2026, 10, 1)));
        assert!(!in_autumn_window(d(2026, 3, 1)));
        assert_eq!(entry_grade(SchoolKind::Junior), 7);
        assert_eq!(entry_grade(SchoolKind::Primary), 1);
    }

    #[test]
    fn plan_figures_stay_within_the_class_caps() {
        PlanFigures::new(SchoolKind::Primary, 2, 90).unwrap();
        assert_eq!(PlanFigures::new(SchoolKind::Primary, 2, 91).unwrap_err().code, "plan.places_exceed_classes");
        PlanFigures::new(SchoolKind::Junior, 2, 100).unwrap();
        assert_eq!(PlanFigures::new(SchoolKind::Primary, 0, 1).unwrap_err().code, "plan.classes_invalid");
        assert_eq!(PlanFigures::new(SchoolKind::Primary, 1, 0).unwrap_err().code, "plan.places_invalid");
    }

    #[test]
    fn the_place_beyond_the_plan_is_refused() {
        let plan = PlanFigures::new(SchoolKind::Primary, 2, 80).unwrap();
        check_plan(plan, 2026, 70, 10, 2, 0).unwrap();
        let e = check_plan(plan, 2026, 70, 11, 2, 0).unwrap_err();
        assert_eq!(e.code, "intake.over_plan");
        assert!(e.message.contains("2026年80人"), "{}", e.message);
        assert_eq!(check_plan(plan, 2026, 0, 1, 2, 1).unwrap_err().code, "intake.over_plan");
    }

    #[test]
    fn an_address_is_in_the_area_when_it_names_one_of_its_places() {
        let area = Catchment::new(&["农安镇兴华大街", "合隆镇陈家店村", " "]).unwrap();
        assert_eq!(area.places().len(), 2);
        assert!(area.covers("吉林省长春市农安县农安镇兴华大街金色家园3栋"));
        assert!(area.covers("吉林省长春市农安县合隆镇陈家店村 5组"));
        assert!(!area.covers("吉林省长春市农安县农安镇松花江路59号"));
        assert!(!area.covers(""));
        assert!(Catchment::new(&["合隆镇", "合隆镇"]).is_err());
        assert!(Catchment::new(&["镇"]).is_err());
    }

    #[test]
    fn migrant_children_are_placed_by_the_bureau_s_list() {
        let area = Catchment::new(&["农安镇兴华大街"]).unwrap();
        let out = "农安县农安镇松花江路1号";
        assert_eq!(judge_area(&area, out, out, Some(true), true, true), AreaFinding::MigrantSchool);
        assert_eq!(judge_area(&area, out, out, Some(true), true, false), AreaFinding::MigrantElsewhere);
        assert_eq!(judge_area(&area, out, out, None, true, false), AreaFinding::Outside);
        assert_eq!(judge_area(&area, "外县", "农安镇兴华大街9号", Some(false), true, false), AreaFinding::Inside);
        assert_eq!(judge_area(&Catchment::default(), out, out, None, true, false), AreaFinding::Inside);
    }
}
