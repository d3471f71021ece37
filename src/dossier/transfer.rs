//! Transfer packages: a student's whole dossier and record exported as the
//! archive crate's signed BagIt zip, and a received package verified and
//! filed under the local student with the same student number.

use super::index::{index_manifest, lock_dossier};
use super::{Actor, Failure, Result, StudentRef, blocking, dossier_of, local_now, student_by_no};
use crate::config::Config;
use crate::db::import_journal::Journal;
use crate::db::{self, Db, students};
use crate::error::AppError;
use crate::service::audit::Audit;
use crate::verify::{KeyStatus, KeyStore, Kid};
use anyhow::Context;
use ed25519_dalek::{SigningKey, VerifyingKey};
use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek};
use std::path::Path;
use xueji_archive::{Archive, ArchiveError, Digest, Entry, ExportOptions, ExportSummary, Manifest, NewVersion};

/// Where other services' published key sets are kept, under the data directory.
pub const TRUSTED_KEYS_DIR: &str = "trusted-keys";

/// The service key for signing packages: the key store's active key (its
/// kid is the bag's key id), loaded with the key store's own checks.
fn bag_signing_key(keys: &KeyStore) -> Result<(String, SigningKey)> {
    let signer = keys.active_signer().map_err(|e| Failure::bad("archive.no_key", e.to_string()))?;
    Ok((signer.kid().to_string(), signer.signing_key().clone()))
}

/// The keys a package may be signed with: this service's (not compromised)
/// and those of the key sets in `{data}/trusted-keys/`.
pub fn trusted_keys(keys: &KeyStore, data_dir: &Path) -> Result<HashMap<String, VerifyingKey>> {
    let mut out = HashMap::new();
    for info in keys.list() {
        if info.status != KeyStatus::Compromised {
            out.insert(info.kid.to_string(), info.public_key);
        }
    }
    let dir = data_dir.join(TRUSTED_KEYS_DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Failure::internal(anyhow::Error::new(e).context(format!("无法读取 {}", dir.display())))),
    };
    for entry in entries {
        let path = entry.map_err(Failure::internal)?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read(&path).with_context(|| format!("无法读取 {}", path.display()))?;
        let set: serde_json::Value =
            serde_json::from_slice(&text).with_context(|| format!("{} 不是有效的密钥集", path.display()))?;
        for key in set["keys"].as_array().into_iter().flatten() {
            let (Some(kid), Some(public), status) =
                (key["kid"].as_str(), key["public_key"].as_str(), key["status"].as_str().unwrap_or(""))
            else {
                continue;
            };
            use base64::Engine;
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(public).ok();
            let vk = bytes
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .and_then(|b| VerifyingKey::from_bytes(&b).ok())
                .filter(|vk| Kid::of(vk).to_string() == kid);
            match vk {
                Some(vk) if status != "compromised" && key["algorithm"].as_str() == Some("Ed25519") => {
                    out.entry(kid.to_owned()).or_insert(vk);
                }
                _ => tracing::warn!(file = %path.display(), "trusted key set: a key was skipped"),
            }
        }
    }
    Ok(out)
}

/// The record sent with a package (`data/record.json`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Record {
    /// `xueji-record/1`.
    pub format: String,
    /// When exported.
    pub exported_at: String,
    /// The student's record, as `students::by_public_id` gives it.
    pub student: serde_json::Value,
    /// Its status history.
    #[serde(default)]
    pub history: serde_json::Value,
}

/// The record format tag.
pub const RECORD_FORMAT: &str = "xueji-record/1";

