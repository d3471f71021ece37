//! `xueji archive import` killed at random moments: every package is filed
//! once, never half and never twice.

use crate::helpers::*;

#[tokio::test]
async fn imports_killed_at_random_moments_are_finished_once_never_half_or_twice() {
    const PUPILS: u16 = 40;
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let (sender, receiver) = (tmp.path().join("sender"), tmp.path().join("receiver"));
    std::fs::create_dir_all(&sender).unwrap();
    std::fs::create_dir_all(&receiver).unwrap();
    let (_, nos) = county(&sender, PUPILS).await;
    let (db, nos_here) = county(&receiver, PUPILS).await;
    assert_eq!(nos, nos_here);
    let (keys, _) = xueji::verify::KeyStore::init(sender.join("keys")).unwrap();
    xueji::verify::KeyStore::init(receiver.join("keys")).unwrap();
    let trusted = receiver.join(xueji::dossier::TRUSTED_KEYS_DIR);
    std::fs::create_dir_all(&trusted).unwrap();
    std::fs::write(trusted.join("sender.json"), keys.public_key_set().to_string()).unwrap();

    // Every pupil's dossier at the sender: two versions (a scan of their own, then one all share).
    let scans = tmp.path().join("scans");
    std::fs::create_dir_all(&scans).unwrap();
    let shared = scans.join("shared.pdf");
    std::fs::write(&shared, pdf("shared by every pupil")).unwrap();
    let mut packages = Vec::new();
    for (i, no) in nos.iter().enumerate() {
        let own = scans.join(format!("own{i}.pdf"));
        std::fs::write(&own, pdf(&format!("pupil {i}"))).unwrap();
        let (code, _, err) =
            run(xueji(&sender).args(["archive", "put", "--student", no, "--kind", "other"]).arg(&own).arg(&shared));
        assert_eq!(code, Some(0), "{err}");
        let package = tmp.path().join(format!("package{i}.zip"));
        let (code, _, err) = run(xueji(&sender).args(["archive", "export", "--student", no, "--output"]).arg(&package));
        assert_eq!(code, Some(0), "{err}");
        packages.push(package);
    }

    // How long one uncontested import takes, to spread the kills over it.
    let warm = Instant::now();
    let (code, _, err) = run(xueji(&receiver).args(["archive", "import"]).arg(&packages[0]));
    assert_eq!(code, Some(0), "{err}");
    let window = (warm.elapsed().as_millis() as u64 * 3 / 2).clamp(30, 600);
    let mut filed: BTreeSet<usize> = BTreeSet::from([0]);
    let (mut killed, mut duplicates) = (0, 0);
    let mut rng = rand::rng();
    for i in 0..200 {
        // The next package not known to be filed, or any once all are.
        let p = (0..packages.len()).find(|p| !filed.contains(p)).unwrap_or(i % packages.len());
        let mut import = xueji(&receiver);
        import.args(["archive", "import"]).arg(&packages[p]);
        let (status, _, err) = kill_after(&mut import, rng.random_range(0..window));
        if status.success() {
            filed.insert(p);
        } else if err.contains("archive.import_duplicate") {
            // Filed before, by this package's earlier run or by the recovery at this run's start.
            duplicates += 1;
            filed.insert(p);
        } else {
            assert_eq!(status.code(), None, "run {i} failed without being killed: {err}");
            killed += 1;
        }
    }
    assert!(killed > 20, "too few runs were interrupted: {killed} (window {window} ms)");
    assert!(filed.len() > 5, "too few imports got through: {}", filed.len());

    // Any command that opens the archive first finishes a journaled import; then nothing is wrong.
    let (code, report) = verify_json(&receiver);
    assert_eq!(code, Some(0), "{report:#}");
    for list in ["changed", "missing", "stray", "stale_temps", "unreadable", "index_ahead", "index_behind"] {
        assert_eq!(list_len(&report, list), 0, "{list}: {report:#}");
    }
    let journaled: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM archive_import_journal").fetch_one(&db.pool).await.unwrap();
    assert_eq!(journaled, 0);

    // Each pupil's dossier holds the package exactly once, or nothing at all.
    let here = Archive::open(receiver.join("archive"), ArchiveConfig::default()).unwrap();
    let shared_digest = Digest::of(&pdf("shared by every pupil"));
    let mut unfiled = Vec::new();
    for (p, no) in nos.iter().enumerate() {
        let student = xueji::dossier::student_by_no(&db, no).await.unwrap().unwrap();
        let dossier = xueji::dossier::dossier_of(&db, student.id).await.unwrap();
        let imports: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM archive_imports i JOIN dossiers d ON d.id = i.dossier_id WHERE d.student_id = $1",
        )
        .bind(student.id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        let history = dossier.as_ref().map_or_else(Vec::new, |d| here.history(&d.archive_id).unwrap());
        if imports == 0 {
            assert!(!filed.contains(&p), "package {p} was reported filed but is not recorded");
            assert!(history.is_empty(), "package {p}: {} versions on disk without an import", history.len());
            unfiled.push(p);
            continue;
        }
        assert_eq!(imports, 1, "package {p} recorded twice");
        let own = Digest::of(&pdf(&format!("pupil {p}")));
        let versions: Vec<Vec<Digest>> = history.iter().map(|m| m.entries.iter().map(|e| e.digest).collect()).collect();
        assert_eq!(versions, vec![vec![own], vec![own, shared_digest]], "package {p}");
        assert_eq!(dossier.unwrap().versions, 2, "package {p}: index");
    }

    // Filing every package again: the unfiled ones now, the others never twice.
    for (p, package) in packages.iter().enumerate() {
        let (code, _, err) = run(xueji(&receiver).args(["archive", "import"]).arg(package));
        if unfiled.contains(&p) {
            assert_eq!(code, Some(0), "package {p}: {err}");
        } else {
            assert_eq!(code, Some(2), "package {p}: {err}");
            assert!(err.contains("archive.import_duplicate"), "package {p}: {err}");
        }
    }
    let imports: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM archive_imports").fetch_one(&db.pool).await.unwrap();
    assert_eq!(imports, i64::from(PUPILS));
    let versions: i64 = sqlx::query_scalar("SELECT SUM(versions) FROM dossiers").fetch_one(&db.pool).await.unwrap();
    assert_eq!(versions, 2 * i64::from(PUPILS));
    let (code, report) = verify_json(&receiver);
    assert_eq!(code, Some(0), "{report:#}");
    eprintln!(
        "{} packages filed during the kills, {killed} runs killed, {duplicates} refused as filed, {:?}",
        filed.len(),
        started.elapsed()
    );
}
