//! The archive's pages: the search and fixity page, a student's dossier
//! page with its upload form, and the import of a transfer package.

use super::*;

fn kinds() -> Vec<(&'static str, &'static str)> {
    PaperKind::ALL.iter().map(|k| (k.code(), k.label())).collect()
}

async fn scope_schools(app: &Web, staff: &Staff) -> Result<Vec<schools::School>, AppError> {
    Ok(schools::list(&app.db.pool).await?.into_iter().filter(|s| staff.may_see(s.id)).collect())
}

/// What the archive page shows besides the search form.
#[derive(Default)]
struct ArchivePage {
    q: Option<SearchQuery>,
    result: Option<dossier::SearchResult>,
    imported: Option<dossier::Imported>,
    error: Option<String>,
    message: Option<String>,
}

async fn render_archive(
    app: &Web,
    staff: &Staff,
    page: ArchivePage,
    status: StatusCode,
) -> Result<Response, PageError> {
    let bureau = staff.user.role.is_bureau();
    let fixity = if bureau { Some(fixity_status(app).await.map_err(page_error)?) } else { None };
    let ocr = if bureau { Some(crate::ocr::status(&app.db).await?) } else { None };
    let html = render(
        app,
        "archive.html",
        Some(staff),
        context! {
            kinds => kinds(),
            schools => scope_schools(app, staff).await?,
            q => page.q.unwrap_or_default(),
            result => page.result,
            fixity_running => fixity.as_ref().map(|f| f.running),
            fixity => fixity.and_then(|f| f.last),
            imported => page.imported,
            error => page.error,
            message => page.message,
            names => staff_names(app).await?,
            ocr => ocr,
            ocr_enabled => app.config.ocr,
        },
    )?;
    Ok((status, html).into_response())
}

/// `?started=1` after starting a fixity run.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ArchivePageQuery {
    #[serde(default)]
    started: Option<u8>,
}

pub(super) async fn archive_page(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Query(q): Query<ArchivePageQuery>,
) -> Result<Response, PageError> {
    let message = q.started.map(|_| "完整性检查已开始，完成后刷新本页查看结果。".to_owned());
    render_archive(&app, &staff, ArchivePage { message, ..ArchivePage::default() }, StatusCode::OK).await
}

/// The search form.
#[derive(Debug, serde::Deserialize)]
pub struct SearchForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    q: SearchQuery,
}

pub(super) async fn search_page(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Form(form): Form<SearchForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf)?;
    match run_search(&app, &staff, &form.q).await {
        Ok(result) => {
            let page = ArchivePage { q: Some(form.q), result: Some(result), ..ArchivePage::default() };
            render_archive(&app, &staff, page, StatusCode::OK).await
        }
        Err(Failure::App(AppError::NotFound)) => Err(PageError(AppError::NotFound)),
        Err(e) if e.is_refusal() => {
            let status = e.status();
            let page = ArchivePage { q: Some(form.q), error: Some(e.message()), ..ArchivePage::default() };
            render_archive(&app, &staff, page, status).await
        }
        Err(e) => Err(page_error(e)),
    }
}

pub(super) async fn fixity_page(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf)?;
    match start_fixity(&app, &staff).await {
        Ok(()) => Ok(Redirect::to("/archive?started=1").into_response()),
        Err(e) if e.is_refusal() && e.status() != StatusCode::FORBIDDEN => {
            let page = ArchivePage { error: Some(e.message()), ..ArchivePage::default() };
            render_archive(&app, &staff, page, e.status()).await
        }
        Err(e) => Err(page_error(e)),
    }
}

/// A form with only the CSRF token.
#[derive(Debug, serde::Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// Reads a short text field of a multipart form.
async fn small_text(field: &mut axum::extract::multipart::Field<'_>) -> Result<String, PageError> {
    streams::small_text(field, bad_form).await.map_err(PageError)
}

fn bad_form() -> AppError {
    AppError::bad_request("archive.form_invalid", "表单内容不完整或格式不正确，请刷新页面后重试")
}

