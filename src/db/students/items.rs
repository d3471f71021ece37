//! The national record's items beyond the core columns (`national-fields.md`
//! items 4-42), stored one column each; unknown text is `''`, unknown codes
//! and yes/no items are NULL.

use crate::domain::national::{self, Coded, Table};
use sqlx::Row;

/// The national items a student record keeps beside its core columns.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct NationalItems {
    /// 籍贯 (item 5).
    pub native_place: String,
    /// 出生地行政区划代码 (item 4, 12 digits), when known.
    pub birthplace_code: String,
    /// 港澳台侨外 (item 10).
    pub hmt: Option<Coded>,
    /// 政治面貌 (item 11).
    pub political: Option<Coded>,
    /// 健康状况 (item 12).
    pub health: Option<Coded>,
    /// 身份证件有效期 (item 16), e.g. `2020.06.01-2030.06.01`.
    pub id_valid: String,
    /// 特长 (item 19).
    pub specialty: String,
    /// 学籍辅号 (item 20).
    pub aux_no: String,
    /// 班内学号 (item 21).
    pub seat_no: String,
    /// 就读方式 (item 26).
    pub study_mode: Option<Coded>,
    /// 学生来源 (item 27).
    pub source: String,
    /// 通信地址 (item 29).
    pub mailing_address: String,
    /// 家庭地址 (item 30).
    pub home_address: String,
    /// 联系电话 (item 31).
    pub phone: String,
    /// 邮政编码 (item 32).
    pub postcode: String,
    /// 电子信箱 (item 33).
    pub email: String,
    /// 主页地址 (item 34).
    pub homepage: String,
    /// 是否独生子女 (item 35).
    pub only_child: Option<bool>,
    /// 是否受过学前教育 (item 36).
    pub preschool: Option<bool>,
    /// 是否留守儿童 (item 37): 0 / 1 单亲 / 2 双亲.
    pub left_behind: Option<Coded>,
    /// 是否进城务工人员随迁子女 (item 38).
    pub migrant_child: Option<bool>,
    /// 是否孤儿 (item 39).
    pub orphan: Option<bool>,
    /// 是否烈士或优抚子女 (item 40).
    pub martyr_child: Option<bool>,
    /// 随班就读 (item 41).
    pub inclusive: Option<Coded>,
    /// 残疾类型 (item 42).
    pub disability: Option<Coded>,
}

impl NationalItems {
    /// Whether the student is disabled: yes, no, or unknown. A 残疾类型 says
    /// so (0 无残疾 = no); so does a 随班就读 placement or 健康状况 残疾.
    pub fn disabled(&self) -> Option<bool> {
        if let Some(d) = self.disability {
            return Some(d.code() != "0");
        }
        if self.inclusive.is_some_and(|i| i.code() != "0") || self.health.is_some_and(|h| h.code() == "6") {
            return Some(true);
        }
        None
    }

    /// Whether the student is placed in a regular class (随班就读): yes, no or unknown.
    pub fn in_inclusive_class(&self) -> Option<bool> {
        self.inclusive.map(|i| i.code() != "0")
    }

    /// Whether the student boards: yes, no or unknown.
    pub fn boarding(&self) -> Option<bool> {
        self.study_mode.map(|m| m.code() == "2")
    }

    /// Whether the student is left behind (either kind): yes, no or unknown.
    pub fn is_left_behind(&self) -> Option<bool> {
        self.left_behind.map(|l| l.code() != "0")
    }
}

/// The students columns holding [`NationalItems`], in bind order.
pub(super) const COLUMNS: &str = "native_place, birthplace_code, hmt, political, health, id_valid, specialty,
    aux_no, seat_no, study_mode, source, mailing_address, home_address, phone, postcode, email, homepage,
    only_child, preschool, left_behind, migrant_child, orphan, martyr_child, inclusive, disability";

/// How many columns [`COLUMNS`] names.
pub(super) const COUNT: usize = 25;

/// The same columns, prefixed with the students alias `s.`.
pub(super) fn select_columns() -> String {
    COLUMNS.split(',').map(|c| format!("s.{}", c.trim())).collect::<Vec<_>>().join(", ")
}

fn code(c: Option<Coded>) -> Option<&'static str> {
    c.map(Coded::code)
}

fn flag(v: Option<bool>) -> Option<i64> {
    v.map(i64::from)
}

/// Binds the items in the order of [`COLUMNS`].
pub(super) fn bind<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    n: &'q NationalItems,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    q.bind(&n.native_place)
        .bind(&n.birthplace_code)
        .bind(code(n.hmt))
        .bind(code(n.political))
        .bind(code(n.health))
        .bind(&n.id_valid)
        .bind(&n.specialty)
        .bind(&n.aux_no)
        .bind(&n.seat_no)
        .bind(code(n.study_mode))
        .bind(&n.source)
        .bind(&n.mailing_address)
        .bind(&n.home_address)
        .bind(&n.phone)
        .bind(&n.postcode)
        .bind(&n.email)
        .bind(&n.homepage)
        .bind(flag(n.only_child))
        .bind(flag(n.preschool))
        .bind(code(n.left_behind))
        .bind(flag(n.migrant_child))
        .bind(flag(n.orphan))
        .bind(flag(n.martyr_child))
        .bind(code(n.inclusive))
        .bind(code(n.disability))
}

/// Reads the items from a row that selected [`COLUMNS`]. A stored code the
/// table does not have is a decode error, not a silent unknown.
pub(super) fn from_row(r: &sqlx::any::AnyRow) -> Result<NationalItems, sqlx::Error> {
    let coded = |col: &str, table: &'static Table| -> Result<Option<Coded>, sqlx::Error> {
        match r.try_get::<Option<String>, _>(col)? {
            None => Ok(None),
            Some(c) => table.by_code(&c).map(Some).ok_or_else(|| {
                sqlx::Error::Decode(format!("{col}: code {c:?} is not in the table of {}", table.item).into())
            }),
        }
    };
    let flag = |col: &str| r.try_get::<Option<i64>, _>(col).map(|v| v.map(|v| v != 0));
    Ok(NationalItems {
        native_place: r.try_get("native_place")?,
        birthplace_code: r.try_get("birthplace_code")?,
        hmt: coded("hmt", &national::HMT)?,
        political: coded("political", &national::POLITICAL)?,
        health: coded("health", &national::HEALTH)?,
        id_valid: r.try_get("id_valid")?,
        specialty: r.try_get("specialty")?,
        aux_no: r.try_get("aux_no")?,
        seat_no: r.try_get("seat_no")?,
        study_mode: coded("study_mode", &national::STUDY_MODE)?,
        source: r.try_get("source")?,
        mailing_address: r.try_get("mailing_address")?,
        home_address: r.try_get("home_address")?,
        phone: r.try_get("phone")?,
        postcode: r.try_get("postcode")?,
        email: r.try_get("email")?,
        homepage: r.try_get("homepage")?,
        only_child: flag("only_child")?,
        preschool: flag("preschool")?,
        left_behind: coded("left_behind", &national::LEFT_BEHIND)?,
        migrant_child: flag("migrant_child")?,
        orphan: flag("orphan")?,
        martyr_child: flag("martyr_child")?,
        inclusive: coded("inclusive", &national::INCLUSIVE)?,
        disability: coded("disability", &national::DISABILITY)?,
    })
}