/// Writes the student's dossier, every version, with the record, as a
/// signed BagIt zip to `out`, sent by the organization the settings name
/// ([`Config::organization`]).
pub async fn export(
    db: &Db,
    archive: &Archive,
    keys: &KeyStore,
    student: &StudentRef,
    bagging_date: chrono::NaiveDate,
    config: &Config,
    out: std::fs::File,
) -> Result<ExportSummary> {
    let dossier = dossier_of(db, student.id).await?;
    let Some(dossier) = dossier.filter(|d| d.versions > 0) else {
        return Err(Failure::bad("archive.dossier_empty", "该学生的纸质档案还没有任何材料，无法导出"));
    };
    let mut conn = db.pool.acquire().await?;
    let record = students::by_public_id(&mut conn, &student.public_id).await?.ok_or(AppError::NotFound)?;
    let events = students::events_of(&mut *conn, record.id).await?;
    drop(conn);
    let record = Record {
        format: RECORD_FORMAT.to_owned(),
        exported_at: local_now(),
        student: serde_json::to_value(&record).map_err(Failure::internal)?,
        history: serde_json::to_value(&events).map_err(Failure::internal)?,
    };
    let record_json = serde_json::to_vec_pretty(&record).map_err(Failure::internal)?;
    let (kid, key) = bag_signing_key(keys)?;
    // The text read off each scan travels with it (data/text/), so the receiving
    // county finds the papers without reading them again.
    let derived = crate::ocr::derived_of_student(db, archive, student.id).await?;
    let archive = archive.clone();
    let org = config.organization.clone();
    blocking(move || {
        let date = bagging_date.to_string();
        let options = ExportOptions {
            source_organization: &org,
            bagging_date: &date,
            key_id: &kid,
            signing_key: &key,
            derived: &derived,
        };
        let mut out = out;
        let summary = archive.export_bag(&dossier.archive_id, &record_json, &options, &mut out)?;
        out.sync_all().map_err(Failure::internal)?;
        Ok(summary)
    })
    .await
}

/// What an import did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Imported {
    /// The receiving student's public id.
    pub public_id: String,
    /// The sender (`Source-Organization`).
    pub source_organization: String,
    /// Versions received.
    pub versions_received: usize,
    /// Local versions written.
    pub first_version: u32,
    /// The newest local version.
    pub last_version: u32,
    /// Objects in the package.
    pub objects: usize,
    /// Of which new here.
    pub objects_created: usize,
}

/// Reads the unverified student number from a package, to find the local
/// student before anything is stored.
pub fn peek_student_no(file: &mut std::fs::File) -> Result<String> {
    let refuse =
        || Failure::Archive(ArchiveError::BagInvalid { detail: "data/record.json 缺失或格式不正确".into() });
    let mut zip = zip::ZipArchive::new(&mut *file).map_err(|e| ArchiveError::BagZip { detail: e.to_string() })?;
    let entry = zip.by_name("data/record.json").map_err(|_| refuse())?;
    let mut bytes = Vec::new();
    // A record is a few KiB: read at most 1 MiB of it, so a bomb here inflates nothing.
    entry.take(1024 * 1024 + 1).read_to_end(&mut bytes).map_err(|_| refuse())?;
    if bytes.len() > 1024 * 1024 {
        return Err(refuse());
    }
    drop(zip);
    file.rewind().map_err(Failure::internal)?;
    student_no_of(&bytes).ok_or_else(refuse)
}

fn student_no_of(record_json: &[u8]) -> Option<String> {
    let record: Record = serde_json::from_slice(record_json).ok()?;
    if record.format != RECORD_FORMAT {
        return None;
    }
    record.student["student_no"].as_str().map(|s| s.trim().to_ascii_uppercase()).filter(|s| !s.is_empty())
}

fn no_such_student() -> Failure {
    Failure::App(AppError::bad_request(
        "archive.import_no_student",
        "传输包中的学生在本系统中没有学籍：请先为该生办理转入、建立学籍，再导入纸质档案",
    ))
}

