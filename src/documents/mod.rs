//! Issuing documents: the record's data in the templates' JSON contract, a
//! signed verification token in the QR code, the PDF from the renderer, and
//! a row in `documents` for every document handed out (kind, student,
//! template and version, sha256 of the bytes, who, when).
//!
//! A document keeps its id, number and issue date: printing it again gives
//! the same bytes while the record and template are unchanged. When they have
//! changed, the form is issued anew (new id, new token) and the old row is
//! marked superseded; a numbered certificate is never issued twice.

mod data;
pub mod history;
mod request;

use crate::app::App;
use crate::db;
use crate::db::graduations::Graduation;
use crate::db::schools::{self, School};
use crate::db::students::Student;
use crate::domain::{SchoolKind, Stage, StudentStatus};
use crate::error::{AppError, AppResult};
use crate::render::{DocKind, RenderRequest, RenderedPdf};
use crate::verify::DocumentId;
use chrono::NaiveDate;
use serde_json::Value;

pub use crate::db::documents::DocumentRow;
pub use request::request;

/// A document issued (or re-printed).
#[derive(Debug, Clone)]
pub struct Issued {
    /// The document's random id (hex).
    pub doc_id: String,
    /// Kind.
    pub kind: DocKind,
    /// Certificate number, if numbered.
    pub number: Option<String>,
    /// Issue date.
    pub issue_date: NaiveDate,
    /// The URL in the QR code.
    pub verify_url: String,
    /// The PDF.
    pub pdf: RenderedPdf,
    /// A file name for downloads (ASCII), for clients that cannot take the Chinese one.
    pub file_name: String,
    /// The download name people see: the title, the student's name and
    /// student number (`吉林省中小学生登记表-张三-G2201….pdf`), as the paper shows them.
    pub display_name: String,
    /// The request it was rendered from (for batch printing).
    pub request: RenderRequest,
}

/// What to issue.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The certificate number (numbered kinds only; allocated by `certificates`).
    pub number: Option<String>,
    /// Kind-specific parts of the data (`certificate`, `recall`, `transfer`, `approvals`, …),
    /// merged over the defaults.
    pub extra: serde_json::Map<String, Value>,
    /// Who issues.
    pub actor_id: Option<i64>,
    /// The graduation a certificate (or 学历证明书) is issued for: its
    /// stage, school and dates. `None` for forms; for a certificate printed
    /// again, the student's latest graduation of a stage that has one.
    pub graduation: Option<Graduation>,
    /// The document's bit in the status list, carried in its token: given
    /// when a document is printed anew, kept when it is printed again.
    pub status_index: Option<u32>,
}

/// Whether a student's status (and grade) allows this document.
pub fn check_allowed(kind: DocKind, student: &Student, school_kind: SchoolKind) -> AppResult<()> {
    use StudentStatus as S;
    let st = student.status;
    let ok = match kind {
        // A record typed in from a paper ledger holds what a proof needs, not what a form does.
        _ if st == S::Historical => kind == DocKind::AcademicProof,
        DocKind::BasicInfo | DocKind::Registration | DocKind::RecordCard => true,
        DocKind::AdmissionNotice => matches!(st, S::Active) && student.grade.number() == *school_kind.grades().start(),
        // The form stays printable after the move, with its four opinions.
        DocKind::TransferApplication => matches!(st, S::Active | S::TransferPending | S::TransferredOut | S::Abroad),
        DocKind::SuspensionApplication => matches!(st, S::Active | S::Suspended),
        DocKind::RecallNotice => matches!(st, S::SuspectedDropout | S::Dropout),
        DocKind::GraduationCertificate | DocKind::AcademicProof => matches!(st, S::Graduated),
        DocKind::CompulsoryCertificate => matches!(st, S::Graduated) && student.grade.number() == 9,
    };
    if ok {
        Ok(())
    } else {
        Err(AppError::conflict(
            "document.not_allowed",
            format!("该学生当前学籍状态为“{}”，不能打印《{}》", st.label(), kind.title_zh()),
        ))
    }
}

/// The kinds a student's page offers to print.
pub fn printable_kinds(student: &Student, school_kind: SchoolKind) -> Vec<DocKind> {
    DocKind::ALL
        .into_iter()
        .filter(|k| !k.is_certificate())
        .filter(|k| check_allowed(*k, student, school_kind).is_ok())
        .collect()
}

