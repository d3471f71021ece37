//! `xueji archive verify` names every fault by path; `xueji archive sweep`
//! clears what crashes left and nothing else.

use crate::helpers::*;

#[tokio::test]
async fn verify_names_every_fault_by_path_and_sweep_clears_what_crashes_left() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let (db, no) = fixture(&data).await;
    let scans = tmp.path().join("scans");
    std::fs::create_dir_all(&scans).unwrap();
    let (kept, lost) = (scans.join("kept.pdf"), scans.join("lost.pdf"));
    std::fs::write(&kept, pdf("kept")).unwrap();
    std::fs::write(&lost, pdf("lost")).unwrap();
    let (code, _, err) =
        run(xueji(&data).args(["archive", "put", "--student", &no, "--kind", "other"]).arg(&kept).arg(&lost));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(verify_json(&data).0, Some(0));

    let archive = Archive::open(data.join("archive"), ArchiveConfig::default()).unwrap();
    let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
    let old = |path: &Path| std::fs::File::open(path).unwrap().set_modified(two_hours_ago).unwrap();
    // A stray file among the dossiers, an object no version names, an object the index names deleted,
    // a temp file and a staging directory that crashes left.
    std::fs::write(archive.manifests().dir().join("notes.txt"), b"?").unwrap();
    let orphan = archive.ingest(&mut &pdf("orphan")[..], "orphan.pdf").unwrap().digest;
    old(&archive.local_store().expect("local store").object_path(&orphan));
    let lost_digest = Digest::of(&pdf("lost"));
    std::fs::remove_file(archive.local_store().expect("local store").object_path(&lost_digest)).unwrap();
    let temp = archive.local_store().expect("local store").objects_dir().join(".tmp-crashed");
    std::fs::write(&temp, vec![0u8; 4096]).unwrap();
    old(&temp);
    let bag = archive.root().join("staging").join(".tmp-bag-crashed");
    std::fs::create_dir_all(&bag).unwrap();
    std::fs::write(bag.join("part"), b"x").unwrap();
    old(&bag.join("part"));
    old(&bag);

    let (code, report) = verify_json(&data);
    assert_eq!(code, Some(3), "{report:#}");
    let rel = |p: &Path| p.strip_prefix(archive.root()).unwrap().display().to_string();
    assert_eq!(report["stray"], serde_json::json!(["dossiers/notes.txt"]));
    assert_eq!(
        report["unreferenced"],
        serde_json::json!([rel(&archive.local_store().expect("local store").object_path(&orphan))])
    );
    assert_eq!(report["missing"][0]["digest"], lost_digest.to_hex());
    let dossier: String = sqlx::query_scalar("SELECT archive_id FROM dossiers").fetch_one(&db.pool).await.unwrap();
    assert_eq!(report["index_missing"], serde_json::json!([[dossier, lost_digest.to_hex()]]));
    let mut stale = vec![rel(&temp), rel(&bag)];
    stale.sort();
    assert_eq!(report["stale_temps"], serde_json::json!(stale));
    // The human report names them too.
    let (code, text, _) = run(xueji(&data).args(["archive", "verify"]));
    assert_eq!(code, Some(3));
    for needle in ["dossiers/notes.txt", &orphan.to_hex(), &lost_digest.to_hex(), ".tmp-crashed"] {
        assert!(text.contains(needle), "{needle} not in {text}");
    }

    // The sweep: a dry run removes nothing; then temps go, unreferenced objects only when asked.
    let (code, out, err) = run(xueji(&data).args(["archive", "sweep", "--dry-run", "--json"]));
    assert_eq!(code, Some(0), "{err}");
    let dry: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(dry["temps_removed"], serde_json::json!(stale));
    assert!(temp.exists() && bag.exists());
    let (code, out, _) = run(xueji(&data).args(["archive", "sweep", "--json"]));
    assert_eq!(code, Some(0));
    let swept: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(swept["temps_removed"], serde_json::json!(stale));
    assert_eq!(swept["bytes_freed"], 4096 + 1);
    assert!(!temp.exists() && !bag.exists());
    assert!(archive.store().exists(&orphan).unwrap(), "unreferenced objects stay unless asked for");
    let (code, out, _) = run(xueji(&data).args(["archive", "sweep", "--unreferenced", "--json"]));
    assert_eq!(code, Some(0));
    let swept: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        swept["objects_removed"],
        serde_json::json!([rel(&archive.local_store().expect("local store").object_path(&orphan))])
    );
    assert!(!archive.store().exists(&orphan).unwrap());
    assert!(archive.store().exists(&Digest::of(&pdf("kept"))).unwrap());

    // What is left is what no sweep may mend: the stray file and the lost object.
    let (code, report) = verify_json(&data);
    assert_eq!(code, Some(3));
    assert_eq!((list_len(&report, "stale_temps"), list_len(&report, "unreferenced")), (0, 0), "{report:#}");
    assert_eq!((list_len(&report, "stray"), list_len(&report, "missing")), (1, 1), "{report:#}");
    let sweeps: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'archive.sweep' AND via = 'cli'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(sweeps, 3);
}
