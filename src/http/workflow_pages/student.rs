//! The forms of the student page's "学籍异动" section.

use super::*;

// ---- the student page's "学籍异动" section ----

/// The section of a student's page with the status workflows: which actions
/// the signed-in staff member may start for this student (decided by the
/// status machine, [`transitions::apply`]), the student's applications and
/// recall notices, and the scans of the dossier that can serve as proof.
pub async fn student_section(
    app: &Web,
    staff: &Staff,
    student: &Student,
    school: &School,
) -> Result<minijinja::Value, AppError> {
    use Action as A;
    let bureau = staff.user.role.is_bureau();
    let plain = workflow::facts(student, school, false);
    let special = workflow::facts(student, school, true);
    let may = |a: Action| transitions::apply(student.status, a, plain).is_ok();
    // Refused in principle, possible only with the bureau's recorded reason.
    let by_override = |a: Action| !may(a) && transitions::apply(student.status, a, special).is_ok();
    let list = cases::list(app, &staff.actor, false, Some(student.id)).await?;
    let open_case = list.iter().find(|c| c.state == "open");
    let mut actions: Vec<&str> = Vec::new();
    let mut notes: Vec<&str> = Vec::new();
    if bureau {
        if open_case.is_none() {
            if by_override(A::Suspend) {
                actions.push("suspension");
            }
            if by_override(A::StartTransfer) {
                actions.push("transfer_out");
            }
        }
    } else {
        if open_case.is_none() {
            for (action, code) in [
                (A::Suspend, "suspension"),
                (A::RenewSuspension, "renewal"),
                (A::Resume, "resumption"),
                (A::GoAbroad, "abroad"),
                (A::ChangeInfo, "info_change"),
                (A::StartTransfer, "transfer_out"),
            ] {
                if may(action) {
                    actions.push(code);
                }
            }
        }
        if may(A::SuspectDropout) {
            actions.push("suspected");
        }
        if may(A::MarkDropout) {
            actions.push("dropout");
        }
        // A recall notice goes to a student who may come back to school.
        if may(A::ReturnToSchool) {
            actions.push("recall");
        }
        if may(A::ReturnToSchool) || may(A::ReturnFound) || may(A::ReturnFromAbroad) {
            actions.push("return");
        }
        if may(A::ReportMissing) {
            actions.push("missing");
        }
        if may(A::Decease) && open_case.is_none() {
            actions.push("death");
        }
        if by_override(A::Suspend) {
            notes.push("毕业年级学生一般不准休学（第二十二条），确需休学的须由教育局记录理由后办理。");
        }
        if by_override(A::StartTransfer) {
            notes.push("毕业年级学生原则上不准转学（第二十条），确需转学的须由教育局记录理由后办理。");
        }
    }
    let recalls = direct::recalls_of(app, student.id).await?;
    // The scans that can be named as proof (the form's select).
    let mut entries = Vec::new();
    if !actions.is_empty() {
        let r = StudentRef { id: student.id, public_id: student.public_id.clone(), school_id: student.school_id };
        match dossier::view(&app.db, &app.archive, &r, None).await {
            Ok(v) => {
                staff
                    .audit(
                        app,
                        "archive.view",
                        ("student", &student.public_id),
                        Some(student.school_id),
                        "ok",
                        &format!("version={} entries={} for=workflow", v.version, v.entries.len()),
                    )
                    .await?;
                entries = v
                    .entries
                    .into_iter()
                    .map(|e| {
                        let name = if e.original_name.is_empty() { String::new() } else { format!("：{}", e.original_name) };
                        context! { digest => e.digest, kind => e.kind, label => format!("{}{name}（{}）", e.kind_label, e.added_at) }
                    })
                    .collect();
            }
            Err(e) => {
                e.log();
            }
        }
    }
    let case_rows: Vec<_> = list
        .iter()
        .map(|c| {
            context! {
                id => c.public_id.clone(), kind => c.kind.label(), state => c.state.clone(),
                state_label => cases::state_label(&c.state), stage => c.stage.map(Stage::label),
                stage_due => c.stage_due.clone(), opened_on => c.opened_on.clone(), closed_on => c.closed_on.clone(),
            }
        })
        .collect();
    let (since, until) = workflow::status_dates(&app.db.pool, student.id).await?;
    let classes = schools::classes_of(&app.db.pool, school.id).await?;
    let class_list = |grade: i64| -> Vec<minijinja::Value> {
        classes
            .iter()
            .filter(|c| c.grade == grade)
            .map(|c| context! { number => c.number, name => c.name(), enrolled => c.enrolled, cap => c.cap })
            .collect()
    };
    let record = serde_json::to_value(student).map_err(|e| AppError::Internal(e.into()))?;
    let changeable: Vec<_> = cases::CHANGEABLE
        .iter()
        .map(|(code, label)| {
            let current = match (*code, record.get(*code)) {
                ("gender", _) => student.gender.label().to_owned(),
                (_, Some(Value::String(s))) => s.clone(),
                _ => String::new(),
            };
            context! { code => *code, label => *label, current => current }
        })
        .collect();
    let guardian = student.guardians.first();
    let return_kind = match student.status {
        StudentStatus::Abroad => "abroad",
        StudentStatus::Missing => "missing",
        _ => "dropout",
    };
    let grades: Vec<(i64, String)> =
        school.kind.grades().map(|g| (i64::from(g), schools::grade_name(i64::from(g)))).collect();
    Ok(context! {
        bureau => bureau,
        actions => actions,
        notes => notes,
        open_case => open_case.map(|c| context! { id => c.public_id.clone(), kind => c.kind.label() }),
        cases => case_rows,
        recalls => recalls,
        entries => entries,
        since => since,
        until => until,
        today => app.today().to_string(),
        guardian_name => guardian.map(|g| g.name.clone()),
        guardian_phone => guardian.map(|g| g.phone.clone()),
        same_grade_classes => class_list(i64::from(student.grade)),
        next_grade_classes => class_list(i64::from(student.grade) + 1),
        has_next_grade => student.grade.number() < school.kind.graduating_grade(),
        grades => grades,
        changeable => changeable,
        return_kind => return_kind,
    })
}