/// Verifies a package (every hash, the signature, the limits: all or
/// nothing) and files its versions under the dossier of the local student
/// with the same student number, in order; if that dossier already had
/// scans, a last version lists them together with the received ones.
pub async fn import(
    db: &Db,
    archive: &Archive,
    keys: &HashMap<String, VerifyingKey>,
    file: std::fs::File,
    actor: &Actor,
) -> Result<Imported> {
    let (mut file, student_no) = blocking(move || {
        let mut file = file;
        let no = peek_student_no(&mut file)?;
        Ok((file, no))
    })
    .await?;
    let student = student_by_no(db, &student_no).await?.ok_or_else(no_such_student)?;
    let keys = keys.clone();
    let archive2 = archive.clone();
    let bag = blocking(move || {
        file.rewind().map_err(Failure::internal)?;
        Ok(archive2.import_bag(file, &|id| keys.get(id).copied())?)
    })
    .await?;
    if student_no_of(&bag.record_json).as_deref() != Some(student_no.as_str()) {
        return Err(ArchiveError::BagInvalid { detail: "data/record.json 前后读取不一致".into() }.into());
    }
    let org = bag
        .bag_info
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Source-Organization"))
        .map_or_else(String::new, |(_, v)| v.clone());
    let source_versions = bag.manifests.last().map_or(0, |m| m.version);
    let (mut tx, dossier) = lock_dossier(db, &student).await?;
    let source = db::dossier::Source { organization: &org, dossier: &bag.dossier_id, versions: source_versions };
    if db::dossier::import_seen(&mut *tx, dossier.id, source).await? {
        return Err(duplicate());
    }
    if let Some(pending) = db::import_journal::of_dossier(&mut *tx, dossier.id).await? {
        drop(tx);
        let same = pending.source_organization == org
            && pending.source_dossier == bag.dossier_id
            && pending.source_versions == source_versions;
        if same {
            // This very package, left half filed by a crash: finish it.
            return finish(db, archive, pending, actor).await;
        }
        return Err(import_in_progress());
    }
    let archive2 = archive.clone();
    let archive_id = dossier.archive_id.clone();
    let latest = blocking(move || Ok(archive2.latest(&archive_id)?)).await?;
    let base_version = latest.as_ref().map_or(0, |m| m.version);
    let local = latest.map(|m| m.entries).unwrap_or_default();
    let planned = plan(&bag.manifests, local, &org, &actor.username);
    if planned.is_empty() {
        return Err(ArchiveError::BagInvalid { detail: "没有任何档案版本".into() }.into());
    }
    let planned = serde_json::to_string(&planned).map_err(Failure::internal)?;
    let started_at = db::now_text();
    db::import_journal::insert(
        &mut *tx,
        &db::import_journal::NewJournal {
            dossier_id: dossier.id,
            source,
            key_id: &bag.key_id,
            base_version,
            planned: &planned,
            versions_received: bag.manifests.len(),
            objects: bag.objects.len(),
            objects_created: bag.objects_created,
            imported_by: &actor.username,
            started_at: &started_at,
        },
    )
    .await?;
    let journal = db::import_journal::of_dossier(&mut *tx, dossier.id)
        .await?
        .ok_or_else(|| Failure::internal(anyhow::anyhow!("journal row not found after insert")))?;
    // Every object is stored; from this commit on, the import is finished
    // even if this process dies now.
    tx.commit().await?;
    let imported = finish(db, archive, journal, actor).await?;
    // The readings the package carries, kept as this archive's own (a scan
    // whose reading is missing or unusable is read here, as any other).
    crate::ocr::adopt(db, archive, &bag.derived).await?;
    Ok(imported)
}

/// The local versions a package becomes: each received version in order,
/// and, if the dossier had scans the package's newest version lacks, a last
/// version listing them together with the received ones.
fn plan(received: &[Manifest], local: Vec<Entry>, org: &str, merged_by: &str) -> Vec<NewVersion> {
    let mut out: Vec<NewVersion> = received
        .iter()
        .map(|m| NewVersion {
            created_at: m.created_at.clone(),
            created_by: m.created_by.clone(),
            entries: m.entries.clone(),
            note: if m.note.is_empty() {
                format!("转入：{org}档案第 {} 版", m.version)
            } else {
                format!("转入：{org}档案第 {} 版（{}）", m.version, m.note)
            },
        })
        .collect();
    let newest: HashSet<Digest> =
        received.last().map(|m| m.entries.iter().map(|e| e.digest).collect()).unwrap_or_default();
    let local_only: Vec<Entry> = local.into_iter().filter(|e| !newest.contains(&e.digest)).collect();
    if !local_only.is_empty() {
        let mut entries = received.last().map(|m| m.entries.clone()).unwrap_or_default();
        entries.extend(local_only);
        out.push(NewVersion {
            created_at: local_now(),
            created_by: merged_by.to_owned(),
            entries,
            note: "合并转入前已有的本地材料".into(),
        });
    }
    out
}

fn duplicate() -> Failure {
    AppError::conflict("archive.import_duplicate", "该传输包已经导入过，未重复导入").into()
}

fn import_in_progress() -> Failure {
    AppError::conflict("archive.import_in_progress", "该生档案正在导入另一个传输包，请稍后再试").into()
}

