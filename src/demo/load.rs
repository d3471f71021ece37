//! Loading the sample county into a database: schools, classes, accounts and
//! students, the students through the same roster checks a school's import
//! goes through.

use super::County;
use crate::db::Db;
use crate::db::intake;
use crate::db::schools::{self, NewSchool};
use crate::db::users::{self, Role};
use crate::domain::Grade;
use crate::roster::{check, read::Sheet};
use anyhow::Context;
use std::collections::HashMap;

/// A demo account and its generated password.
#[derive(Debug, Clone)]
pub struct Account {
    /// Sign-in name.
    pub username: String,
    /// Generated password.
    pub password: String,
    /// Role.
    pub role: Role,
    /// School name (registrars).
    pub school: Option<String>,
}

/// What the accounts file says instead of a password for an account that
/// existed before the demo was loaded.
pub const KEPT: &str = "（已有账号，密码未改）";

/// A random password of 16 letters and digits (no look-alikes).
pub fn random_password() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16).map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())])).collect()
}

/// The school's registrar submits its new records and the bureau's staff
/// approves them, through the same services as the pages (Art. 10 step 6):
/// the sample county starts 在籍, with that history, except the records
/// with an open problem (no ID, suspected duplicate), which wait for it.
async fn approve(db: &Db, school: &crate::db::schools::School, today: chrono::NaiveDate) -> anyhow::Result<()> {
    use crate::domain::{Channel, StudentStatus};
    use crate::service::{accounts, records};
    let holder = match school.central_school_id {
        Some(id) => schools::by_id(&db.pool, id).await?.context("central school")?.code,
        None => school.code.clone(),
    };
    let actor = |username: String| async move {
        let user = users::by_username(&db.pool, &username).await?.with_context(|| format!("账号 {username}"))?;
        anyhow::Ok(accounts::actor_for(db, &user, "local", Channel::Cli).await?)
    };
    let registrar = actor(format!("r{holder}")).await?;
    let bureau = actor("bureau".to_owned()).await?;
    let req = records::SubmitRequest { school: school.code.clone(), students: Vec::new() };
    match records::submit(db, &registrar, today, &req).await {
        Ok(_) => {}
        // Every new record of the school has an open problem (Art. 11): they wait.
        Err(e) if e.code() == "record.nothing_to_submit" => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    let mut conn = db.pool.acquire().await?;
    let ids = crate::db::students::public_ids_in_status(&mut conn, school.id, &[StudentStatus::Submitted]).await?;
    drop(conn);
    let decisions: Vec<records::Decision> =
        ids.into_iter().map(|student| records::Decision { student, approve: true, reason: String::new() }).collect();
    if !decisions.is_empty() {
        records::review(db, &bureau, today, &decisions).await?;
    }
    Ok(())
}

/// The principal and the registrar of the `i`-th school loaded: names made
/// from the common surnames and the parents' generation's given names, by
/// position (no random draw, so the county a seed gives stays the same).
fn officers(i: usize) -> (String, String) {
    let t = &*super::tables::TABLES;
    let common = t.surnames.len().min(40);
    let name = |k: usize, given: &[&str]| format!("{}{}", t.surnames[k % common].text, given[k % given.len()]);
    let principal = if i % 3 == 2 { name(i * 7 + 3, &t.mother_given) } else { name(i * 7 + 3, &t.father_given) };
    (principal, name(i * 11 + 5, &t.mother_given))
}

/// Loads `county` into an empty database, calling `progress(done, total)` per school.
/// The rosters go through the import's checks, printability against `coverage`
/// (the bundled fonts) included.
/// Returns the accounts created: one bureau admin, one bureau staff member and a
/// registrar for each school that holds its own files.
pub async fn load(
    db: &Db,
    county: &County,
    today: chrono::NaiveDate,
    coverage: &crate::render::Coverage,
    progress: &dyn Fn(usize, usize),
) -> anyhow::Result<Vec<Account>> {
    if schools::count(&db.pool).await? > 0 {
        anyhow::bail!("数据库中已有学校，示例县只能载入空数据库（可删除 data/ 目录后重试）");
    }
    let mut tx = db.pool.begin().await?;
    let mut ids: HashMap<&str, i64> = HashMap::new();
    // Central schools first, so township schools can point at them.
    let mut ordered: Vec<_> = county.schools.iter().collect();
    ordered.sort_by_key(|s| s.central_school_code.is_some());
    for (i, s) in ordered.into_iter().enumerate() {
        let id = schools::insert(
            &mut *tx,
            &NewSchool {
                code: &s.code,
                name: &s.name,
                kind: s.kind,
                county_town: s.county_town,
                central_school_id: s.central_school_code.as_deref().and_then(|c| ids.get(c).copied()),
                district: &s.district,
                address: &s.address,
            },
        )
        .await?;
        let (principal, registrar) = officers(i);
        schools::set_officers(&mut *tx, id, &principal, &registrar).await?;
        ids.insert(&s.code, id);
    }
    for c in &county.classes {
        let school = schools::by_id(&mut *tx, ids[c.school_code.as_str()]).await?.context("school just inserted")?;
        schools::insert_class(&mut *tx, &school, Grade::new(c.grade)?, c.number, &c.head_teacher, c.cap).await?;
    }
    // The bureau's hold on intake: each school's area and its plan for this
    // year's intake (its entry grade's classes, full to the cap).
    let now = crate::db::now_text();
    for s in &county.schools {
        let id = ids[s.code.as_str()];
        intake::set_district(&mut tx, id, &s.catchment, s.migrant_children).await?;
        let entry = crate::domain::intake::entry_grade(s.kind);
        let classes = county.classes.iter().filter(|c| c.school_code == s.code && c.grade == entry).count() as u32;
        if classes > 0 {
            let places = classes * u32::from(s.kind.max_class_size());
            intake::insert_plan(&mut tx, id, county.school_year, entry, classes, places, "bureau", &now).await?;
        }
    }
    let mut accounts = Vec::new();
    for (username, display, role) in
        [("admin", "教育局管理员", Role::BureauAdmin), ("bureau", "教育局学籍科", Role::BureauStaff)]
    {
        // An account made before (`xueji init`'s administrator) is kept as it is.
        if users::by_username(&mut *tx, username).await?.is_some() {
            accounts.push(Account { username: username.into(), password: KEPT.into(), role, school: None });
            continue;
        }
        let password = random_password();
        users::insert(&mut *tx, username, display, &password, role, None).await?;
        accounts.push(Account { username: username.into(), password, role, school: None });
    }
    for s in county.schools.iter().filter(|s| s.central_school_code.is_none()) {
        let password = random_password();
        let username = format!("r{}", s.code);
        users::insert(
            &mut *tx,
            &username,
            &format!("{}学籍管理员", s.name),
            &password,
            Role::Registrar,
            Some(ids[s.code.as_str()]),
        )
        .await?;
        accounts.push(Account { username, password, role: Role::Registrar, school: Some(s.name.clone()) });
    }
    tx.commit().await?;

    let mut by_school: Vec<(&str, Sheet)> = Vec::new();
    for st in &county.students {
        match by_school.last_mut() {
            Some((code, sheet)) if *code == st.school_code => {
                let n = sheet.rows.len() + 2;
                sheet.rows.push((n, st.row.clone()));
            }
            _ => by_school.push((&st.school_code, Sheet { rows: vec![(2, st.row.clone())], ..Sheet::default() })),
        }
    }
    let total = by_school.len();
    for (done, (code, sheet)) in by_school.into_iter().enumerate() {
        let school = schools::by_code(&db.pool, code).await?.context("school just inserted")?;
        let opts =
            check::Options { dry_run: false, create_classes: false, actor_id: None, today, coverage: coverage.clone() };
        let report = check::import(db, &school, sheet, &opts).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        if !report.committed {
            let first =
                report.errors.first().map(|e| format!("第{}行 {}：{}", e.row, e.column, e.reason)).unwrap_or_default();
            anyhow::bail!("示例县 {} 的名册未通过检查（{} 处错误，首个：{first}）", school.name, report.errors.len());
        }
        approve(db, &school, today).await?;
        progress(done + 1, total);
    }
    Ok(accounts)
}

#[cfg(test)]
mod tests {
    use super::officers;

    #[test]
    fn every_school_gets_a_principal_and_a_different_registrar() {
        for i in 0..60 {
            let (principal, registrar) = officers(i);
            for name in [&principal, &registrar] {
                assert!((2..=4).contains(&name.chars().count()), "{i}: {name}");
            }
            assert_ne!(principal, registrar, "{i}");
        }
    }
}
