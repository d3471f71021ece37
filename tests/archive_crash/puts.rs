//! `xueji archive put` killed at random moments, and an upload stopped while
//! it streams past the limit.

use crate::helpers::*;

#[tokio::test]
async fn puts_killed_at_random_moments_lose_nothing_that_was_reported() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let (db, no) = fixture(&data).await;
    let scans = tmp.path().join("scans");
    std::fs::create_dir_all(&scans).unwrap();
    let shared = scans.join("shared.pdf");
    std::fs::write(&shared, pdf("shared by every run")).unwrap();

    // How long one uncontested run takes, to spread the kills over it.
    let warm = Instant::now();
    let f = scans.join("warm.pdf");
    std::fs::write(&f, pdf("warm-up")).unwrap();
    let out = xueji(&data).args(["archive", "put", "--student", &no, "--kind", "other"]).arg(&f).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let one_run = warm.elapsed();
    let mut reported: Vec<(Digest, u32)> =
        String::from_utf8_lossy(&out.stdout).lines().filter_map(parse_success).collect();
    assert_eq!(reported.len(), 1);

    let mut rng = rand::rng();
    let window = (one_run.as_millis() as u64 * 3).clamp(30, 400);
    let mut completed_runs = 0;
    for i in 0..200 {
        let mut files: Vec<PathBuf> = (0..3)
            .map(|j| {
                let p = scans.join(format!("run{i}-{j}.pdf"));
                std::fs::write(&p, pdf(&format!("run {i} file {j}"))).unwrap();
                p
            })
            .collect();
        files.insert(1, shared.clone());
        let mut put = xueji(&data);
        put.args(["archive", "put", "--student", &no, "--kind", "other"]).args(&files);
        let (status, out, _) = kill_after(&mut put, rng.random_range(0..window));
        completed_runs += usize::from(status.success());
        // Only whole lines count: a line cut by the kill was not a report.
        let whole = out.rsplit_once('\n').map_or("", |(w, _)| w);
        reported.extend(whole.lines().filter_map(parse_success));
    }
    assert!(reported.len() > 20, "too few puts got through: {} (window {window} ms)", reported.len());
    assert!(completed_runs < 200, "no run was interrupted");

    // The fixity check: nothing changed or missing, nothing stray.
    let out = xueji(&data).args(["archive", "verify", "--json"]).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    for list in ["changed", "missing", "stray", "stale_temps", "unreadable", "index_ahead"] {
        assert_eq!(report[list].as_array().map(Vec::len), Some(0), "{list}: {report:#}");
    }

    // No temp file was taken for an object: every file in a fan-out
    // directory is named by its own digest, every leftover is a temp name.
    let archive = Archive::open(data.join("archive"), ArchiveConfig::default()).unwrap();
    let objects = archive.store().list().unwrap();
    let mut temps = 0usize;
    for entry in std::fs::read_dir(archive.local_store().expect("local store").objects_dir()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".tmp-") {
            temps += 1;
            continue;
        }
        assert!(entry.file_type().unwrap().is_dir(), "{name}");
        for obj in std::fs::read_dir(entry.path()).unwrap() {
            let obj = obj.unwrap();
            let obj_name = obj.file_name().to_string_lossy().into_owned();
            if obj_name.starts_with(".tmp-") {
                temps += 1;
                continue;
            }
            let digest: Digest = obj_name.parse().unwrap();
            assert_eq!(Digest::of(&std::fs::read(obj.path()).unwrap()), digest);
        }
    }
    assert_eq!(report["objects_checked"].as_u64(), Some(objects.len() as u64));
    // Temps left by the kills (objects and manifests) are counted as such.
    let all_temps = temps_under(&data.join("archive"));
    assert!(all_temps >= temps);
    assert_eq!(report["temps_in_progress"].as_u64(), Some(all_temps as u64), "{report:#}");

    // Every reported put is in its manifest version, in the objects and in the database.
    let student = xueji::dossier::student_by_no(&db, &no).await.unwrap().unwrap();
    let dossier = xueji::dossier::dossier_of(&db, student.id).await.unwrap().unwrap();
    let history = archive.history(&dossier.archive_id).unwrap();
    let latest = history.last().unwrap().version;
    let indexed: Vec<String> =
        sqlx::query_scalar("SELECT digest FROM archive_entries WHERE dossier_id = $1 ORDER BY position")
            .bind(dossier.id)
            .fetch_all(&db.pool)
            .await
            .unwrap();
    let indexed_set: BTreeSet<&str> = indexed.iter().map(String::as_str).collect();
    for (digest, version) in &reported {
        assert!(archive.store().exists(digest).unwrap(), "object {digest} missing");
        let m = &history[*version as usize - 1];
        assert!(m.entries.iter().any(|e| e.digest == *digest), "{digest} not in v{version}");
        assert!(indexed_set.contains(digest.to_hex().as_str()), "{digest} not indexed");
    }
    // The database never runs ahead of the manifests, and matches the version it names.
    assert!(dossier.versions <= i64::from(latest), "index v{} ahead of archive v{latest}", dossier.versions);
    let at_index: Vec<String> =
        history[dossier.versions as usize - 1].entries.iter().map(|e| e.digest.to_hex()).collect();
    assert_eq!(indexed, at_index);
    // Every object in a manifest exists (verify said so) and after a reindex
    // the index is exactly the newest manifest.
    let out = xueji(&data).args(["archive", "reindex"]).output().unwrap();
    assert!(out.status.success());
    let indexed: Vec<String> =
        sqlx::query_scalar("SELECT digest FROM archive_entries WHERE dossier_id = $1 ORDER BY position")
            .bind(dossier.id)
            .fetch_all(&db.pool)
            .await
            .unwrap();
    let newest: Vec<String> = history.last().unwrap().entries.iter().map(|e| e.digest.to_hex()).collect();
    assert_eq!(indexed, newest);
    // The shared file is one object, however many times it was put.
    let shared_digest = Digest::of(&pdf("shared by every run"));
    assert_eq!(objects.iter().filter(|d| **d == shared_digest).count(), 1);
    // The CLI's runs are audited as the command line, under the operating-system user.
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE via = 'cli' AND username LIKE 'cli:%' AND action = 'archive.upload'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(audited as usize >= reported.len());
    eprintln!(
        "{} puts reported, {} objects, {} versions, {} temps left, {completed_runs} runs completed, {:?}",
        reported.len(),
        objects.len(),
        latest,
        temps,
        started.elapsed()
    );
}

