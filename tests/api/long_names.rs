//! Long names fit: the longest names of the sample county, a 16-character
//! minority name with the middle dot (from `src/demo/minority_names.txt`)
//! and a 4-character Han name (compound surname), print on one line on every
//! one of the ten documents, read back with `pdftotext -layout`. The pupils
//! come in through the roster import and the documents through the
//! workflows that issue them (suspension and transfer cases, a recall, the
//! bureau's certificate numbering, a lost certificate's proof).

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use xueji::roster::Row;

/// A pupil's family as the sample county writes it.
struct Family {
    ethnicity: String,
    male: bool,
    name: String,
    father: String,
    mother: String,
}

/// The longest student name of `minority_names.txt`, with its family.
fn longest_minority() -> Family {
    include_str!("../../src/demo/minority_names.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Family {
                ethnicity: f[0].into(),
                male: f[1] == "男",
                name: f[2].into(),
                father: f[3].into(),
                mother: f[4].into(),
            }
        })
        .max_by_key(|f| f.name.chars().count())
        .expect("minority names")
}

/// The longest Han names of the sample county: the one compound surname (欧阳) and two characters.
fn longest_han() -> Family {
    Family {
        ethnicity: "汉族".into(),
        male: false,
        name: "欧阳梓萱".into(),
        father: "欧阳建国".into(),
        mother: "司马春燕".into(),
    }
}

/// A roster row for a pupil of the family in `grade`, born on `birth`, with both parents.
fn row_for(f: &Family, birth: (i32, u32, u32), seq: u16, grade: u8) -> Row {
    // An odd sequence number is a boy's.
    let seq = seq * 2 + u16::from(f.male);
    let mut row = pupil(&f.name, birth, seq, grade);
    row.ethnicity = f.ethnicity.clone();
    row.guardian1_name = f.father.clone();
    row.guardian1_relation = "父亲".into();
    row.guardian2_name = f.mother.clone();
    row.guardian2_relation = "母亲".into();
    row.guardian2_phone = format!("139{:08}", u32::from(seq) * 6007 % 100_000_000);
    row
}

/// The bytes of a PDF answered with 200.
async fn pdf(res: reqwest::Response) -> Vec<u8> {
    let path = res.url().path().to_owned();
    let status = res.status();
    let bytes = res.bytes().await.unwrap().to_vec();
    assert_eq!(status, StatusCode::OK, "GET {path}: {}", String::from_utf8_lossy(&bytes));
    assert!(bytes.starts_with(b"%PDF-"), "GET {path}");
    bytes
}

/// The public id of the student with this ID number.
async fn by_id_number(app: &TestApp, id_number: &str) -> (String, String) {
    sqlx::query_as("SELECT public_id, student_no FROM students WHERE id_number = $1")
        .bind(id_number)
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
}

async fn certificate_number(app: &TestApp, public_id: &str, kind: &str) -> String {
    sqlx::query_scalar(
        "SELECT d.number FROM documents d JOIN students s ON s.id = d.student_id
         WHERE s.public_id = $1 AND d.kind = $2 AND d.status = 'valid'",
    )
    .bind(public_id)
    .bind(kind)
    .fetch_one(&app.db().pool)
    .await
    .unwrap()
}

/// The four pupils a family's ten documents are printed for: (first grader
/// in the county town, first grader at a township school to transfer, first
/// grader to recall, ninth grader to graduate).
struct Pupils {
    town: String,
    township_no: String,
    absent: String,
    graduate: String,
}

async fn enrol(app: &TestApp, f: &Family, k: u16) -> Pupils {
    let rows = [
        (TOWN, row_for(f, (2020, 3, 2 + u32::from(k)), 300 + k, 1)),
        (CENTRAL, row_for(f, (2020, 4, 2 + u32::from(k)), 310 + k, 1)),
        (TOWN, row_for(f, (2020, 5, 2 + u32::from(k)), 320 + k, 1)),
        (JUNIOR, row_for(f, (2011, 10, 2 + u32::from(k)), 330 + k, 9)),
    ];
    let mut ids = Vec::new();
    for (school, row) in rows {
        let id_number = row.id_number.clone();
        let report = import_rows(app.db(), school, vec![row]).await;
        assert!(report.committed, "{} imported: {:?}", f.name, report.errors);
        ids.push(by_id_number(app, &id_number).await);
    }
    Pupils {
        town: ids[0].0.clone(),
        township_no: ids[1].1.clone(),
        absent: ids[2].0.clone(),
        graduate: ids[3].0.clone(),
    }
}

/// Asserts that the document prints `name` and that every time it does, the
/// name stands whole on one line: as many whole names in the lines of the
/// layout text as in the text read without line breaks.
fn on_one_line(kind: &str, pdf: &[u8], name: &str) {
    let text = pdftotext_layout(pdf);
    let printed = pdftotext(pdf).matches(name).count();
    let whole: usize = text.lines().map(|l| l.matches(name).count()).sum();
    assert!(printed >= 1, "{kind}: “{name}” is not printed:\n{text}");
    assert_eq!(whole, printed, "{kind}: “{name}” is broken over lines:\n{text}");
}