pub(super) async fn import_page(
    State(app): State<Arc<Web>>,
    staff: Staff,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    staff.require_bureau()?;
    let limit = app.archive.config().import.max_unpacked_bytes;
    if content_length(&headers).is_some_and(|n| n > limit.saturating_add(MULTIPART_SLACK)) {
        let message = Failure::from(ArchiveError::TooLarge { limit }).message();
        let page = ArchivePage { error: Some(message), ..ArchivePage::default() };
        return render_archive(&app, &staff, page, StatusCode::PAYLOAD_TOO_LARGE).await;
    }
    let file = spool_package_form(&app, &staff, &mut multipart, limit, bad_form).await?;
    let result = match file {
        None => Err(bad_form().into()),
        Some(Err(e)) => Err(e),
        Some(Ok(file)) => run_import(&app, &staff, file).await,
    };
    match result {
        Ok(imported) => {
            let page = ArchivePage { imported: Some(imported), ..ArchivePage::default() };
            render_archive(&app, &staff, page, StatusCode::OK).await
        }
        Err(e) if e.is_refusal() => {
            let status = e.status();
            let page = ArchivePage { error: Some(e.message()), ..ArchivePage::default() };
            render_archive(&app, &staff, page, status).await
        }
        Err(e) => Err(page_error(e)),
    }
}

/// Who did what, by name: an account's display name, the command line as
/// 命令行（user）, the scheduler as 系统.
async fn staff_names(app: &Web) -> Result<std::collections::HashMap<String, String>, AppError> {
    Ok(crate::db::users::display_names(&app.db.pool).await?)
}

async fn render_dossier(
    app: &Web,
    staff: &Staff,
    id: &str,
    version: Option<u32>,
    notice: (Option<String>, Option<String>),
    status: StatusCode,
) -> Result<Response, PageError> {
    let (_, view) = load_view(app, staff, id, version).await.map_err(page_error)?;
    let mut conn = app.db.pool.acquire().await?;
    let student = students::by_public_id(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    drop(conn);
    let class_name = student.class_name();
    let html = render(
        app,
        "archive_dossier.html",
        Some(staff),
        context! {
            s => context! { public_id => student.public_id, name => student.name, student_no => student.student_no,
                school_name => student.school_name, grade => student.grade, class_name => class_name },
            d => view,
            kinds => kinds(),
            max_mb => app.archive.config().inspect.max_size / (1024 * 1024),
            error => notice.0,
            message => notice.1,
            names => staff_names(app).await?,
        },
    )?;
    Ok((status, html).into_response())
}

pub(super) async fn dossier_page(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<VersionQuery>,
) -> Result<Response, PageError> {
    let message = q.added.map(|v| format!("已存档，档案更新为第 {v} 版。"));
    render_dossier(&app, &staff, &id, q.version, (None, message), StatusCode::OK).await
}

pub(super) async fn upload_page(
    State(app): State<Arc<Web>>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    let student = student_for(&app, &staff, &id, "archive.upload").await.map_err(page_error)?;
    let limit = app.archive.config().inspect.max_size;
    if content_length(&headers).is_some_and(|n| n > limit.saturating_add(MULTIPART_SLACK)) {
        // Answered from the header alone: no field is read.
        let refused = Err(ArchiveError::TooLarge { limit }.into());
        audit_upload(&app, &staff, &student, &refused).await?;
        let message = refused.err().map(|e: Failure| e.message());
        return render_dossier(&app, &staff, &id, None, (message, None), StatusCode::PAYLOAD_TOO_LARGE).await;
    }
    let (mut csrf_ok, mut kind, mut supersedes, mut note) = (false, None, None, String::new());
    let mut result = None;
    while let Some(mut field) = multipart.next_field().await.map_err(|_| PageError(bad_form()))? {
        match field.name().unwrap_or("") {
            "csrf" => {
                staff.check_csrf(&small_text(&mut field).await?)?;
                csrf_ok = true;
            }
            "kind" => kind = Some(small_text(&mut field).await?),
            "supersedes" => supersedes = Some(small_text(&mut field).await?),
            "note" => note = small_text(&mut field).await?,
            "file" if csrf_ok => {
                let name = field.file_name().unwrap_or("").to_owned();
                let outcome = async {
                    let upload = Upload {
                        kind: parse_kind(kind.as_deref())?,
                        original_name: name,
                        supersedes: parse_supersedes(supersedes.as_deref())?,
                        note: note.clone(),
                    };
                    add_upload(&app, &staff, &student, upload, UploadSource::Field(&mut field)).await
                }
                .await;
                result = Some(outcome);
                break;
            }
            _ => break,
        }
    }
    if !csrf_ok {
        return Err(PageError(AppError::Csrf));
    }
    let Some(result) = result else {
        return render_dossier(
            &app,
            &staff,
            &id,
            None,
            (Some("请选择要上传的文件".into()), None),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    audit_upload(&app, &staff, &student, &result).await?;
    match result {
        Ok(added) => Ok(Redirect::to(&format!("/students/{id}/archive?added={}", added.version)).into_response()),
        Err(e) if e.is_refusal() => {
            let status = e.status();
            render_dossier(&app, &staff, &id, None, (Some(e.message()), None), status).await
        }
        Err(e) => Err(page_error(e)),
    }
}