/// What a student-page form led to.
pub(super) enum Done {
    /// An application was opened: on to its page, to add the proofs.
    Case(String),
    /// A record was changed: back to the student's page with this message.
    Student(String, &'static str),
    /// A document to print (the recall notice).
    Pdf(Response),
}

/// The dossier scans named in a form, with their kinds as labels.
pub(super) async fn proof_refs(
    app: &Web,
    public_id: &str,
    digests: Vec<String>,
) -> Result<Vec<cases::ProofRef>, AppError> {
    if digests.is_empty() {
        return Ok(Vec::new());
    }
    let mut labels = BTreeMap::new();
    if let Some(r) = dossier::student_by_public_id(&app.db, public_id).await?
        && let Ok(view) = dossier::view(&app.db, &app.archive, &r, None).await
    {
        for e in view.entries {
            labels.insert(e.digest, e.kind_label.to_owned());
        }
    }
    Ok(digests
        .into_iter()
        .map(|d| {
            let label = labels.get(&d).cloned().unwrap_or_default();
            cases::ProofRef { digest: d, label }
        })
        .collect())
}

pub(super) fn suspension_request(
    f: &Fields,
    proofs: Vec<cases::ProofRef>,
    staff: &Staff,
) -> Result<cases::SuspensionRequest, AppError> {
    Ok(cases::SuspensionRequest {
        reason: f.one("reason").to_owned(),
        start_date: f.opt("start_date"),
        resume_grade: f.opt("resume_grade"),
        class_number: f.number("class_number", "班号")?,
        guardian_name: f.one("guardian_name").to_owned(),
        guardian_phone: f.one("guardian_phone").to_owned(),
        proofs,
        override_reason: if staff.user.role.is_bureau() { f.opt("override_reason") } else { None },
    })
}

pub(super) async fn run_student_action(
    app: &Web,
    staff: &Staff,
    id: &str,
    action: &str,
    f: &Fields,
) -> Result<Done, AppError> {
    match action {
        "suspension" | "renewal" | "resumption" => {
            let kind = match action {
                "suspension" => CaseKind::Suspension,
                "renewal" => CaseKind::Renewal,
                _ => CaseKind::Resumption,
            };
            let result = async {
                let req = suspension_request(f, proof_refs(app, id, f.many("proof")).await?, staff)?;
                cases::open_suspension(app, &staff.actor, id, kind, &req).await
            }
            .await;
            let case = result?;
            Ok(Done::Case(case.public_id))
        }
        "abroad" => {
            let result = async {
                let req = cases::AbroadRequest {
                    departure_date: f.one("departure_date").to_owned(),
                    country: f.one("country").to_owned(),
                    reason: f.one("reason").to_owned(),
                    guardian_name: f.one("guardian_name").to_owned(),
                    guardian_phone: f.one("guardian_phone").to_owned(),
                    proofs: proof_refs(app, id, f.many("proof")).await?,
                };
                cases::open_abroad(app, &staff.actor, id, &req).await
            }
            .await;
            let case = result?;
            Ok(Done::Case(case.public_id))
        }
        "info_change" => {
            let result = async {
                let mut changes = serde_json::Map::new();
                for (code, _) in cases::CHANGEABLE {
                    if let Some(v) = f.opt(&format!("change_{code}")) {
                        changes.insert(code.to_owned(), Value::String(v));
                    }
                }
                let req = cases::InfoChangeRequest {
                    changes,
                    reason: f.one("reason").to_owned(),
                    guardian_name: f.one("guardian_name").to_owned(),
                    proofs: proof_refs(app, id, f.many("proof")).await?,
                };
                cases::open_info_change(app, &staff.actor, id, &req).await
            }
            .await;
            let case = result?;
            Ok(Done::Case(case.public_id))
        }
        "transfer_out" => {
            let result = async {
                let approval = |stage: &str| cases::ManualStep {
                    stage: stage.to_owned(),
                    decision: "approve".to_owned(),
                    opinion: f.one(&format!("{stage}_opinion")).to_owned(),
                    signer: f.one(&format!("{stage}_signer")).to_owned(),
                    date: f.one(&format!("{stage}_date")).to_owned(),
                    proof: f.one(&format!("{stage}_proof")).to_owned(),
                };
                let req = cases::TransferRequest {
                    student_no: None,
                    name: None,
                    student: Some(id.to_owned()),
                    to_school: None,
                    to_class: None,
                    to_grade: None,
                    external: Some(cases::External {
                        province: f.one("province").to_owned(),
                        county: f.one("county").to_owned(),
                        school: f.one("school").to_owned(),
                        approvals: vec![approval("receiving_school"), approval("receiving_bureau")],
                    }),
                    reason: f.one("reason").to_owned(),
                    guardian_name: f.one("guardian_name").to_owned(),
                    guardian_phone: f.one("guardian_phone").to_owned(),
                    apply_date: f.opt("apply_date"),
                    proofs: proof_refs(app, id, f.many("proof")).await?,
                    override_reason: if staff.user.role.is_bureau() { f.opt("override_reason") } else { None },
                };
                cases::open_transfer(app, &staff.actor, &req).await
            }
            .await;
            let case = result?;
            Ok(Done::Case(case.public_id))
        }
        "suspected" | "dropout" => {
            let report = direct::DropoutReport {
                absent_since: f.one("absent_since").to_owned(),
                note: f.one("note").to_owned(),
            };
            let (result, code) = if action == "suspected" {
                (direct::suspect_dropout(app, &staff.actor, id, &report).await, "suspected")
            } else {
                (direct::report_dropout(app, &staff.actor, id, &report).await, "dropout")
            };
            result?;
            Ok(Done::Student(id.to_owned(), code))
        }
        "recall" => {
            let req = direct::RecallRequest {
                return_by: f.opt("return_by"),
                contact_person: f.one("contact_person").to_owned(),
                contact_phone: f.one("contact_phone").to_owned(),
            };
            let result = direct::issue_recall(app, &staff.actor, id, &req).await;
            let (_, issued) = result?;
            Ok(Done::Pdf(pdf_response(issued)))
        }
        "delivery" => {
            let d = direct::Delivery {
                delivered_on: f.one("delivered_on").to_owned(),
                delivered_to: f.one("delivered_to").to_owned(),
                method: f.one("method").to_owned(),
            };
            let result = direct::record_delivery(app, &staff.actor, f.one("number"), &d).await;
            let recall = result?;
            Ok(Done::Student(recall.student, "delivered"))
        }
        "return" => {
            let result = async {
                let r = direct::Return {
                    returned_on: f.one("returned_on").to_owned(),
                    grade: f.number("grade", "年级")?,
                    class_number: f.number("class_number", "班号")?,
                    note: f.one("note").to_owned(),
                };
                direct::record_return(app, &staff.actor, id, &r).await
            }
            .await;
            result?;
            Ok(Done::Student(id.to_owned(), "returned"))
        }
        "missing" => {
            let m = direct::Missing {
                since: f.one("since").to_owned(),
                kind: f.one("kind").to_owned(),
                proofs: f.many("proof"),
                note: f.one("note").to_owned(),
            };
            let result = direct::report_missing(app, &staff.actor, id, &m).await;
            result?;
            Ok(Done::Student(id.to_owned(), "missing"))
        }
        "death" => {
            let d = direct::Death {
                died_on: f.one("died_on").to_owned(),
                proofs: f.many("proof"),
                note: f.one("note").to_owned(),
            };
            let result = direct::record_death(app, &staff.actor, id, &d).await;
            let recorded = result?;
            Ok(Done::Student(id.to_owned(), if recorded.late { "deceased_late" } else { "deceased" }))
        }
        _ => Err(AppError::NotFound),
    }
}

pub(super) async fn student_action(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path((id, action)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(pairs);
    staff.check_csrf(f.one("csrf"))?;
    match run_student_action(&app, &staff, &id, &action, &f).await {
        Ok(Done::Case(case)) => Ok(see_other(&format!("/cases/{case}?ok=opened"))),
        Ok(Done::Student(student, code)) => Ok(see_other(&format!("/students/{student}?ok={code}"))),
        Ok(Done::Pdf(pdf)) => Ok(pdf),
        Err(e) if shown_inline(&e) => {
            let status = e.status();
            let notice = Notice::refused(e.to_string(), &action, &f);
            crate::http::students::render_student(&app, &staff, &id, notice, status).await
        }
        Err(e) => Err(e.into()),
    }
}