#[tokio::test]
async fn the_longest_names_print_on_one_line_on_every_document() {
    let mut app = spawn_app().await;
    let families = [longest_minority(), longest_han()];
    assert_eq!(families[0].name.chars().count(), 16, "{}", families[0].name);
    assert!(families[0].name.contains('·'));
    let mut pupils = Vec::new();
    for (k, f) in families.iter().enumerate() {
        pupils.push(enrol(&app, f, k as u16).await);
    }
    // The ten documents of each family, with the guardians' names where they print.
    let mut printed: Vec<(usize, &str, Vec<u8>)> = Vec::new();

    app.login(&format!("r{TOWN}")).await;
    for (i, (f, p)) in families.iter().zip(&pupils).enumerate() {
        for kind in ["admission_notice", "basic_info", "registration", "record_card"] {
            printed.push((i, kind, pdf(app.document(&p.town, kind).await).await));
        }
        let body = json!({"reason": "因病住院治疗", "guardian_name": f.father, "guardian_phone": "13904310001"});
        let case = app.apply_suspension(&p.town, &body).await.json_with(StatusCode::CREATED).await;
        let form = pdf(app.case_form(case["id"].as_str().unwrap()).await).await;
        printed.push((i, "suspension_application", form));
        let body = json!({
            "student_no": p.township_no, "name": f.name, "to_class": 1,
            "reason": "家庭迁居，户籍已迁入县城", "guardian_name": f.father, "guardian_phone": "13904310001",
        });
        let case = app.open_transfer(&body).await.json_with(StatusCode::CREATED).await;
        let form = pdf(app.case_form(case["id"].as_str().unwrap()).await).await;
        printed.push((i, "transfer_application", form));
        let body = json!({"absent_since": "2026-11-20"});
        app.suspect_dropout(&p.absent, &body).await.json_with(StatusCode::OK).await;
        let body = json!({"return_by": "2026-12-15", "contact_person": "周老师", "contact_phone": "043185551234"});
        app.issue_recall(&p.absent, &body).await.json_with(StatusCode::CREATED).await;
        let notice = pdf(app.document(&p.absent, "recall_notice").await).await;
        printed.push((i, "recall_notice", notice));
    }

    // The ninth graders graduate; the bureau numbers their certificates and
    // replaces a lost one with a proof.
    for p in &pupils {
        graduate_where(app.db(), "public_id", &p.graduate).await;
    }
    app.login("bureau").await;
    for kind in ["graduation_certificate", "compulsory_certificate"] {
        let answer =
            app.issue_certificates(&json!({"school": JUNIOR, "kind": kind})).await.json_with(StatusCode::OK).await;
        assert_eq!(answer["issued"].as_array().unwrap().len(), 2, "{kind}: {answer}");
    }
    for (i, p) in pupils.iter().enumerate() {
        for kind in ["graduation_certificate", "compulsory_certificate"] {
            printed.push((i, kind, pdf(app.document(&p.graduate, kind).await).await));
        }
        let number = certificate_number(&app, &p.graduate, "graduation_certificate").await;
        app.hand_over_certificate(&number, "家长").await.json_with(StatusCode::OK).await;
        app.report_certificate_lost(&number, &json!({"reason": "遗失"})).await.json_with(StatusCode::OK).await;
        let proof = pdf(app.document(&p.graduate, "academic_proof").await).await;
        printed.push((i, "academic_proof", proof));
    }

    assert_eq!(printed.len(), 20, "ten documents for each name");
    for (i, kind, bytes) in &printed {
        let f = &families[*i];
        let pages = pdftotext_layout(bytes).matches('\u{c}').count();
        assert_eq!(pages, 1, "{kind} of {}: one page", f.name);
        on_one_line(kind, bytes, &f.name);
        // The guardians' names, where the document prints them.
        let guardians: &[&str] = match *kind {
            "basic_info" | "registration" | "record_card" => &[&f.father, &f.mother],
            "suspension_application" | "transfer_application" | "recall_notice" => &[&f.father],
            _ => &[],
        };
        for g in guardians {
            on_one_line(kind, bytes, g);
        }
    }

    // The documents of the longest name, to look at: the PDFs, and the
    // registration form as a 100 dpi picture.
    let dir = artefacts_dir();
    for (_, kind, bytes) in printed.iter().filter(|(i, _, _)| *i == 0) {
        std::fs::write(dir.join(format!("long-name-{kind}.pdf")), bytes).unwrap();
    }
    let path = dir.join("long-name-registration.pdf");
    let status = std::process::Command::new("pdftoppm")
        .args(["-r", "100", "-png", "-singlefile"])
        .arg(&path)
        .arg(dir.join("long-name-registration"))
        .status()
        .expect("pdftoppm (poppler-utils) installed");
    assert!(status.success());
}
