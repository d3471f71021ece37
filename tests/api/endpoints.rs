//! One method per endpoint the tests call, each building its path once, for
//! every signed-in client: the [`TestApp`] itself and the extra sessions a
//! test opens beside it. A test that sends a deliberately odd request (an
//! unknown route, a wrong method, no CSRF header) uses the raw `get` and
//! `post_json` instead.

use crate::helpers::{TestApp, pdftotext};
use reqwest::multipart::Form;
use reqwest::{Response, StatusCode};
use serde::Serialize;
use serde_json::Value;

/// A signed-in client of the server: the client with its cookie jar, the
/// server's base URL and the session's CSRF token.
pub trait Endpoints {
    /// The client, `http://127.0.0.1:PORT`, and the CSRF token.
    fn parts(&self) -> (&reqwest::Client, &str, &str);

    // ---- the requests every endpoint below is made of ----

    /// GET `path`. A GET is sent again once if the connection broke before
    /// any answer came (a kept-alive connection the server had just closed,
    /// seen on a loaded machine); any answer at all is returned as it is.
    async fn fetch(&self, path: &str) -> Response {
        let (client, base, _) = self.parts();
        let url = format!("{base}{path}");
        match client.get(&url).send().await {
            Ok(res) => res,
            Err(e) if e.is_connect() || e.is_request() => {
                eprintln!("GET {path}: {e}; sending again");
                client.get(&url).send().await.unwrap()
            }
            Err(e) => panic!("GET {path}: {e}"),
        }
    }

    /// POST `body` as JSON to `path`, with the CSRF header.
    async fn send_json(&self, path: &str, body: &Value) -> Response {
        let (client, base, csrf) = self.parts();
        client.post(format!("{base}{path}")).header("x-csrf-token", csrf).json(body).send().await.unwrap()
    }

    /// PUT `body` as JSON to `path`, with the CSRF header.
    async fn put_json(&self, path: &str, body: &Value) -> Response {
        let (client, base, csrf) = self.parts();
        client.put(format!("{base}{path}")).header("x-csrf-token", csrf).json(body).send().await.unwrap()
    }

    /// POST raw bytes to `path`, with the CSRF header.
    async fn send_bytes(&self, path: &str, body: Vec<u8>) -> Response {
        let (client, base, csrf) = self.parts();
        client.post(format!("{base}{path}")).header("x-csrf-token", csrf).body(body).send().await.unwrap()
    }

    /// POST a page form to `path` (the CSRF field, if any, is one of `fields`).
    async fn send_form<F: Serialize + ?Sized>(&self, path: &str, fields: &F) -> Response {
        let (client, base, _) = self.parts();
        client.post(format!("{base}{path}")).form(fields).send().await.unwrap()
    }

    /// POST a multipart page form to `path`.
    async fn send_multipart(&self, path: &str, form: Form) -> Response {
        let (client, base, _) = self.parts();
        client.post(format!("{base}{path}")).multipart(form).send().await.unwrap()
    }

    // ---- session ----

    /// `POST /api/login`: signs in (the cookie lands in the client's jar).
    async fn sign_in_with(&self, username: &str, password: &str) -> Response {
        let (client, base, _) = self.parts();
        let body = serde_json::json!({"username": username, "password": password});
        client.post(format!("{base}/api/login")).json(&body).send().await.unwrap()
    }

    /// `GET /api/me`: who is signed in.
    async fn me(&self) -> Response {
        self.fetch("/api/me").await
    }

    /// `GET /api/audit?…`: the audit log search (bureau administrator).
    async fn audit_log(&self, query: &str) -> Response {
        self.fetch(&format!("/api/audit?{query}")).await
    }

    /// `GET /audit?…`: the audit log page.
    async fn audit_page(&self, query: &str) -> Response {
        self.fetch(&format!("/audit?{query}")).await
    }

    /// `POST /api/auth/unlock`: lifts a sign-in lock (`{"account": …}` or `{"address": …}`).
    async fn unlock_sign_in(&self, body: &Value) -> Response {
        self.send_json("/api/auth/unlock", body).await
    }

