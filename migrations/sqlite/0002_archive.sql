-- Paper-file archive: which student owns which dossier, a search index over
-- the newest version of every dossier, thumbnails, bag imports and the
-- fixity check's results.
-- The dossier manifests in the archive are the source of truth; the
-- `archive_entries` index is rebuilt from them by `xueji archive reindex`.
-- Instants are RFC 3339 text; dates YYYY-MM-DD text; flags 0/1 integers.

-- One dossier per student. `archive_id` names the dossier in the archive: a
-- random opaque id, never the student number.
CREATE TABLE dossiers (
    id         INTEGER PRIMARY KEY,
    archive_id TEXT    NOT NULL UNIQUE,
    student_id INTEGER NOT NULL UNIQUE REFERENCES students (id),
    versions   INTEGER NOT NULL DEFAULT 0,
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);

-- The entries of each dossier's newest version (`dossiers.versions`), one
-- row per entry, replaced as a whole when a version is added.
CREATE TABLE archive_entries (
    id            INTEGER PRIMARY KEY,
    dossier_id    INTEGER NOT NULL REFERENCES dossiers (id),
    student_id    INTEGER NOT NULL REFERENCES students (id),
    school_id     INTEGER NOT NULL REFERENCES schools (id),
    position      INTEGER NOT NULL,
    digest        TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    original_name TEXT    NOT NULL,
    pages         INTEGER NOT NULL,
    media_type    TEXT    NOT NULL,
    size          INTEGER NOT NULL,
    added_by      TEXT    NOT NULL,
    added_at      TEXT    NOT NULL,
    added_on      TEXT    NOT NULL,
    supersedes    TEXT,
    UNIQUE (dossier_id, position)
);
CREATE INDEX archive_entries_student ON archive_entries (student_id);
CREATE INDEX archive_entries_school ON archive_entries (school_id, added_on);
CREATE INDEX archive_entries_kind ON archive_entries (kind, added_on);
CREATE INDEX archive_entries_digest ON archive_entries (digest);

-- JPEG previews of image scans, by object digest (made at upload, or on
-- first view for imported objects).
CREATE TABLE archive_thumbnails (
    digest     TEXT    PRIMARY KEY,
    media_type TEXT    NOT NULL,
    width      INTEGER NOT NULL,
    height     INTEGER NOT NULL,
    bytes      BLOB    NOT NULL
);

-- Transfer packages filed into a local dossier (a bag is filed once).
CREATE TABLE archive_imports (
    id                  INTEGER PRIMARY KEY,
    dossier_id          INTEGER NOT NULL REFERENCES dossiers (id),
    source_organization TEXT    NOT NULL,
    source_dossier      TEXT    NOT NULL,
    source_versions     INTEGER NOT NULL,
    key_id              TEXT    NOT NULL,
    first_version       INTEGER NOT NULL,
    last_version        INTEGER NOT NULL,
    objects             INTEGER NOT NULL,
    imported_by         TEXT    NOT NULL,
    imported_at         TEXT    NOT NULL,
    UNIQUE (dossier_id, source_organization, source_dossier, source_versions)
);

-- Every fixity check: counts, whether all was well, and the findings (JSON,
-- paths relative to the archive root; no personal data).
CREATE TABLE fixity_runs (
    id                INTEGER PRIMARY KEY,
    started_by        TEXT    NOT NULL,
    started_at        TEXT    NOT NULL,
    finished_at       TEXT    NOT NULL,
    objects_checked   INTEGER NOT NULL,
    bytes_hashed      INTEGER NOT NULL,
    manifests_checked INTEGER NOT NULL,
    changed           INTEGER NOT NULL,
    missing           INTEGER NOT NULL,
    stray             INTEGER NOT NULL,
    stale_temps       INTEGER NOT NULL,
    unreadable        INTEGER NOT NULL,
    index_behind      INTEGER NOT NULL,
    clean             INTEGER NOT NULL,
    findings          TEXT    NOT NULL DEFAULT '{}'
);
