//! A full disk under the archive: 507 with a message, and nothing left.

use crate::helpers::*;

/// A small tmpfs mounted over a directory for one test, unmounted when dropped.
struct SmallDisk(PathBuf);

impl SmallDisk {
    /// Mounts `size` of tmpfs at `dir`; `None` where mounting is not
    /// allowed (not root). CI runs as root, so there the test always runs.
    fn mount(dir: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(dir).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        mounted.then(|| Self(dir.to_path_buf()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Fills the file system under `dir` to the last byte, then frees `leave` bytes.
fn fill(dir: &Path, leave: u64) {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let block = vec![0xa5u8; 4096];
    while f.write_all(&block).is_ok() {}
    let len = f.metadata().unwrap().len();
    f.set_len(len.saturating_sub(leave)).unwrap();
}

#[tokio::test]
async fn a_full_disk_answers_507_with_a_message_and_leaves_no_trace() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let (db, _) = fixture(&data).await;
    let pid: String = sqlx::query_scalar("SELECT public_id FROM students").fetch_one(&db.pool).await.unwrap();
    // The archive on a disk of its own, 256 KiB (the database stays on the big one).
    let Some(_disk) = SmallDisk::mount(&data.join("archive"), "256k") else {
        eprintln!("not run: mounting a small tmpfs needs root");
        return;
    };
    let server = serve(&data, &[]).await;
    let (client, csrf) = sign_in(&db, &server.base).await;
    let upload = |name: &str, body: Vec<u8>| {
        client
            .post(format!("{}/api/students/{pid}/archive?kind=other&name={name}", server.base))
            .header("x-csrf-token", &csrf)
            .body(body)
            .send()
    };
    let archive = Archive::open(data.join("archive"), ArchiveConfig::default()).unwrap();
    let nothing_left = || {
        assert_eq!(temps_under(archive.root()), 0, "a temp file was left");
        let dossiers: Vec<_> = std::fs::read_dir(archive.manifests().dir()).unwrap().collect();
        assert!(dossiers.is_empty(), "a dossier directory was left: {dossiers:?}");
    };

    // A scan larger than the disk: refused while it is written.
    let mut big = pdf("big");
    big.splice(9..9, std::iter::repeat_n(b' ', 400 * 1024));
    let res = upload("big.pdf", big).await.unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::INSUFFICIENT_STORAGE);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "archive.disk_full", "{body}");
    assert!(body["message"].as_str().unwrap().contains("存储空间已满"), "{body}");
    assert!(archive.store().list().unwrap().is_empty());
    nothing_left();

    // Room for the scan but not for the dossier version that lists it.
    fill(archive.root(), 4096);
    let res = upload("small.pdf", pdf("small")).await.unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::INSUFFICIENT_STORAGE);
    nothing_left();
    let refused: Vec<String> = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'archive.upload' AND outcome = 'refused' ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(refused, vec!["code=archive.disk_full".to_owned(); 2]);

    // Room again: the same upload goes through.
    std::fs::remove_file(archive.root().join("filler")).unwrap();
    let res = upload("small.pdf", pdf("small")).await.unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::CREATED);
    drop(server);
}
