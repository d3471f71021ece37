//! The property test of the status workflows: random sequences of workflow
//! actions, by random (right or wrong) staff, on random students, never
//! reach a state the rules forbid; every change of status has its event;
//! a refused action writes nothing.
//!
//! Seeds are fixed (a failure names its seed and replays exactly);
//! `XUEJI_PROPTEST_CASES` runs more of them.

use crate::helpers::{CENTRAL, JUNIOR, TOWN, VILLAGE, import_rows, pupil, spawn_app};
use chrono::{Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use sqlx::Row;
use std::collections::HashMap;
use xueji::app::App;
use xueji::db::users;
use xueji::domain::transitions::{self, Action, Facts};
use xueji::domain::{Actor, Channel, SchoolKind, StudentStatus};
use xueji::dossier::{self, StudentRef, Upload};
use xueji::workflow::cases::{self, CaseKind};
use xueji::workflow::direct;

/// One student's row as the invariants see it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snap {
    status: String,
    grade: i64,
    school_id: i64,
    class_id: Option<i64>,
    events: i64,
}

async fn snapshot(app: &App) -> HashMap<i64, Snap> {
    let rows = sqlx::query(
        "SELECT s.id, s.status, s.grade, s.school_id, s.class_id,
                (SELECT COUNT(*) FROM student_events e WHERE e.student_id = s.id) AS events
         FROM students s",
    )
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    rows.iter()
        .map(|r| {
            (
                r.get::<i64, _>("id"),
                Snap {
                    status: r.get("status"),
                    grade: r.get("grade"),
                    school_id: r.get("school_id"),
                    class_id: r.get("class_id"),
                    events: r.get("events"),
                },
            )
        })
        .collect()
}

async fn table_count(app: &App, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&app.db.pool).await.unwrap()
}

async fn staff(app: &App, username: &str) -> Actor {
    let user = users::by_username(&app.db.pool, username).await.unwrap().unwrap();
    xueji::service::accounts::actor_for(&app.db, &user, "test", Channel::Api).await.unwrap()
}

/// Whether some action of the machine leads from `from` to `to`.
fn reachable(from: StudentStatus, to: StudentStatus) -> bool {
    from == to
        || Action::ALL.into_iter().any(|a| {
            (0..8u8).any(|bits| {
                let f = Facts {
                    graduating_grade: bits & 1 != 0,
                    primary_graduate_grade: bits & 2 != 0,
                    bureau_override: bits & 4 != 0,
                };
                transitions::apply(from, a, f) == Ok(to)
            })
        })
}

/// Checks every invariant after one step; `refused` steps must have written nothing.
async fn check(app: &App, seed: u64, step: usize, what: &str, refused: bool, before: &HashMap<i64, Snap>) {
    let ctx = format!("seed {seed}, step {step} ({what})");
    let after = snapshot(app).await;
    for (id, a) in &after {
        let b = &before[id];
        let from = StudentStatus::parse(&b.status).unwrap();
        let to = StudentStatus::parse(&a.status).unwrap_or_else(|_| panic!("{ctx}: unknown status {}", a.status));
        if refused {
            assert_eq!(a, b, "{ctx}: a refused action changed student {id}");
            continue;
        }
        assert!(reachable(from, to), "{ctx}: {from:?} -> {to:?} is no transition of the machine");
        if transitions::is_closed(from) {
            assert_eq!(a, b, "{ctx}: a closed record (student {id}, {from:?}) changed");
        }
        if a.status != b.status {
            assert!(a.events > b.events, "{ctx}: student {id} went {from:?} -> {to:?} without an event");
            let last: (Option<String>, Option<String>) = sqlx::query_as(
                "SELECT from_status, to_status FROM student_events WHERE student_id = $1 ORDER BY id DESC LIMIT 1",
            )
            .bind(id)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
            assert_eq!(last, (Some(b.status.clone()), Some(a.status.clone())), "{ctx}: event of student {id}");
        }
        if a.grade != b.grade || a.school_id != b.school_id {
            assert!(a.events > b.events, "{ctx}: student {id} moved grade or school without an event");
        }
        assert!(a.grade >= b.grade, "{ctx}: student {id} went down a grade (no retention, Art. 26)");
        if to == StudentStatus::Graduated {
            let kind: String = sqlx::query_scalar("SELECT kind FROM schools WHERE id = $1")
                .bind(a.school_id)
                .fetch_one(&app.db.pool)
                .await
                .unwrap();
            let top = SchoolKind::parse(&kind).unwrap().graduating_grade();
            assert_eq!(a.grade, i64::from(top), "{ctx}: a graduate outside the graduating grade");
        }
    }
    // Class caps hold.
    let over: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM classes c WHERE c.cap < (SELECT COUNT(*) FROM students s WHERE s.class_id = c.id
            AND s.status IN ('active', 'transfer_pending', 'suspected_dropout'))",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(over, 0, "{ctx}: a class is over its cap");
    // A pending transfer is exactly an open transfer case.
    let mismatched: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM students s WHERE (s.status = 'transfer_pending') <>
            EXISTS (SELECT 1 FROM cases c WHERE c.student_id = s.id AND c.state = 'open' AND c.kind = 'transfer')",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(mismatched, 0, "{ctx}: transfer_pending without its open case, or the reverse");
    let open_twice: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT student_id FROM cases WHERE state = 'open' GROUP BY student_id HAVING COUNT(*) > 1) t",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(open_twice, 0, "{ctx}: two open cases for one student");
}