    /// `GET /.well-known/xueji-keys.json`: the public key set.
    async fn key_set(&self) -> Response {
        self.fetch("/.well-known/xueji-keys.json").await
    }

    /// `GET /keys`: the signing keys page (bureau administrator).
    async fn keys_page(&self) -> Response {
        self.fetch("/keys").await
    }

    /// `POST /keys`: the page's forms (`action` rotate or compromise, `kid`, `reason`), with the session's token.
    async fn keys_form(&self, action: &str, kid: &str, reason: &str) -> Response {
        let csrf = self.parts().2.to_owned();
        self.send_form("/keys", &[("csrf", csrf.as_str()), ("action", action), ("kid", kid), ("reason", reason)]).await
    }

    /// `GET /api/keys`.
    async fn keys_list(&self) -> Response {
        self.fetch("/api/keys").await
    }

    /// `POST /api/keys/rotate`.
    async fn keys_rotate(&self, reason: &str) -> Response {
        self.send_json("/api/keys/rotate", &serde_json::json!({ "reason": reason })).await
    }

    /// `POST /api/keys/{kid}/{change}` (`retire` or `compromise`).
    async fn keys_change(&self, kid: &str, change: &str, reason: &str) -> Response {
        self.send_json(&format!("/api/keys/{kid}/{change}"), &serde_json::json!({ "reason": reason })).await
    }

    /// `GET /health`.
    async fn health(&self) -> Response {
        self.fetch("/health").await
    }

    /// `POST /logout` (the sign-out form).
    async fn sign_out_form<F: Serialize + ?Sized>(&self, fields: &F) -> Response {
        self.send_form("/logout", fields).await
    }

    /// `POST /login` (the sign-in form).
    async fn sign_in_form<F: Serialize + ?Sized>(&self, fields: &F) -> Response {
        self.send_form("/login", fields).await
    }

    // ---- students ----

    /// `GET /api/students`: the students in scope.
    async fn list_students(&self) -> Response {
        self.fetch("/api/students").await
    }

    /// `GET /api/students?school=`: one school's students.
    async fn list_school_students(&self, school: &str) -> Response {
        self.fetch(&format!("/api/students?school={school}")).await
    }

    /// `POST /api/students/search`.
    async fn search_students(&self, body: &Value) -> Response {
        self.send_json("/api/students/search", body).await
    }

    /// `GET /api/students/{pid}`: the record and its history.
    async fn student(&self, pid: &str) -> Response {
        self.fetch(&format!("/api/students/{pid}")).await
    }

    /// `POST /api/students/{pid}/id-number`: the ID issued to a student with a temporary number.
    async fn set_id_number(&self, pid: &str, body: &Value) -> Response {
        self.send_json(&format!("/api/students/{pid}/id-number"), body).await
    }

    /// `PUT /api/students/{pid}/photo`.
    async fn put_photo(&self, pid: &str, bytes: Vec<u8>) -> Response {
        let (client, base, csrf) = self.parts();
        client
            .put(format!("{base}/api/students/{pid}/photo"))
            .header("x-csrf-token", csrf)
            .body(bytes)
            .send()
            .await
            .unwrap()
    }

    /// `GET /api/schools`: the schools in scope.
    async fn schools(&self) -> Response {
        self.fetch("/api/schools").await
    }

    /// `PUT /api/schools/{code}`: the principal and registrar (`{"principal": …, "registrar": …}`).
    async fn set_school_officers(&self, code: &str, body: &Value) -> Response {
        self.put_json(&format!("/api/schools/{code}"), body).await
    }

    /// `PUT /api/schools/{code}/classes/{grade}/{number}`: the head teacher (`{"head_teacher": …}`).
    async fn set_head_teacher(&self, code: &str, grade: u8, number: u8, name: &str) -> Response {
        let body = serde_json::json!({ "head_teacher": name });
        self.put_json(&format!("/api/schools/{code}/classes/{grade}/{number}"), &body).await
    }

    /// `GET /api/problems`: the problem records.
    async fn problems(&self) -> Response {
        self.fetch("/api/problems").await
    }

    // ---- roster ----

