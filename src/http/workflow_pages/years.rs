//! Graduation and promotion (`/years`) and the overdue list (`/overdue`), for the bureau.

use super::*;

// ---- /years ----

/// `?year=YYYY&ok=…`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct YearsQuery {
    /// The year (default this year).
    #[serde(default)]
    year: Option<String>,
    /// The message code.
    #[serde(default)]
    ok: Option<String>,
}

pub(super) fn run_kind(kind: &str) -> Result<yearly::RunKind, AppError> {
    match kind {
        "graduation" => Ok(yearly::RunKind::Graduation),
        "promotion" => Ok(yearly::RunKind::Promotion),
        _ => Err(AppError::NotFound),
    }
}

pub(super) fn run_year(year: &str) -> Result<i32, AppError> {
    year.trim()
        .parse::<i32>()
        .ok()
        .filter(|y| (2000..=2100).contains(y))
        .ok_or_else(|| AppError::bad_request("year.invalid", format!("年份“{year}”无效")))
}

pub(super) async fn years_page(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Query(q): Query<YearsQuery>,
) -> Result<Response, PageError> {
    staff.require_bureau()?;
    let year = match q.year.as_deref().filter(|y| !y.trim().is_empty()) {
        Some(y) => run_year(y)?,
        None => app.today().year(),
    };
    render_years(&app, &staff, year, Notice::ok(q.ok.as_deref()), StatusCode::OK).await
}

pub(super) async fn render_years(
    app: &Web,
    staff: &Staff,
    year: i32,
    notice: Notice,
    status: StatusCode,
) -> Result<Response, PageError> {
    let graduation = yearly::preview(app, yearly::RunKind::Graduation, year).await?;
    let promotion = yearly::preview(app, yearly::RunKind::Promotion, year).await?;
    let this_year = app.today().year();
    let html = render(
        app,
        "years.html",
        Some(staff),
        context! {
            year => year, years => vec![this_year - 1, this_year, this_year + 1],
            runs => vec![graduation, promotion],
            error => notice.error, message => notice.message, form => notice.form, prev => notice.values,
        },
    )?;
    Ok((status, html).into_response())
}

pub(super) async fn year_form(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path((kind, year)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(pairs);
    staff.check_csrf(f.one("csrf"))?;
    staff.require_bureau()?;
    let kind = run_kind(&kind)?;
    let year = run_year(&year)?;
    let result = if f.opt("confirm").is_none() {
        Err(AppError::bad_request("year.confirm_required", "请先核对预览表，勾选“已核对”后再确认办理"))
    } else {
        yearly::run(&app, &staff.actor, kind, year, f.opt("late_reason").as_deref()).await
    };
    match result {
        Ok(_) => Ok(see_other(&format!("/years?year={year}&ok={}", kind.code()))),
        Err(e) if shown_inline(&e) => {
            let status = e.status();
            render_years(&app, &staff, year, Notice::refused(e.to_string(), kind.code(), &f), status).await
        }
        Err(e) => Err(e.into()),
    }
}

// ---- /overdue ----

/// `?kind=…&sort=…`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct OverdueQuery {
    /// Only this kind.
    #[serde(default)]
    kind: Option<String>,
    /// `days` (default, most overdue first) or `school`.
    #[serde(default)]
    sort: Option<String>,
}

pub(super) async fn overdue_page(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Query(q): Query<OverdueQuery>,
) -> Result<Response, PageError> {
    staff.require_bureau()?;
    let items = overdue::list(&app, None).await?;
    let mut counts: Vec<(&'static str, &'static str, usize)> = Vec::new();
    for i in &items {
        match counts.iter_mut().find(|c| c.0 == i.kind) {
            Some(c) => c.2 += 1,
            None => counts.push((i.kind, i.label, 1)),
        }
    }
    counts.sort_by_key(|c| std::cmp::Reverse(c.2));
    let kind = q.kind.filter(|k| !k.is_empty());
    let mut shown: Vec<overdue::Item> =
        items.iter().filter(|i| kind.as_deref().is_none_or(|k| i.kind == k)).cloned().collect();
    let sort = if q.sort.as_deref() == Some("school") { "school" } else { "days" };
    if sort == "school" {
        shown.sort_by(|a, b| a.school_code.cmp(&b.school_code).then_with(|| b.days_overdue.cmp(&a.days_overdue)));
    }
    staff
        .audit(
            &app,
            "overdue.list",
            ("overdue", "*"),
            None,
            "ok",
            &format!("shown={} total={}", shown.len(), items.len()),
        )
        .await?;
    let html = render(
        &app,
        "overdue.html",
        Some(&staff),
        context! { items => shown, counts => counts, total => items.len(), kind => kind, sort => sort },
    )?;
    Ok(html.into_response())
}
