//! The to-do list (`/cases`) and one application (`/cases/{case}`) with its forms.

use super::*;

// ---- /cases ----

pub(super) async fn views(app: &Web, staff: &Staff, list: &[Case]) -> Result<Vec<cases::CaseView>, AppError> {
    let mut out = Vec::with_capacity(list.len());
    for c in list {
        out.push(cases::view(app, &staff.actor, c).await?);
    }
    Ok(out)
}

pub(super) async fn cases_page(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Query(q): Query<CasesQuery>,
) -> Result<Response, PageError> {
    let view = ListView::of(&q)?;
    render_cases_as(&app, &staff, Notice::ok(q.ok.as_deref()), StatusCode::OK, &view).await
}

/// `?ok=…` after an action; `?kind=` one kind of application;
/// `?sort=due|opened|school` (default: the nearest deadline first).
#[derive(Debug, Default, serde::Deserialize)]
pub struct CasesQuery {
    #[serde(default)]
    ok: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    sort: Option<String>,
}

/// How the lists are cut and ordered.
#[derive(Debug, Default)]
pub(super) struct ListView {
    kind: Option<CaseKind>,
    sort: &'static str,
}

impl ListView {
    fn of(q: &CasesQuery) -> Result<Self, AppError> {
        let kind = match q.kind.as_deref().filter(|k| !k.is_empty()) {
            Some(k) => Some(CaseKind::parse(k)?),
            None => None,
        };
        let sort = match q.sort.as_deref().unwrap_or("due") {
            "due" | "" => "due",
            "opened" => "opened",
            "school" => "school",
            other => {
                return Err(AppError::bad_request(
                    "case.sort_unknown",
                    format!("不能按“{other}”排序：可按期限、提出日期或学校"),
                ));
            }
        };
        Ok(Self { kind, sort })
    }

    /// The cases of the chosen kind, in the chosen order.
    fn apply(&self, mut list: Vec<Case>) -> Vec<Case> {
        list.retain(|c| self.kind.is_none_or(|k| c.kind == k));
        match self.sort {
            "opened" => list.sort_by(|a, b| b.opened_on.cmp(&a.opened_on)),
            "school" => list.sort_by_key(|c| (c.school_id, c.stage_due.clone())),
            // No deadline (a closed case) last.
            _ => list.sort_by_key(|c| (c.stage_due.is_none(), c.stage_due.clone())),
        }
        list
    }
}

pub(super) async fn render_cases(
    app: &Web,
    staff: &Staff,
    notice: Notice,
    status: StatusCode,
) -> Result<Response, PageError> {
    render_cases_as(app, staff, notice, status, &ListView { kind: None, sort: "due" }).await
}

async fn render_cases_as(
    app: &Web,
    staff: &Staff,
    notice: Notice,
    status: StatusCode,
    view: &ListView,
) -> Result<Response, PageError> {
    let bureau = staff.user.role.is_bureau();
    let open = view.apply(cases::list(app, &staff.actor, true, None).await?);
    let (mine, others): (Vec<Case>, Vec<Case>) = open.into_iter().partition(|c| cases::my_turn(&staff.actor, c));
    // Registrars: the last closed ones too (a completed transfer's dossier is handed over after it).
    let closed: Vec<Case> = if bureau {
        Vec::new()
    } else {
        cases::list(app, &staff.actor, false, None)
            .await?
            .into_iter()
            .filter(|c| c.state != "open" && view.kind.is_none_or(|k| c.kind == k))
            .take(RECENT_CLOSED)
            .collect()
    };
    let (mine, others, closed) =
        (views(app, staff, &mine).await?, views(app, staff, &others).await?, views(app, staff, &closed).await?);
    staff
        .audit(
            app,
            "case.list",
            ("case", "*"),
            None,
            "ok",
            &format!("shown={}", mine.len() + others.len() + closed.len()),
        )
        .await?;
    // Registrars: their schools' reminders here; the bureau has the county list on /overdue.
    let reminders = if bureau {
        Vec::new()
    } else {
        let items = overdue::list(app, staff.actor.scope.as_deref()).await?;
        staff.audit(app, "overdue.list", ("overdue", "*"), None, "ok", &format!("shown={}", items.len())).await?;
        items
    };
    let junior_schools: Vec<School> = if bureau {
        Vec::new()
    } else {
        scope_schools(app, staff).await?.into_iter().filter(|s| s.kind == crate::domain::SchoolKind::Junior).collect()
    };
    let mut intake_classes = Vec::new();
    for s in &junior_schools {
        for c in schools::classes_of(&app.db.pool, s.id).await?.into_iter().filter(|c| c.grade == 7) {
            intake_classes.push(context! { school => s.code.clone(), number => c.number, name => c.name(),
            enrolled => c.enrolled, cap => c.cap });
        }
    }
    let html = render(
        app,
        "cases.html",
        Some(staff),
        context! {
            mine => mine, others => others, closed => closed, reminders => reminders,
            kinds => CaseKind::ALL.iter().map(|k| (k.code(), k.label())).collect::<Vec<_>>(),
            kind => view.kind.map(CaseKind::code), sort => view.sort,
            junior_schools => junior_schools, intake_classes => intake_classes,
            error => notice.error, message => notice.message, form => notice.form, prev => notice.values,
        },
    )?;
    Ok((status, html).into_response())
}