/// Finishes a journaled import under the dossier's lock: writes whichever
/// planned versions are not on disk yet, indexes the newest, records the
/// import and its audit row and deletes the journal row, in one
/// transaction. Run again after a crash, it writes nothing twice.
async fn finish(db: &Db, archive: &Archive, journal: Journal, actor: &Actor) -> Result<Imported> {
    let student = StudentRef::from(journal.student.clone());
    let (mut tx, dossier) = lock_dossier(db, &student).await?;
    // Another process may have finished it meanwhile.
    let Some(journal) = db::import_journal::of_dossier(&mut *tx, dossier.id).await?.filter(|j| j.id == journal.id)
    else {
        return Err(duplicate());
    };
    let planned: Vec<NewVersion> = serde_json::from_str(&journal.planned).map_err(Failure::internal)?;
    let archive2 = archive.clone();
    let archive_id = dossier.archive_id.clone();
    let base = journal.base_version;
    let written = blocking(move || write_planned(&archive2, &archive_id, base, planned)).await?;
    let (Some(first), Some(last)) = (written.first(), written.last()) else {
        return Err(ArchiveError::BagInvalid { detail: "没有任何档案版本".into() }.into());
    };
    index_manifest(&mut tx, &dossier, &student, last).await?;
    db::dossier::insert_import(
        &mut *tx,
        &db::dossier::NewImport {
            dossier_id: dossier.id,
            source: journal.source(),
            key_id: &journal.key_id,
            first_version: first.version,
            last_version: last.version,
            objects: journal.objects,
            imported_by: &journal.imported_by,
            imported_at: &db::now_text(),
        },
    )
    .await?;
    db::import_journal::delete(&mut *tx, journal.id).await?;
    let imported = Imported {
        public_id: student.public_id.clone(),
        source_organization: journal.source_organization.clone(),
        versions_received: journal.versions_received,
        first_version: first.version,
        last_version: last.version,
        objects: journal.objects,
        objects_created: journal.objects_created,
    };
    let mut audit = Audit::new(actor, "archive.import", ("student", &student.public_id));
    audit.school(student.school_id);
    audit.detail(format!(
        "versions={} objects={} new_objects={} local_versions={}-{} imported_by={}",
        imported.versions_received,
        imported.objects,
        imported.objects_created,
        imported.first_version,
        imported.last_version,
        journal.imported_by
    ));
    audit.commit(tx).await?;
    Ok(imported)
}

/// Writes planned version `base + 1 + i` for each `i`, unless a crash left
/// it on disk already, in which case it must be that very version.
fn write_planned(archive: &Archive, archive_id: &str, base: u32, planned: Vec<NewVersion>) -> Result<Vec<Manifest>> {
    let on_disk: HashSet<u32> = archive.manifests().versions(archive_id)?.into_iter().collect();
    let mut written = Vec::with_capacity(planned.len());
    for (number, version) in (base + 1..).zip(planned) {
        let manifest = if on_disk.contains(&number) {
            let m = archive.manifest(archive_id, number)?;
            if m.entries != version.entries || m.note != version.note || m.created_at != version.created_at {
                return Err(Failure::internal(anyhow::anyhow!(
                    "dossier version {number} on disk is not the one the import journal planned"
                )));
            }
            m
        } else {
            archive.add_version(archive_id, version)?
        };
        if manifest.version != number {
            return Err(Failure::internal(anyhow::anyhow!(
                "import wrote version {} where the journal planned {number}",
                manifest.version
            )));
        }
        written.push(manifest);
    }
    Ok(written)
}

/// What [`finish_pending_imports`] did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Recovered {
    /// Imports finished.
    pub finished: usize,
    /// Imports that could not be finished (each logged with its code).
    pub failed: usize,
}

/// Finishes every import that a crash or a kill left journaled, as the
/// service or a command starts. An import that cannot be finished is
/// logged and left journaled (its dossier refuses new writes until then).
pub async fn finish_pending_imports(db: &Db, archive: &Archive) -> Result<Recovered> {
    let actor = Actor::scheduler("import-recovery");
    let mut done = Recovered::default();
    for journal in db::import_journal::all(&db.pool).await? {
        match finish(db, archive, journal, &actor).await {
            Ok(_) => done.finished += 1,
            Err(e) if e.code() == "archive.import_duplicate" => {}
            Err(e) => {
                e.log();
                tracing::error!(code = e.code(), "an interrupted import could not be finished");
                done.failed += 1;
            }
        }
    }
    if done.finished > 0 {
        tracing::info!(finished = done.finished, "interrupted imports finished");
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_student_no() {
        let json = serde_json::json!({"format": RECORD_FORMAT, "exported_at": "x", "student": {"student_no": " g1 "}});
        assert_eq!(student_no_of(json.to_string().as_bytes()).as_deref(), Some("G1"));
        assert_eq!(student_no_of(b"{}"), None);
    }
}