/// The host part of the public base URL, printed beside the QR code.
pub fn verify_domain(base: &str) -> String {
    url::Url::parse(base).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_else(|| base.to_owned())
}

/// The student's current (valid) document of a kind, if any.
pub async fn current(app: &App, student_id: i64, kind: DocKind) -> AppResult<Option<DocumentRow>> {
    Ok(db::documents::current(&app.db.pool, student_id, kind.code()).await?)
}

/// Every document of a student, newest first.
pub async fn of_student(app: &App, student_id: i64) -> AppResult<Vec<DocumentRow>> {
    Ok(db::documents::of_student(&app.db.pool, student_id).await?)
}

/// The document with this id.
pub async fn by_doc_id(app: &App, doc_id: &str) -> AppResult<Option<DocumentRow>> {
    Ok(db::documents::by_doc_id(&app.db.pool, doc_id).await?)
}

/// A document rendered and checked, with what recording it writes; nothing
/// is written until [`Prepared::record`] runs in the caller's transaction
/// (so that a print and its audit row land together), or [`Prepared::commit`]
/// in one of its own.
#[derive(Debug)]
pub struct Prepared {
    /// The document.
    pub issued: Issued,
    write: Write,
}

/// What recording a prepared document writes.
#[derive(Debug)]
enum Write {
    /// A re-print with the same bytes: nothing.
    Nothing,
    /// A new document.
    Insert(NewRecord),
    /// A numbered certificate re-printed: its record follows the new bytes.
    Reprinted { doc_id: String, sha256: String, template_version: String },
    /// A form issued anew, replacing the current one.
    Replace { old_doc_id: String, new: NewRecord },
}

/// An owned [`db::documents::NewDocument`], made before the transaction opens.
#[derive(Debug)]
struct NewRecord {
    kind: DocKind,
    student_id: i64,
    school_id: i64,
    stage: Option<Stage>,
    data_sha256: String,
    template_version: String,
    kid: String,
    extra: String,
    issued_by: Option<i64>,
    status_index: Option<u32>,
}

impl Prepared {
    /// Records the document inside `tx`.
    ///
    /// # Errors
    ///
    /// A database failure; the caller's transaction then rolls back.
    pub async fn record(&self, tx: &mut sqlx::Transaction<'static, sqlx::Any>) -> Result<(), sqlx::Error> {
        let now = db::now_text();
        match &self.write {
            Write::Nothing => Ok(()),
            Write::Insert(new) => insert(tx, &self.issued, new, &now).await,
            Write::Reprinted { doc_id, sha256, template_version } => {
                let pages = i64::try_from(self.issued.pdf.pages).unwrap_or(i64::MAX);
                db::documents::set_printed(&mut **tx, doc_id, sha256, template_version, pages).await
            }
            Write::Replace { old_doc_id, new } => {
                insert(tx, &self.issued, new, &now).await?;
                db::documents::supersede(&mut **tx, old_doc_id, &self.issued.doc_id, &now).await
            }
        }
    }

    /// Records the document in a transaction of its own.
    ///
    /// # Errors
    ///
    /// A database failure; nothing is recorded then.
    pub async fn commit(self, app: &App) -> AppResult<Issued> {
        let mut tx = app.db.pool.begin().await?;
        self.record(&mut tx).await?;
        tx.commit().await?;
        Ok(self.issued)
    }
}

async fn insert(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    issued: &Issued,
    new: &NewRecord,
    now: &str,
) -> Result<(), sqlx::Error> {
    db::documents::insert(
        &mut **tx,
        &db::documents::NewDocument {
            doc_id: &issued.doc_id,
            kind: new.kind.code(),
            student_id: new.student_id,
            school_id: new.school_id,
            number: issued.number.as_deref(),
            template: &new.kind.template_file(),
            template_version: &new.template_version,
            sha256: &issued.pdf.sha256,
            kid: &new.kid,
            verify_url: &issued.verify_url,
            extra: &new.extra,
            issue_date: issued.issue_date,
            issued_by: new.issued_by,
            issued_at: now,
            stage: new.stage.map(Stage::code),
            pages: i64::try_from(issued.pdf.pages).unwrap_or(i64::MAX),
            data_sha256: &new.data_sha256,
            status_index: new.status_index.map(i64::from),
        },
    )
    .await
}