    /// `POST /api/schools/{school}/roster{query}`: a roster file (`query` is "" or starts with `?`).
    async fn import_roster(&self, school: &str, query: &str, bytes: Vec<u8>) -> Response {
        self.send_bytes(&format!("/api/schools/{school}/roster{query}"), bytes).await
    }

    /// `GET /api/schools/{school}/roster{query}`: the roster written back (`query` is "" or starts with `?`).
    async fn export_roster(&self, school: &str, query: &str) -> Response {
        self.fetch(&format!("/api/schools/{school}/roster{query}")).await
    }

    /// `GET /roster/template.xlsx`: the blank roster.
    async fn roster_template(&self) -> Response {
        self.fetch("/roster/template.xlsx").await
    }

    /// `GET /api/schools/{school}/national?list={list}`: 调档学生导出 (`intake` or `students`).
    async fn national_export(&self, school: &str, list: &str) -> Response {
        self.fetch(&format!("/api/schools/{school}/national?list={list}")).await
    }

    /// `GET /roster/national?school=&list=`: the import page's download of 调档学生导出.
    async fn national_export_page(&self, school: &str, list: &str) -> Response {
        self.fetch(&format!("/roster/national?school={school}&list={list}")).await
    }

    /// `POST /roster/import`: the import page's upload form (checking only when `dry_run`).
    async fn import_page(&self, school: &str, bytes: Vec<u8>, dry_run: bool) -> Response {
        let csrf = self.parts().2.to_owned();
        let file = reqwest::multipart::Part::bytes(bytes).file_name("upload.xlsx");
        let mut form = Form::new().text("csrf", csrf).text("school", school.to_owned()).part("file", file);
        if dry_run {
            form = form.text("dry_run", "on");
        }
        self.send_multipart("/roster/import", form).await
    }

    // ---- documents and certificates ----

    /// `GET /api/students/{pid}/documents/{kind}`: a printed form.
    async fn document(&self, pid: &str, kind: &str) -> Response {
        self.fetch(&format!("/api/students/{pid}/documents/{kind}")).await
    }

    /// `POST /api/documents/{doc}/revoke`.
    async fn revoke_document(&self, doc: &str, body: &Value) -> Response {
        self.send_json(&format!("/api/documents/{doc}/revoke"), body).await
    }

    /// `POST /api/certificates/issue`: numbers for a school's graduates.
    async fn issue_certificates(&self, body: &Value) -> Response {
        self.send_json("/api/certificates/issue", body).await
    }

    /// `POST /api/certificates/{number}/void`: a spoilt sheet.
    async fn void_certificate(&self, number: &str, body: &Value) -> Response {
        self.send_json(&format!("/api/certificates/{number}/void"), body).await
    }

    /// `POST /api/certificates/{number}/hand-over`: the certificate handed over (颁发) today.
    async fn hand_over_certificate(&self, number: &str, received_by: &str) -> Response {
        self.send_json(
            &format!("/api/certificates/{number}/hand-over"),
            &serde_json::json!({"received_by": received_by}),
        )
        .await
    }

    /// `POST /api/certificates/{number}/lost`: a lost certificate, with its proof.
    async fn report_certificate_lost(&self, number: &str, body: &Value) -> Response {
        self.send_json(&format!("/api/certificates/{number}/lost"), body).await
    }

    /// `GET /api/certificates?state=`.
    async fn certificates_in_state(&self, state: &str) -> Response {
        self.fetch(&format!("/api/certificates?state={state}")).await
    }

    /// `POST /batches` (the class batch form).
    async fn start_batch_form<F: Serialize + ?Sized>(&self, fields: &F) -> Response {
        self.send_form("/batches", fields).await
    }

    // ---- the dossier (archive) ----

    /// `GET /api/students/{pid}/archive`: the dossier, newest version.
    async fn dossier(&self, pid: &str) -> Response {
        self.fetch(&format!("/api/students/{pid}/archive")).await
    }

    /// `GET /api/students/{pid}/archive?version=`.
    async fn dossier_version(&self, pid: &str, version: u32) -> Response {
        self.fetch(&format!("/api/students/{pid}/archive?version={version}")).await
    }