struct World {
    students: Vec<(String, i64)>,
    proofs: HashMap<String, String>,
    /// admin, bureau, then the three registrars.
    staff: Vec<Actor>,
}

impl World {
    /// The registrar who acts for a school.
    fn registrar(&self, school_id: i64) -> &Actor {
        self.staff[2..].iter().find(|s| s.may_see(school_id)).expect("every fixture school has a registrar")
    }
}

async fn setup(app: &App) -> World {
    let mut seq = 100;
    for (code, grades) in [(CENTRAL, &[2u8, 3, 6][..]), (VILLAGE, &[3][..]), (TOWN, &[3, 6][..]), (JUNIOR, &[7, 9][..])]
    {
        let rows = grades
            .iter()
            .map(|g| {
                seq += 1;
                pupil(&format!("性质{seq}"), (2021 - i32::from(*g), 3, 1 + u32::from(seq % 28)), seq, *g)
            })
            .collect();
        let report = import_rows(&app.db, code, rows).await;
        assert!(report.committed, "{:?}", report.errors);
    }
    // A small class, so that caps are reached.
    sqlx::query("UPDATE classes SET cap = 2 WHERE grade = 3").execute(&app.db.pool).await.unwrap();
    let rows =
        sqlx::query("SELECT id, public_id, school_id FROM students ORDER BY id").fetch_all(&app.db.pool).await.unwrap();
    let mut students = Vec::new();
    let mut proofs = HashMap::new();
    for r in &rows {
        let (id, public_id, school_id): (i64, String, i64) = (r.get("id"), r.get("public_id"), r.get("school_id"));
        let student = StudentRef { id, public_id: public_id.clone(), school_id };
        let upload = Upload {
            kind: "household_register".parse().unwrap(),
            original_name: "hukou.png".into(),
            supersedes: None,
            note: String::new(),
        };
        let bytes = crate::archive::png(40, 30, u8::try_from(id % 200).unwrap());
        let added = dossier::add_file(
            &app.db,
            &app.archive,
            &student,
            upload,
            Box::new(std::io::Cursor::new(bytes)),
            &Actor::cli("test"),
        )
        .await
        .unwrap();
        proofs.insert(public_id.clone(), added.entry.digest.to_string());
        students.push((public_id, id));
    }
    let mut staff_list = Vec::new();
    for name in ["admin", "bureau", "r2122019001", "r2122019003", "r2122019004"] {
        staff_list.push(staff(app, name).await);
    }
    World { students, proofs, staff: staff_list }
}

fn date(today: NaiveDate, days_ago: i64) -> String {
    (today - Duration::days(days_ago)).to_string()
}