/// Issues (or re-prints) a document of `kind` for `student`.
///
/// # Errors
///
/// As [`prepare`], or a database failure recording it.
pub async fn issue(app: &App, student: &Student, kind: DocKind, opts: Options) -> AppResult<Issued> {
    prepare(app, student, kind, opts).await?.commit(app).await
}

/// Renders a document of `kind` for `student` (a re-print of the current
/// one, or a new one) and says what recording it writes.
///
/// # Errors
///
/// The student's status does not allow the kind, a certificate is not
/// numbered or already issued, or the record cannot be printed.
pub async fn prepare(app: &App, student: &Student, kind: DocKind, opts: Options) -> AppResult<Prepared> {
    let prepared = if kind.is_certificate() {
        prepare_certificate(app, student, kind, opts).await?
    } else {
        prepare_form(app, student, kind, opts).await?
    };
    // New bytes are kept before anything records them; bytes no row names
    // (a transaction that then failed) are the sweep's.
    if !matches!(prepared.write, Write::Nothing) {
        crate::dossier::papers::keep_issued(&app.archive, &prepared.issued.pdf.bytes).await?;
    }
    Ok(prepared)
}

async fn prepare_form(app: &App, student: &Student, kind: DocKind, opts: Options) -> AppResult<Prepared> {
    let school = schools::by_id(&app.db.pool, student.school_id).await?.ok_or(AppError::NotFound)?;
    check_allowed(kind, student, school.kind)?;
    match current(app, student.id, kind).await? {
        Some(existing) => reprint(app, student, &school, kind, existing, opts).await,
        None => {
            let (issued, new) = fresh(app, student, &school, kind, opts, app.today()).await?;
            Ok(Prepared { issued, write: Write::Insert(new) })
        }
    }
}

/// [`prepare`] for a numbered certificate: it belongs to a graduation (a
/// stage, and the school graduated from), which the caller names or, to
/// print an issued one again, is the student's latest graduation whose
/// stage has one of this kind.
async fn prepare_certificate(app: &App, student: &Student, kind: DocKind, mut opts: Options) -> AppResult<Prepared> {
    let graduation = match opts.graduation.clone() {
        Some(g) => g,
        // A number given for no graduation: the student's latest.
        None if opts.number.is_some() => {
            db::graduations::of_student(&app.db.pool, student.id).await?.pop().ok_or_else(|| {
                AppError::conflict(
                    "document.not_allowed",
                    format!("该学生没有毕业记录，不能颁发《{}》", kind.title_zh()),
                )
            })?
        }
        None => {
            let mut found = None;
            for g in db::graduations::of_student(&app.db.pool, student.id).await?.into_iter().rev() {
                if db::documents::current_of_stage(&app.db.pool, student.id, kind.code(), g.stage.code())
                    .await?
                    .is_some()
                {
                    found = Some(g);
                    break;
                }
            }
            found.ok_or_else(|| {
                AppError::conflict(
                    "certificate.not_numbered",
                    format!("《{}》须由教育局编号后颁发，请在证书管理中为该学生分配编号", kind.title_zh()),
                )
            })?
        }
    };
    // A graduation from before the system had its certificate on paper then;
    // printing one now would be a reissue (Art. 31): only the proof.
    if graduation.historical && kind != DocKind::AcademicProof {
        return Err(AppError::conflict(
            "certificate.historical",
            format!(
                "该学生{}{}年毕业于系统建立之前，不补发《{}》，只能由教育局据纸质档案开具学历证明书",
                graduation.stage.label(),
                graduation.year,
                kind.title_zh()
            ),
        ));
    }
    opts.graduation = Some(graduation.clone());
    let school = schools::by_id(&app.db.pool, graduation.school_id).await?.ok_or(AppError::NotFound)?;
    let existing =
        db::documents::current_of_stage(&app.db.pool, student.id, kind.code(), graduation.stage.code()).await?;
    match (existing, &opts.number) {
        (Some(existing), None) => reprint(app, student, &school, kind, existing, opts).await,
        (Some(existing), Some(n)) if existing.number.as_deref() == Some(n.as_str()) => {
            reprint(app, student, &school, kind, existing, opts).await
        }
        (Some(existing), Some(_)) => Err(AppError::conflict(
            "certificate.already_issued",
            format!(
                "该学生已颁发{}《{}》（编号 {}），证书不补发；遗失时请开具学历证明书",
                graduation.stage.label(),
                kind.title_zh(),
                existing.number.unwrap_or_default()
            ),
        )),
        (None, None) => Err(AppError::conflict(
            "certificate.not_numbered",
            format!("《{}》须由教育局编号后颁发，请在证书管理中为该学生分配编号", kind.title_zh()),
        )),
        (None, Some(_)) => {
            let (issued, new) = fresh(app, student, &school, kind, opts, app.today()).await?;
            Ok(Prepared { issued, write: Write::Insert(new) })
        }
    }
}