pub(super) async fn intake_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(pairs);
    staff.check_csrf(f.one("csrf"))?;
    let result = async {
        let class_number = f
            .number("class_number", "七年级班号")?
            .ok_or_else(|| AppError::bad_request("intake.class_required", "请选择编入的七年级班级"))?;
        let req = yearly::IntakeRequest {
            student_no: f.one("student_no").to_owned(),
            name: f.one("name").to_owned(),
            class_number,
            school: f.opt("school"),
        };
        yearly::junior_intake(&app, &staff.actor, &req).await
    }
    .await;
    match result {
        Ok(id) => Ok(see_other(&format!("/students/{id}?ok=intake"))),
        Err(e) if shown_inline(&e) => {
            let status = e.status();
            render_cases(&app, &staff, Notice::refused(e.to_string(), "intake", &f), status).await
        }
        Err(e) => Err(e.into()),
    }
}

// ---- /cases/{case} ----

/// The details of a case as labelled lines.
pub(super) fn detail_rows(case: &Case) -> Vec<(String, String)> {
    let d = &case.detail;
    let text = |k: &str| match d.get(k) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let mut rows = Vec::new();
    if d.get("external") == Some(&Value::Bool(true)) {
        rows.push(("转学去向".to_owned(), "转往本系统外学校".to_owned()));
    }
    for (key, label) in [
        ("from_school", "转出学校"),
        ("to_province", "转入省份"),
        ("to_county", "转入县区"),
        ("to_school", "转入学校"),
        ("to_class", "转入班级"),
        ("country", "前往国家或地区"),
        ("departure_date", "出境日期"),
        ("start_date", "开始日期"),
        ("end_date", "截止日期"),
        ("resume_class", "复学班级"),
        ("reason", "申请原因"),
        ("guardian_name", "申请监护人"),
        ("guardian_phone", "监护人电话"),
        ("apply_date", "申请日期"),
    ] {
        if let Some(v) = text(key) {
            rows.push((label.to_owned(), v));
        }
    }
    if let Some(g) = d.get("resume_grade").and_then(Value::as_i64) {
        rows.push(("复学年级".to_owned(), schools::grade_name(g)));
    }
    if let Some(changes) = d.get("changes").and_then(Value::as_object) {
        for v in changes.values() {
            let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            let old = if s("old").is_empty() { "（空）".to_owned() } else { s("old") };
            rows.push((format!("变更：{}", s("label")), format!("{old} → {}", s("new"))));
        }
    }
    rows
}

pub(super) fn default_paper_kind(kind: CaseKind) -> &'static str {
    match kind {
        CaseKind::Transfer | CaseKind::Abroad => PaperKind::TransferProof.code(),
        CaseKind::Suspension | CaseKind::Renewal | CaseKind::Resumption => PaperKind::Diagnosis.code(),
        CaseKind::InfoChange => PaperKind::HouseholdRegister.code(),
    }
}

pub(super) async fn case_page(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<OkQuery>,
) -> Result<Response, PageError> {
    render_case(&app, &staff, &id, Notice::ok(q.ok.as_deref()), StatusCode::OK).await
}