/// One random action; returns its name and whether it succeeded.
async fn act(app: &App, w: &World, rng: &mut ChaCha8Rng) -> (String, bool) {
    let today = app.today();
    let pick = rng.random_range(0..20);
    // Decisions and withdrawals go mostly to a student with an open case.
    let open: Vec<(String, i64)> = sqlx::query_as(
        "SELECT s.public_id, s.id FROM cases c JOIN students s ON s.id = c.student_id WHERE c.state = 'open' ORDER BY c.id",
    )
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    let chosen = if (4..=10).contains(&pick) && !open.is_empty() && rng.random_bool(0.9) {
        open[rng.random_range(0..open.len())].clone()
    } else {
        w.students[rng.random_range(0..w.students.len())].clone()
    };
    let (sid, id) = (&chosen.0, &chosen.1);
    let school_id: i64 = sqlx::query_scalar("SELECT school_id FROM students WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    // Mostly the staff member whose step it is, sometimes anyone (who must then be refused).
    let wrong = rng.random_bool(0.25);
    let anyone = &w.staff[rng.random_range(0..w.staff.len())];
    let pick_for = |school: i64| if wrong { anyone } else { w.registrar(school) };
    let staff = pick_for(school_id);
    let proof = vec![cases::ProofRef { digest: w.proofs[sid].clone(), label: "户口簿".into() }];
    let maybe_proof = if rng.random_bool(0.8) { proof.clone() } else { Vec::new() };
    let open_case: Option<String> =
        sqlx::query_scalar("SELECT public_id FROM cases WHERE student_id = $1 AND state = 'open'")
            .bind(id)
            .fetch_optional(&app.db.pool)
            .await
            .unwrap();
    let name = format!("{} by {} on {sid}", pick, staff.username);
    let ok = match pick {
        0..=3 => {
            let (no, nm): (String, String) = sqlx::query_as("SELECT student_no, name FROM students WHERE id = $1")
                .bind(id)
                .fetch_one(&app.db.pool)
                .await
                .unwrap();
            let to = [CENTRAL, TOWN, JUNIOR, VILLAGE][rng.random_range(0..4)];
            let to_id: i64 = sqlx::query_scalar("SELECT id FROM schools WHERE code = $1")
                .bind(to)
                .fetch_one(&app.db.pool)
                .await
                .unwrap();
            let staff = if rng.random_bool(0.1) && !wrong { &w.staff[1] } else { pick_for(to_id) };
            let req = cases::TransferRequest {
                student_no: Some(no),
                name: Some(nm),
                student: None,
                to_school: Some(to.into()),
                to_class: Some(1),
                to_grade: None,
                external: None,
                reason: "家庭迁居".into(),
                guardian_name: "家长".into(),
                guardian_phone: String::new(),
                apply_date: None,
                proofs: maybe_proof,
                override_reason: if staff.is_bureau() && rng.random_bool(0.5) { Some("特批".into()) } else { None },
            };
            cases::open_transfer(app, staff, &req).await.is_ok()
        }
        4..=9 => match &open_case {
            None => false,
            Some(c) => {
                let case = cases::by_public_id(&app.db.pool, c).await.unwrap().unwrap();
                let stage = case.stage.map(|s| s.code().to_owned()).unwrap_or_default();
                let staff = match case.stage {
                    _ if wrong => anyone,
                    Some(s) if s.is_bureau() => &w.staff[rng.random_range(0..2)],
                    Some(cases::Stage::ReceivingSchool) => w.registrar(case.to_school_id.unwrap_or_default()),
                    _ => w.registrar(case.school_id),
                };
                if rng.random_bool(0.3) && cases::proofs_of(&app.db.pool, case.id).await.unwrap().is_empty() {
                    cases::add_proof(app, staff, &case, &w.proofs[sid], "证明").await.is_ok()
                } else {
                    let d = cases::Decision {
                        stage,
                        decision: if rng.random_bool(0.9) { "approve".into() } else { "refuse".into() },
                        opinion: if rng.random_bool(0.8) { "同意".into() } else { String::new() },
                        signer: None,
                    };
                    cases::decide(app, staff, c, &d).await.is_ok()
                }
            }
        },
        10 => match &open_case {
            None => false,
            Some(c) => cases::withdraw(app, staff, c, "监护人撤回").await.is_ok(),
        },
        11 | 12 => {
            let status: String = sqlx::query_scalar("SELECT status FROM students WHERE id = $1")
                .bind(id)
                .fetch_one(&app.db.pool)
                .await
                .unwrap();
            // Mostly the application that fits the status, sometimes any.
            let kind = match status.as_str() {
                _ if rng.random_bool(0.2) => {
                    [CaseKind::Suspension, CaseKind::Renewal, CaseKind::Resumption][rng.random_range(0..3)]
                }
                "suspended" if rng.random_bool(0.5) => CaseKind::Renewal,
                "suspended" => CaseKind::Resumption,
                _ => CaseKind::Suspension,
            };
            let req = cases::SuspensionRequest {
                reason: "因病".into(),
                start_date: None,
                resume_grade: Some(if rng.random_bool(0.5) { "same".into() } else { "next".into() }),
                class_number: Some(1),
                guardian_name: "家长".into(),
                guardian_phone: String::new(),
                proofs: maybe_proof,
                override_reason: None,
            };
            cases::open_suspension(app, staff, sid, kind, &req).await.is_ok()
        }
        13 => {
            let req = cases::AbroadRequest {
                departure_date: date(today, 0),
                country: "新加坡".into(),
                reason: String::new(),
                guardian_name: "家长".into(),
                guardian_phone: String::new(),
                proofs: maybe_proof,
            };
            cases::open_abroad(app, staff, sid, &req).await.is_ok()
        }
        14 => {
            let mut changes = serde_json::Map::new();
            changes.insert("current_address".into(), json!(format!("新地址{}", rng.random_range(0..1000))));
            let req = cases::InfoChangeRequest {
                changes,
                reason: String::new(),
                guardian_name: "家长".into(),
                proofs: maybe_proof,
            };
            cases::open_info_change(app, staff, sid, &req).await.is_ok()
        }
        15 => {
            let r = direct::DropoutReport { absent_since: date(today, rng.random_range(0..60)), note: String::new() };
            if rng.random_bool(0.5) {
                direct::suspect_dropout(app, staff, sid, &r).await.is_ok()
            } else {
                direct::report_dropout(app, staff, sid, &r).await.is_ok()
            }
        }
        16 => {
            let r =
                direct::Return { returned_on: date(today, 0), grade: None, class_number: Some(1), note: String::new() };
            direct::record_return(app, staff, sid, &r).await.is_ok()
        }
        17 if rng.random_bool(0.3) => {
            let m = direct::Missing {
                since: date(today, 3),
                kind: "missing".into(),
                proofs: Vec::new(),
                note: String::new(),
            };
            direct::report_missing(app, staff, sid, &m).await.is_ok()
        }
        18 => {
            if rng.random_bool(0.2) {
                let d = direct::Death {
                    died_on: date(today, rng.random_range(0..30)),
                    proofs: if rng.random_bool(0.8) { vec![w.proofs[sid].clone()] } else { Vec::new() },
                    note: String::new(),
                };
                direct::record_death(app, staff, sid, &d).await.is_ok()
            } else {
                false
            }
        }
        17 => false,
        _ => {
            let r = direct::RecallRequest {
                return_by: None,
                contact_person: "王老师".into(),
                contact_phone: "0431-0000000".into(),
            };
            direct::issue_recall(app, staff, sid, &r).await.is_ok()
        }
    };
    (name, ok)
}

#[tokio::test]
async fn random_workflows_never_break_the_rules_and_every_change_has_its_event() {
    let cases: u64 = std::env::var("XUEJI_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(8);
    let mut succeeded: u64 = 0;
    let mut refused: u64 = 0;
    let mut completed_transfers = 0;
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..cases {
        let t = spawn_app().await;
        let app = &t.app;
        let world = setup(app).await;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);

        for step in 0..100 {
            let before = snapshot(app).await;
            let cases_before = table_count(app, "cases").await;
            let steps_before = table_count(app, "case_steps").await;
            let (what, ok) = act(app, &world, &mut rng).await;
            check(app, seed, step, &what, !ok, &before).await;
            if ok {
                seen.extend(snapshot(app).await.into_values().map(|s| s.status));
                succeeded += 1;
            } else {
                refused += 1;
                // A refusal writes no case and no decision either (proof filing aside, which is no refusal).
                assert_eq!(table_count(app, "cases").await, cases_before, "seed {seed}, step {step} ({what})");
                assert_eq!(table_count(app, "case_steps").await, steps_before, "seed {seed}, step {step} ({what})");
            }
        }
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cases WHERE kind = 'transfer' AND state = 'completed'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        completed_transfers += n;
        let statuses: Vec<(String, i64)> = sqlx::query_as("SELECT status, COUNT(*) FROM students GROUP BY status")
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
        eprintln!("seed {seed}: {statuses:?}, completed transfers {n}");
    }
    eprintln!("property walk: {succeeded} actions succeeded, {refused} refused");
    assert!(completed_transfers > 0, "no transfer completed in the walk");
    for status in
        ["active", "suspended", "transfer_pending", "suspected_dropout", "dropout", "abroad", "missing", "deceased"]
    {
        assert!(seen.contains(status), "the walk never reached {status}: {seen:?}");
    }
    // The walk must exercise both sides, or it shows nothing.
    assert!(succeeded > 10 * cases, "only {succeeded} actions succeeded");
    assert!(refused > 20, "only {refused} actions were refused");
}