/// Issues a new document of `kind` even when one is current (e.g. a second
/// recall notice with its own number); the caller supersedes the old one
/// once the new one is recorded where it belongs.
pub async fn issue_fresh(app: &App, student: &Student, kind: DocKind, opts: Options) -> AppResult<Issued> {
    let school = schools::by_id(&app.db.pool, student.school_id).await?.ok_or(AppError::NotFound)?;
    check_allowed(kind, student, school.kind)?;
    let (issued, new) = fresh(app, student, &school, kind, opts, app.today()).await?;
    crate::dossier::papers::keep_issued(&app.archive, &issued.pdf.bytes).await?;
    Prepared { issued, write: Write::Insert(new) }.commit(app).await
}

/// Renders an existing document again; if the bytes differ (record or template
/// changed), a form is issued anew and the old row superseded.
async fn reprint(
    app: &App,
    student: &Student,
    school: &School,
    kind: DocKind,
    existing: DocumentRow,
    opts: Options,
) -> AppResult<Prepared> {
    let issue_date = NaiveDate::parse_from_str(&existing.issue_date, "%Y-%m-%d")
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored issue date: {e}")))?;
    let doc_id: DocumentId =
        existing.doc_id.parse().map_err(|e| AppError::Internal(anyhow::anyhow!("stored doc id: {e}")))?;
    let number = existing.number.clone();
    // The kind-specific parts given at issue (e.g. the number a proof replaces) stay with the document.
    let stored = db::documents::extra_of(&app.db.pool, &existing.doc_id).await?;
    let mut opts = opts;
    opts.status_index = existing.status_index.and_then(|i| u32::try_from(i).ok());
    if let Some(Ok(Value::Object(mut extra))) = stored.map(|t| serde_json::from_str::<Value>(&t)) {
        extra.extend(opts.extra);
        opts.extra = extra;
    }
    // The kept bytes are served, never rendered again: always for an issued
    // certificate (whatever happened to the template or the record since), and
    // for a form whose record is unchanged (whatever happened to the template).
    let request = request(app, student, school, kind, doc_id, number.as_deref(), issue_date, &opts).await?;
    let unchanged = existing.data_sha256.as_deref() == Some(data_digest(&request).as_str());
    if (kind.is_certificate() || unchanged)
        && let Some(pages) = existing.pages
        && let Some(bytes) = crate::dossier::papers::kept_issued(&app.archive, &existing.sha256).await?
    {
        let pdf = RenderedPdf { bytes, sha256: existing.sha256, pages: usize::try_from(pages).unwrap_or(0) };
        let issued = issued_as(student, kind, doc_id, number, issue_date, request, pdf);
        return Ok(Prepared { issued, write: Write::Nothing });
    }
    let (request, pdf) = render_request(app, request).await?;
    let issued = issued_as(student, kind, doc_id, number.clone(), issue_date, request, pdf);
    if issued.pdf.sha256 == existing.sha256 {
        return Ok(Prepared { issued, write: Write::Nothing });
    }
    if kind.is_certificate() {
        // The number and date stay; the certificate's record follows the new bytes (same paper, re-printed).
        let write = Write::Reprinted {
            doc_id: existing.doc_id,
            sha256: issued.pdf.sha256.clone(),
            template_version: app.renderer.template_version(kind),
        };
        return Ok(Prepared { issued, write });
    }
    let (issued, new) = fresh(app, student, school, kind, Options { number, ..opts }, app.today()).await?;
    Ok(Prepared { issued, write: Write::Replace { old_doc_id: existing.doc_id, new } })
}