pub(super) async fn render_case(
    app: &Web,
    staff: &Staff,
    id: &str,
    notice: Notice,
    status: StatusCode,
) -> Result<Response, PageError> {
    let case = match cases::visible(app, &staff.actor, id).await {
        Ok(c) => c,
        Err(e) => {
            staff.audit(app, "case.view", ("case", id), None, "not_found", "").await?;
            return Err(e.into());
        }
    };
    staff.audit(app, "case.view", ("case", id), Some(case.school_id), "ok", "").await?;
    let view = cases::view(app, &staff.actor, &case).await?;
    // The student's record and scans only for those who may see the student now.
    let located = students::locate(&app.db.pool, &view.student).await?;
    let may_see_student = located.is_some_and(|(_, school)| staff.may_see(school));
    let bureau = staff.user.role.is_bureau();
    let open = case.state == "open";
    let completed_transfer = case.kind == CaseKind::Transfer && case.state == "completed";
    let sending = !bureau && staff.may_see(case.school_id);
    let receiving = !bureau && case.to_school_id.is_some_and(|s| staff.may_see(s));
    let first_stage = case.stage == Some(case.kind.stages()[0]);
    let html = render(
        app,
        "case.html",
        Some(staff),
        context! {
            c => view,
            details => detail_rows(&case),
            may_see_student => may_see_student,
            is_open => open,
            can_upload => open && !bureau,
            can_withdraw => open,
            first_stage => first_stage,
            can_export => completed_transfer && sending,
            can_import => completed_transfer && receiving,
            kinds => paper_kinds(),
            default_kind => default_paper_kind(case.kind),
            max_mb => app.archive.config().inspect.max_size / (1024 * 1024),
            error => notice.error, message => notice.message, form => notice.form, prev => notice.values,
        },
    )?;
    Ok((status, html).into_response())
}

/// Shows a case change's refusal on the case page, or the error page.
pub(super) async fn case_refusal(
    app: &Web,
    staff: &Staff,
    id: &str,
    e: AppError,
    form: &str,
    f: &Fields,
) -> Result<Response, PageError> {
    if shown_inline(&e) {
        let status = e.status();
        render_case(app, staff, id, Notice::refused(e.to_string(), form, f), status).await
    } else {
        Err(e.into())
    }
}

pub(super) async fn decide_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(pairs);
    staff.check_csrf(f.one("csrf"))?;
    let decision = f.one("decision").to_owned();
    let result = if decision.is_empty() {
        Err(AppError::bad_request("case.decision", "请选择“同意”或“不同意”"))
    } else {
        let d = cases::Decision {
            stage: f.one("stage").to_owned(),
            decision: decision.clone(),
            opinion: f.one("opinion").to_owned(),
            signer: f.opt("signer"),
        };
        cases::decide(&app, &staff.actor, &id, &d).await
    };
    match result {
        Ok(case) => {
            let code = match case.state.as_str() {
                "completed" => "completed",
                "refused" => "refused",
                _ => "approved",
            };
            Ok(see_other(&format!("/cases/{id}?ok={code}")))
        }
        Err(e) => case_refusal(&app, &staff, &id, e, "decision", &f).await,
    }
}

pub(super) async fn withdraw_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(pairs);
    staff.check_csrf(f.one("csrf"))?;
    let result = cases::withdraw(&app, &staff.actor, &id, f.one("reason")).await;
    match result {
        Ok(_) => Ok(see_other(&format!("/cases/{id}?ok=withdrawn"))),
        Err(e) => case_refusal(&app, &staff, &id, e, "withdraw", &f).await,
    }
}