    /// `POST /api/students/{pid}/archive?{query}`: a scan into the dossier.
    async fn upload_scan(&self, pid: &str, query: &str, bytes: Vec<u8>) -> Response {
        self.send_bytes(&format!("/api/students/{pid}/archive?{query}"), bytes).await
    }

    /// `GET /api/students/{pid}/archive/{digest}`: a stored scan, byte for byte.
    async fn download_scan(&self, pid: &str, digest: &str) -> Response {
        self.fetch(&format!("/api/students/{pid}/archive/{digest}")).await
    }

    /// `GET /api/students/{pid}/archive/{digest}/thumbnail`.
    async fn scan_thumbnail(&self, pid: &str, digest: &str) -> Response {
        self.fetch(&format!("/api/students/{pid}/archive/{digest}/thumbnail")).await
    }

    /// `GET /api/students/{pid}/archive/{digest}/pages/{page}/preview`: a page's small JPEG.
    async fn page_preview(&self, pid: &str, digest: &str, page: &str) -> Response {
        self.fetch(&format!("/api/students/{pid}/archive/{digest}/pages/{page}/preview")).await
    }

    /// `GET /api/students/{pid}/archive/bag.zip`: the dossier as a transfer package.
    async fn export_dossier(&self, pid: &str) -> Response {
        self.fetch(&format!("/api/students/{pid}/archive/bag.zip")).await
    }

    /// `POST /api/archive/import`: a transfer package from another service.
    async fn import_dossier(&self, bag: Vec<u8>) -> Response {
        self.send_bytes("/api/archive/import", bag).await
    }

    /// `POST /api/archive/search`.
    async fn search_archive(&self, body: &Value) -> Response {
        self.send_json("/api/archive/search", body).await
    }

    /// `GET /api/archive/fixity`: the fixity report.
    async fn fixity_report(&self) -> Response {
        self.fetch("/api/archive/fixity").await
    }