/// Renders a new document (new id, token) and the record it needs.
async fn fresh(
    app: &App,
    student: &Student,
    school: &School,
    kind: DocKind,
    opts: Options,
    issue_date: NaiveDate,
) -> AppResult<(Issued, NewRecord)> {
    let doc_id = DocumentId::random();
    let mut opts = opts;
    let index = db::documents::next_status_index(&app.db.pool).await?;
    opts.status_index = u32::try_from(index).ok().filter(|i| *i <= crate::verify::MAX_STATUS_INDEX);
    let issued = render(app, student, school, kind, doc_id, opts.number.clone(), issue_date, &opts).await?;
    let kid = app.keys.active_signer().map_err(|e| AppError::Internal(e.into()))?.kid().to_string();
    let new = NewRecord {
        kind,
        student_id: student.id,
        school_id: school.id,
        stage: opts.graduation.as_ref().map(|g| g.stage),
        data_sha256: data_digest(&issued.request),
        template_version: app.renderer.template_version(kind),
        kid,
        extra: serde_json::Value::Object(opts.extra).to_string(),
        issued_by: opts.actor_id,
        status_index: opts.status_index,
    };
    Ok((issued, new))
}

/// Signs the token and renders the PDF (on a blocking thread).
#[expect(clippy::too_many_arguments, reason = "each is one part of the document")]
async fn render(
    app: &App,
    student: &Student,
    school: &School,
    kind: DocKind,
    doc_id: DocumentId,
    number: Option<String>,
    issue_date: NaiveDate,
    opts: &Options,
) -> AppResult<Issued> {
    let request = request(app, student, school, kind, doc_id, number.as_deref(), issue_date, opts).await?;
    let (request, pdf) = render_request(app, request).await?;
    Ok(issued_as(student, kind, doc_id, number, issue_date, request, pdf))
}

/// The sha256 of what a document is rendered from: the data, the photo and
/// the issue date, not the template.
fn data_digest(request: &RenderRequest) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(request.data.to_string().as_bytes());
    h.update([0]);
    h.update(request.photo.as_deref().unwrap_or_default());
    h.update([0]);
    h.update(request.issue_date.to_string().as_bytes());
    hex::encode(h.finalize())
}

/// Renders a built request (on a blocking thread); gives it back with the PDF.
async fn render_request(app: &App, request: RenderRequest) -> AppResult<(RenderRequest, RenderedPdf)> {
    let renderer = app.renderer.clone();
    let (request, pdf) = tokio::task::spawn_blocking(move || {
        let pdf = renderer.render(&request);
        (request, pdf)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?;
    Ok((request, pdf.map_err(render_error)?))
}

/// What a print hands back: the bytes, rendered now or kept, and their names.
fn issued_as(
    student: &Student,
    kind: DocKind,
    doc_id: DocumentId,
    number: Option<String>,
    issue_date: NaiveDate,
    request: RenderRequest,
    pdf: RenderedPdf,
) -> Issued {
    let verify_url = request.data["document"]["verify_url"].as_str().unwrap_or_default().to_owned();
    Issued {
        doc_id: doc_id.to_string(),
        kind,
        number,
        issue_date,
        verify_url,
        pdf,
        file_name: format!("{}-{}.pdf", kind.code(), student.public_id),
        display_name: format!("{}-{}-{}.pdf", kind.title_zh(), student.name, student.student_no),
        request,
    }
}

/// A renderer error as the service reports it: data problems (a missing
/// glyph, a bad photo) are the user's to fix; template faults are ours.
pub fn render_error(e: crate::render::RenderError) -> AppError {
    use crate::render::RenderError as R;
    match e {
        R::MissingGlyph { .. } | R::Photo(..) | R::Data(..) => AppError::bad_request(e.code(), e.to_string()),
        other => AppError::Internal(anyhow::anyhow!("render: {} ({})", other, other.code())),
    }
}
