//! The key directory on disk: the lock, `keys.json` written whole and
//! renamed into place, and each private key in its own owner-only file.

use super::*;

/// The private key file of `kid` in the key directory.
pub(super) fn key_file(kid: Kid, dir: &Path) -> PathBuf {
    dir.join(format!("{kid}{KEY_SUFFIX}"))
}

/// Takes the directory's exclusive writer lock (released on drop).
pub(super) fn lock(dir: &Path) -> Result<File, KeyError> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(KeyError::io(&path))?;
    file.lock().map_err(KeyError::io(&path))?;
    Ok(file)
}

/// Reads and validates `keys.json`; `None` if it does not exist.
pub(super) fn read_key_set(dir: &Path) -> Result<Option<(KeySetFile, Vec<KeyInfo>)>, KeyError> {
    let path = dir.join(KEYS_FILE);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(KeyError::io(&path)(e)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_KEYS_FILE + 1).read_to_end(&mut bytes).map_err(KeyError::io(&path))?;
    if bytes.len() as u64 > MAX_KEYS_FILE {
        return Err(KeyError::corrupt(&path, "文件过大"));
    }
    let parsed: KeySetFile =
        serde_json::from_slice(&bytes).map_err(|e| KeyError::corrupt(&path, format!("不是有效的密钥集：{e}")))?;
    let infos = parsed.validate(&path)?;
    Ok(Some((parsed, infos)))
}

/// Writes `keys.json` atomically: temp file, fsync, rename, fsync directory.
pub(super) fn write_key_set(dir: &Path, file: &KeySetFile) -> Result<(), KeyError> {
    let temp = dir.join(TEMP_FILE);
    let target = dir.join(KEYS_FILE);
    let mut json = serde_json::to_vec_pretty(file)
        .map_err(|e| KeyError::Io { path: target.clone(), source: io::Error::other(e) })?;
    json.push(b'\n');
    let mut out = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(&temp)
        .map_err(KeyError::io(&temp))?;
    out.write_all(&json).map_err(KeyError::io(&temp))?;
    out.sync_all().map_err(KeyError::io(&temp))?;
    drop(out);
    fs::rename(&temp, &target).map_err(KeyError::io(&target))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(KeyError::io(dir))?;
    Ok(())
}

/// Generates a key, writes its private file (0600, never overwriting), retires
/// the active key and appends the new one as active.
pub(super) fn add_active_key(dir: &Path, file: &mut KeySetFile) -> Result<Kid, KeyError> {
    // A kid is 32 bits: a clash with an existing key (or a leftover file) is
    // astronomically rare, but costs only another key to avoid.
    for _ in 0..16 {
        let key = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
        let public = key.verifying_key();
        let kid = Kid::of(&public);
        let path = key_file(kid, dir);
        if public.is_weak() || file.keys.iter().any(|r| r.kid == kid) || path.exists() {
            continue;
        }
        write_private_key(&path, &key)?;
        let created = Utc::now().trunc_subsecs(0);
        for record in &mut file.keys {
            if record.status == KeyStatus::Active {
                record.status = KeyStatus::Retired;
                record.retired = Some(created);
            }
        }
        file.keys.push(KeyRecord::new(&public, KeyStatus::Active, created, None));
        return Ok(kid);
    }
    Err(KeyError::corrupt(dir, "无法生成不重复的密钥编号"))
}

/// Creates `path` with mode 0600 (never overwrites) and writes the seed.
pub(super) fn write_private_key(path: &Path, key: &SigningKey) -> Result<(), KeyError> {
    let mut out = OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(KeyError::io(path))?;
    let mut text = hex::encode(key.to_bytes());
    text.push('\n');
    out.write_all(text.as_bytes()).map_err(KeyError::io(path))?;
    out.sync_all().map_err(KeyError::io(path))?;
    Ok(())
}

/// Reads a private key file, refusing group/other permissions, and checks it
/// against the public key in `keys.json`.
pub(super) fn read_private_key(path: &Path, expected: &VerifyingKey) -> Result<SigningKey, KeyError> {
    let file = File::open(path).map_err(KeyError::io(path))?;
    // Checked on the open handle, so the file cannot be swapped in between.
    let meta = file.metadata().map_err(KeyError::io(path))?;
    if !meta.is_file() {
        return Err(KeyError::corrupt(path, "不是普通文件"));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyError::InsecurePermissions { path: path.to_owned(), mode });
    }
    let mut text = Vec::new();
    file.take(MAX_KEY_FILE).read_to_end(&mut text).map_err(KeyError::io(path))?;
    let mut seed = [0u8; 32];
    let decoded = hex::decode_to_slice(text.trim_ascii_end(), &mut seed);
    text.fill(0);
    decoded.map_err(|_| KeyError::corrupt(path, "不是 64 位十六进制私钥"))?;
    let key = SigningKey::from_bytes(&seed);
    seed.fill(0);
    if key.verifying_key() != *expected {
        return Err(KeyError::corrupt(path, "私钥与 keys.json 中的公钥不符"));
    }
    Ok(key)
}

pub(super) fn load_snapshot(dir: &Path) -> Result<Snapshot, KeyError> {
    // Taken before the read: a change during it shows as changed next time.
    let modified = fs::metadata(dir.join(KEYS_FILE)).and_then(|m| m.modified()).ok();
    let (_, keys) = read_key_set(dir)?.ok_or_else(|| KeyError::NotInitialized(dir.to_owned()))?;
    let signer = keys
        .iter()
        .find(|k| k.status == KeyStatus::Active)
        .map(|active| {
            let key = read_private_key(&key_file(active.kid, dir), &active.public_key)?;
            Ok::<_, KeyError>(Signer { kid: active.kid, key })
        })
        .transpose()?;
    Ok(Snapshot { keys, signer, modified })
}