    /// `POST /students/{pid}/archive` (the upload form, as a multipart body with its boundary).
    async fn upload_scan_form(&self, pid: &str, boundary: &str, body: Vec<u8>) -> Response {
        let (client, base, _) = self.parts();
        client
            .post(format!("{base}/students/{pid}/archive"))
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// `POST /archive/search` (the search form).
    async fn search_archive_form<F: Serialize + ?Sized>(&self, fields: &F) -> Response {
        self.send_form("/archive/search", fields).await
    }

    // ---- the working-day calendar ----

    /// `GET /api/calendar`: the table's years.
    async fn calendar(&self) -> Response {
        self.fetch("/api/calendar").await
    }

    /// `GET /api/calendar?year=`.
    async fn calendar_year(&self, year: &str) -> Response {
        self.fetch(&format!("/api/calendar?year={year}")).await
    }

    /// `GET /api/calendar/deadline?from=&days=`.
    async fn working_day_deadline(&self, from: &str, days: u32) -> Response {
        self.fetch(&format!("/api/calendar/deadline?from={from}&days={days}")).await
    }

    /// `GET /api/calendar.csv`.
    async fn export_calendar(&self) -> Response {
        self.fetch("/api/calendar.csv").await
    }

    /// `PUT /api/calendar?source=test`: a calendar file, with the CSRF header.
    async fn upload_calendar(&self, csv: &str) -> Response {
        let (client, base, csrf) = self.parts();
        client
            .put(format!("{base}/api/calendar?source=test"))
            .header("x-csrf-token", csrf)
            .header("content-type", "text/csv; charset=utf-8")
            .body(csv.to_owned())
            .send()
            .await
            .unwrap()
    }

    /// `POST /calendar` (the upload form).
    async fn upload_calendar_form(&self, form: Form) -> Response {
        self.send_multipart("/calendar", form).await
    }

    // ---- workflow cases ----

    /// `POST /api/transfers`: the receiving school opens a transfer.
    async fn open_transfer(&self, body: &Value) -> Response {
        self.send_json("/api/transfers", body).await
    }

    /// `GET /api/cases/{case}`.
    async fn case(&self, case: &str) -> Response {
        self.fetch(&format!("/api/cases/{case}")).await
    }

    /// `GET /api/cases?{query}`: the case list.
    async fn cases(&self, query: &str) -> Response {
        self.fetch(&format!("/api/cases?{query}")).await
    }

    /// `POST /api/cases/{case}/decision`: approve or refuse the waiting stage.
    async fn decide(&self, case: &str, body: &Value) -> Response {
        self.send_json(&format!("/api/cases/{case}/decision"), body).await
    }

    /// `POST /api/cases/{case}/withdraw`.
    async fn withdraw_case(&self, case: &str, body: &Value) -> Response {
        self.send_json(&format!("/api/cases/{case}/withdraw"), body).await
    }

    /// `GET /api/cases/{case}/form`: the case's printed form.
    async fn case_form(&self, case: &str) -> Response {
        self.fetch(&format!("/api/cases/{case}/form")).await
    }

    /// `POST /api/cases/{case}/proofs?{query}`: a proof filed with the case.
    async fn upload_case_proof(&self, case: &str, query: &str, bytes: Vec<u8>) -> Response {
        self.send_bytes(&format!("/api/cases/{case}/proofs?{query}"), bytes).await
    }

    /// `GET /api/cases/{case}/package`: the sending school hands the dossier over.
    async fn hand_over_package(&self, case: &str) -> Response {
        self.fetch(&format!("/api/cases/{case}/package")).await
    }

    /// `POST /api/cases/{case}/package`: the receiving school takes the dossier in.
    async fn receive_package(&self, case: &str, package: Vec<u8>) -> Response {
        self.send_bytes(&format!("/api/cases/{case}/package"), package).await
    }

    /// `POST /api/students/{pid}/{action}`: a status change or application
    /// (`suspension`, `renewal`, `resumption`, `abroad`, `info-change`,
    /// `dropout`, `return`, `missing`, `death`; the tests that name one use
    /// the methods below).
    async fn student_action(&self, pid: &str, action: &str, body: &Value) -> Response {
        self.send_json(&format!("/api/students/{pid}/{action}"), body).await
    }

    /// `POST /api/students/{pid}/suspension`.
    async fn apply_suspension(&self, pid: &str, body: &Value) -> Response {
        self.student_action(pid, "suspension", body).await
    }

    /// `POST /api/students/{pid}/renewal`: a suspension renewed.
    async fn apply_renewal(&self, pid: &str, body: &Value) -> Response {
        self.student_action(pid, "renewal", body).await
    }

    /// `POST /api/students/{pid}/resumption`: back from a suspension.
    async fn apply_resumption(&self, pid: &str, body: &Value) -> Response {
        self.student_action(pid, "resumption", body).await
    }

    /// `POST /api/students/{pid}/abroad`.
    async fn apply_abroad(&self, pid: &str, body: &Value) -> Response {
        self.student_action(pid, "abroad", body).await
    }

    /// `POST /api/students/{pid}/info-change`.
    async fn apply_info_change(&self, pid: &str, body: &Value) -> Response {
        self.student_action(pid, "info-change", body).await
    }

    /// `POST /api/students/{pid}/dropout/suspected`.
    async fn suspect_dropout(&self, pid: &str, body: &Value) -> Response {
        self.student_action(pid, "dropout/suspected", body).await
    }

    /// `POST /api/students/{pid}/dropout`: a confirmed dropout.
    async fn report_dropout(&self, pid: &str, body: &Value) -> Response {
        self.student_action(pid, "dropout", body).await
    }

    /// `POST /api/students/{pid}/return`.
    async fn record_return(&self, pid: &str, body: &Value) -> Response {
        self.student_action(pid, "return", body).await
    }

    /// `POST /api/students/{pid}/missing`.
    async fn report_missing(&self, pid: &str, body: &Value) -> Response {
        self.student_action(pid, "missing", body).await
    }

    /// `POST /api/students/{pid}/death`.
    async fn record_death(&self, pid: &str, body: &Value) -> Response {
        self.student_action(pid, "death", body).await
    }

    /// `POST /api/students/{pid}/recalls`: a recall notice.
    async fn issue_recall(&self, pid: &str, body: &Value) -> Response {
        self.student_action(pid, "recalls", body).await
    }

    /// `GET /api/students/{pid}/recalls`.
    async fn recalls(&self, pid: &str) -> Response {
        self.fetch(&format!("/api/students/{pid}/recalls")).await
    }

    /// `POST /api/recalls/delivery`: how a recall notice was delivered.
    async fn record_recall_delivery(&self, body: &Value) -> Response {
        self.send_json("/api/recalls/delivery", body).await
    }

    /// `POST /api/junior-intake`.
    async fn junior_intake(&self, body: &Value) -> Response {
        self.send_json("/api/junior-intake", body).await
    }

    /// `GET /api/overdue`: the overdue list.
    async fn overdue(&self) -> Response {
        self.fetch("/api/overdue").await
    }

    /// `GET /api/years/graduation/{year}`: the preview, or the summary once run.
    async fn graduation_preview(&self, year: u16) -> Response {
        self.fetch(&format!("/api/years/graduation/{year}")).await
    }

    /// `POST /api/years/graduation/{year}`.
    async fn run_graduation(&self, year: u16, body: &Value) -> Response {
        self.send_json(&format!("/api/years/graduation/{year}"), body).await
    }

    /// `GET /api/years/promotion/{year}`.
    async fn promotion_preview(&self, year: u16) -> Response {
        self.fetch(&format!("/api/years/promotion/{year}")).await
    }

    /// `POST /api/years/promotion/{year}`.
    async fn run_promotion(&self, year: u16, body: &Value) -> Response {
        self.send_json(&format!("/api/years/promotion/{year}"), body).await
    }

    // ---- pages ----

    /// `GET /login`.
    async fn login_page(&self) -> Response {
        self.fetch("/login").await
    }

    /// `GET /students`: the student list.
    async fn students_page(&self) -> Response {
        self.fetch("/students").await
    }

    /// `GET /students/{pid}`.
    async fn student_page(&self, pid: &str) -> Response {
        self.fetch(&format!("/students/{pid}")).await
    }

    /// `GET /students/{pid}/archive`: the dossier page.
    async fn dossier_page(&self, pid: &str) -> Response {
        self.fetch(&format!("/students/{pid}/archive")).await
    }

    /// `GET /students/{pid}/documents/{kind}`: a form printed from the student page.
    async fn document_from_page(&self, pid: &str, kind: &str) -> Response {
        self.fetch(&format!("/students/{pid}/documents/{kind}")).await
    }

    /// `GET /problems`.
    async fn problems_page(&self) -> Response {
        self.fetch("/problems").await
    }

    /// `GET /archive`.
    async fn archive_page(&self) -> Response {
        self.fetch("/archive").await
    }

    /// `GET /certificates`.
    async fn certificates_page(&self) -> Response {
        self.fetch("/certificates").await
    }

    /// `GET /calendar`.
    async fn calendar_page(&self) -> Response {
        self.fetch("/calendar").await
    }

    /// `GET /calendar?from=&days=`: the page with a deadline worked out.
    async fn calendar_page_deadline(&self, from: &str, days: u32) -> Response {
        self.fetch(&format!("/calendar?from={from}&days={days}")).await
    }

    /// `GET /cases`.
    async fn cases_page(&self) -> Response {
        self.fetch("/cases").await
    }

    /// `GET /cases/{case}`.
    async fn case_page(&self, case: &str) -> Response {
        self.fetch(&format!("/cases/{case}")).await
    }

    /// `GET /transfers/new`.
    async fn new_transfer_page(&self) -> Response {
        self.fetch("/transfers/new").await
    }

    /// `GET /years`, or `/years?year=` for one school year.
    async fn years_page(&self, year: Option<u16>) -> Response {
        match year {
            None => self.fetch("/years").await,
            Some(year) => self.fetch(&format!("/years?year={year}")).await,
        }
    }

    /// `GET /overdue`.
    async fn overdue_page(&self) -> Response {
        self.fetch("/overdue").await
    }

    /// GET the `Location` a form answered with.
    async fn follow(&self, location: &str) -> Response {
        self.fetch(location).await
    }

    /// `POST /students/{pid}/actions/{action}` (a form on the student page).
    async fn student_action_form<F: Serialize + ?Sized>(&self, pid: &str, action: &str, fields: &F) -> Response {
        self.send_form(&format!("/students/{pid}/actions/{action}"), fields).await
    }

    /// `POST /transfers/new` (the transfer application form).
    async fn open_transfer_form<F: Serialize + ?Sized>(&self, fields: &F) -> Response {
        self.send_form("/transfers/new", fields).await
    }

    /// `POST /cases/{case}/decision` (the approval form).
    async fn decide_form<F: Serialize + ?Sized>(&self, case: &str, fields: &F) -> Response {
        self.send_form(&format!("/cases/{case}/decision"), fields).await
    }

    /// `POST /cases/{case}/withdraw` (the withdrawal form).
    async fn withdraw_case_form<F: Serialize + ?Sized>(&self, case: &str, fields: &F) -> Response {
        self.send_form(&format!("/cases/{case}/withdraw"), fields).await
    }

    /// `POST /cases/{case}/proofs` (the proof upload form).
    async fn case_proof_form(&self, case: &str, form: Form) -> Response {
        self.send_multipart(&format!("/cases/{case}/proofs"), form).await
    }

    /// `POST /cases/{case}/package` (the package upload form).
    async fn receive_package_form(&self, case: &str, form: Form) -> Response {
        self.send_multipart(&format!("/cases/{case}/package"), form).await
    }

    /// `POST /years/graduation/{year}` (the graduation form).
    async fn run_graduation_form<F: Serialize + ?Sized>(&self, year: u16, fields: &F) -> Response {
        self.send_form(&format!("/years/graduation/{year}"), fields).await
    }
}

impl Endpoints for TestApp {
    fn parts(&self) -> (&reqwest::Client, &str, &str) {
        (&self.client, &self.base, &self.csrf)
    }
}

/// One more signed-in staff member beside the [`TestApp`], with their own
/// cookie jar and CSRF token (or, from [`TestApp::session`], the app's own).
#[derive(Clone)]
pub struct Session {
    base: String,
    client: reqwest::Client,
    /// The session's CSRF token.
    pub csrf: String,
}

impl Endpoints for Session {
    fn parts(&self) -> (&reqwest::Client, &str, &str) {
        (&self.client, &self.base, &self.csrf)
    }
}

/// Signs `user` in with a new cookie jar.
pub async fn sign_in(app: &TestApp, user: &str) -> Session {
    let mut session = Session { base: app.base.clone(), client: crate::helpers::client(), csrf: String::new() };
    let res = session.sign_in_with(user, crate::helpers::PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK, "{user} signs in");
    let body: Value = res.json().await.unwrap();
    session.csrf = body["csrf"].as_str().unwrap().to_owned();
    session
}

impl TestApp {
    /// The app's own session (the same cookie jar), to move into a task.
    pub fn session(&self) -> Session {
        Session { base: self.base.clone(), client: self.client.clone(), csrf: self.csrf.clone() }
    }
}

/// What the tests read from an answer.
pub trait Answer {
    /// The JSON body, asserting the status first (the body in the message).
    async fn json_with(self, expect: StatusCode) -> Value;
    /// The JSON body of a 200.
    async fn json_ok(self) -> Value;
    /// The text of a PDF answered with 200.
    async fn pdf_text(self) -> String;
}

impl Answer for Response {
    async fn json_with(self, expect: StatusCode) -> Value {
        let status = self.status();
        let url = self.url().path().to_owned();
        let text = self.text().await.unwrap();
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{url}: {status} {text}"));
        assert_eq!(status, expect, "{url}: {body}");
        body
    }

    async fn json_ok(self) -> Value {
        self.json_with(StatusCode::OK).await
    }

    async fn pdf_text(self) -> String {
        let url = self.url().path().to_owned();
        assert_eq!(self.status(), StatusCode::OK, "GET {url}");
        assert_eq!(self.headers()["content-type"], "application/pdf");
        pdftotext(&self.bytes().await.unwrap())
    }
}
