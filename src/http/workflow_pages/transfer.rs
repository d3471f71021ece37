//! The receiving school's transfer application (`/transfers/new`).

use super::*;

// ---- /transfers/new ----

pub(super) async fn render_transfer(
    app: &Web,
    staff: &Staff,
    notice: Notice,
    status: StatusCode,
) -> Result<Response, PageError> {
    // The receiving school: one of the registrar's (any, for the bureau).
    let schools = scope_schools(app, staff).await?;
    // The receiving school's classes with head teacher and free places, when
    // the school is known (a registrar's own); the bureau types the number.
    let classes = match staff.actor.school_id.and_then(|id| schools.iter().find(|s| s.id == id)) {
        Some(school) => crate::http::pages::class_choices(app, school.id).await?,
        None => Vec::new(),
    };
    let html = render(
        app,
        "transfer_new.html",
        Some(staff),
        context! {
            schools => schools, classes => classes, today => app.today().to_string(),
            error => notice.error, prev => notice.values,
        },
    )?;
    Ok((status, html).into_response())
}

pub(super) async fn transfer_page(State(app): State<Arc<Web>>, staff: Staff) -> Result<Response, PageError> {
    render_transfer(&app, &staff, Notice::default(), StatusCode::OK).await
}

pub(super) async fn transfer_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(pairs);
    staff.check_csrf(f.one("csrf"))?;
    let result = async {
        // `3-2` from the class picker (grade and number), or a class number typed.
        let picked = match f.one("to_class").trim() {
            "" => None,
            c => Some(
                crate::domain::ClassRef::parse(c)
                    .ok_or_else(|| AppError::bad_request("form.number_invalid", "转入班级无效，请从列表中选择"))?,
            ),
        };
        let req = cases::TransferRequest {
            student_no: Some(f.one("student_no").to_owned()),
            name: Some(f.one("name").to_owned()),
            student: None,
            to_school: f.opt("to_school"),
            to_class: picked.map(|c| c.number),
            to_grade: picked.and_then(|c| c.grade).map(i64::from),
            external: None,
            reason: f.one("reason").to_owned(),
            guardian_name: f.one("guardian_name").to_owned(),
            guardian_phone: f.one("guardian_phone").to_owned(),
            apply_date: f.opt("apply_date"),
            proofs: Vec::new(),
            override_reason: if staff.user.role.is_bureau() { f.opt("override_reason") } else { None },
        };
        cases::open_transfer(&app, &staff.actor, &req).await
    }
    .await;
    match result {
        Ok(case) => Ok(see_other(&format!("/cases/{}?ok=opened", case.public_id))),
        Err(e) if shown_inline(&e) => {
            let status = e.status();
            render_transfer(&app, &staff, Notice::refused(e.to_string(), "transfer", &f), status).await
        }
        Err(e) => Err(e.into()),
    }
}