#[tokio::test]
async fn a_body_growing_past_the_limit_is_stopped_while_streaming() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let (db, _) = fixture(&data).await;
    let pid: String = sqlx::query_scalar("SELECT public_id FROM students").fetch_one(&db.pool).await.unwrap();
    let server = serve(&data, &[("XUEJI_ARCHIVE_MAX_MB", "1")]).await;
    let (client, csrf) = sign_in(&db, &server.base).await;
    let base = server.base.clone();
    // Under the limit: stored.
    let res = client
        .post(format!("{base}/api/students/{pid}/archive?kind=other&name=a.pdf"))
        .header("x-csrf-token", &csrf)
        .body(pdf("small"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::CREATED);

    // Three MiB, chunked (no Content-Length): stopped once past one MiB.
    let cookie = {
        let res = reqwest::Client::new()
            .post(format!("{base}/api/login"))
            .json(&serde_json::json!({"username": "bureau", "password": "fixture-password-1"}))
            .send()
            .await
            .unwrap();
        let c = res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        let body: serde_json::Value = res.json().await.unwrap();
        (c, body["csrf"].as_str().unwrap().to_owned())
    };
    let addr = base.trim_start_matches("http://").to_owned();
    let path = format!("/api/students/{pid}/archive?kind=other&name=big.pdf");
    let answer = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut w = s.try_clone().unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nCookie: {}\r\nX-CSRF-Token: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
            cookie.0, cookie.1
        );
        let writer = std::thread::spawn(move || {
            let mut sent = 0usize;
            let mut chunk = b"%PDF-1.4\n".to_vec();
            chunk.resize(64 * 1024, b' ');
            let _ = w.write_all(head.as_bytes());
            for _ in 0..48 {
                if w.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).is_err()
                    || w.write_all(&chunk).is_err()
                    || w.write_all(b"\r\n").is_err()
                {
                    break;
                }
                sent += chunk.len();
            }
            let _ = w.write_all(b"0\r\n\r\n");
            sent
        });
        let mut buf = [0u8; 1024];
        let answer = match s.read(&mut buf) {
            Ok(n) => String::from_utf8_lossy(&buf[..n]).into_owned(),
            Err(e) => format!("connection error: {e}"),
        };
        let _ = s.shutdown(std::net::Shutdown::Both);
        (answer, writer.join().unwrap())
    })
    .await
    .unwrap();
    eprintln!("answer: {:?}, sent {} bytes", answer.0.lines().next(), answer.1);
    // The client sees the 413, or a reset if the server closed first.
    assert!(answer.0.starts_with("HTTP/1.1 413") || answer.0.starts_with("connection error"), "{answer:?}");
    let refused: String = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'archive.upload' AND outcome = 'refused' ORDER BY id DESC",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(refused, "code=archive.too_large");
    let archive = Archive::open(data.join("archive"), ArchiveConfig::default()).unwrap();
    assert_eq!(archive.store().list().unwrap().len(), 1);
    let temps = std::fs::read_dir(archive.local_store().expect("local store").objects_dir())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with(".tmp-"))
        .count();
    assert_eq!(temps, 0);
    let versions: i64 = sqlx::query_scalar("SELECT versions FROM dossiers").fetch_one(&db.pool).await.unwrap();
    assert_eq!(versions, 1);
}