/// Uploads a proof scan into the student's dossier and files it with the
/// case (either school party, while the case is open): the page form of
/// `POST /api/cases/{case}/proofs`.
pub(super) async fn proof_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    let case = cases::visible(&app, &staff.actor, &id).await?;
    let refuse = |message: String, status: StatusCode| {
        let notice = Notice { error: Some(message), form: Some("proof".into()), ..Notice::default() };
        render_case(&app, &staff, &id, notice, status)
    };
    if staff.user.role.is_bureau() {
        return refuse("证明材料由学校学籍管理员扫描上传".into(), StatusCode::FORBIDDEN).await;
    }
    if case.state != "open" {
        return refuse(format!("该申请{}，不能再添加材料", cases::state_label(&case.state)), StatusCode::CONFLICT)
            .await;
    }
    let limit = app.archive.config().inspect.max_size;
    if content_length(&headers).is_some_and(|n| n > limit.saturating_add(MULTIPART_SLACK)) {
        let message = Failure::from(ArchiveError::TooLarge { limit }).message();
        return refuse(message, StatusCode::PAYLOAD_TOO_LARGE).await;
    }
    let student = cases::dossier_student(&app, &case).await?;
    let (mut csrf_ok, mut kind, mut label) = (false, None, String::new());
    let mut added = None;
    while let Some(mut field) = multipart.next_field().await.map_err(|_| bad_form())? {
        match field.name().unwrap_or("") {
            "csrf" => {
                staff.check_csrf(&small_text(&mut field).await?)?;
                csrf_ok = true;
            }
            "kind" => kind = Some(small_text(&mut field).await?),
            "label" => label = small_text(&mut field).await?,
            "file" if csrf_ok => {
                // A label the form could not print is refused before the scan is stored.
                if let Err(e) = cases::check_proof_label(&app, label.trim()) {
                    return case_refusal(&app, &staff, &id, e, "proof", &Fields::default()).await;
                }
                let name = field.file_name().unwrap_or("").to_owned();
                let outcome = async {
                    let upload = Upload {
                        kind: parse_kind(kind.as_deref())?,
                        original_name: name,
                        supersedes: None,
                        note: format!("随{}申请提交", case.kind.label()),
                    };
                    add_upload(&app, &staff, &student, upload, UploadSource::Field(&mut field)).await
                }
                .await;
                added = Some(outcome);
                break;
            }
            _ => break,
        }
    }
    if !csrf_ok {
        return Err(PageError(AppError::Csrf));
    }
    let Some(added) = added else {
        return refuse("请选择要上传的扫描件文件".into(), StatusCode::BAD_REQUEST).await;
    };
    let outcome = match &added {
        Ok(_) => "ok",
        Err(e) if e.is_refusal() => "refused",
        Err(_) => "error",
    };
    staff.audit(&app, "case.proof_upload", ("case", &id), Some(case.school_id), outcome, "").await?;
    let added = match added {
        Ok(a) => a,
        Err(e) => {
            let (message, status) = upload_refusal(e)?;
            return refuse(message, status).await;
        }
    };
    let digest = added.entry.digest.to_string();
    let label = if label.trim().is_empty() { added.entry.kind.label().to_owned() } else { label.trim().to_owned() };
    match cases::add_proof(&app, &staff.actor, &case, &digest, &label).await {
        Ok(()) => Ok(see_other(&format!("/cases/{id}?ok=proof"))),
        Err(e) => case_refusal(&app, &staff, &id, e, "proof", &Fields::default()).await,
    }
}

/// The receiving school files the transfer package it received (verified,
/// all or nothing) under the student's dossier and records the receipt: the
/// page form of `POST /api/cases/{case}/package`.
pub(super) async fn package_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    let case = cases::visible(&app, &staff.actor, &id).await?;
    let refuse = |message: String, status: StatusCode| {
        let notice = Notice { error: Some(message), form: Some("package".into()), ..Notice::default() };
        render_case(&app, &staff, &id, notice, status)
    };
    if let Err(e) = crate::http::workflow::may_receive(&staff, &case) {
        return refuse(e.to_string(), e.status()).await;
    }
    let limit = app.archive.config().import.max_unpacked_bytes;
    if content_length(&headers).is_some_and(|n| n > limit.saturating_add(MULTIPART_SLACK)) {
        let message = Failure::from(ArchiveError::TooLarge { limit }).message();
        return refuse(message, StatusCode::PAYLOAD_TOO_LARGE).await;
    }
    let file = spool_package_form(&app, &staff, &mut multipart, limit, bad_form).await?;
    let result: Result<dossier::Imported, Failure> = async {
        let file = file.ok_or_else(|| {
            Failure::from(AppError::bad_request("case.package_missing", "请选择收到的传输包文件（zip）"))
        })??;
        crate::http::workflow::receive_package(&app, &staff, &case, file).await
    }
    .await;
    match result {
        Ok(_) => Ok(see_other(&format!("/cases/{id}?ok=received"))),
        Err(e) => {
            let (message, status) = upload_refusal(e)?;
            refuse(message, status).await
        }
    }
}
