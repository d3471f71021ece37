-- A transfer-package import under way. The row is committed after every
-- object of the package is stored and before any dossier version is
-- written; the transaction that indexes the last version and records the
-- import in archive_imports deletes it. A row that outlives its process
-- (a crash, a kill) is finished at the next start: `planned` holds the
-- versions to write after `base_version` (JSON, the archive crate's
-- NewVersion), so finishing writes whichever are not on disk yet. While a
-- row exists, nothing else writes to that dossier.
CREATE TABLE archive_import_journal (
    id                  INTEGER PRIMARY KEY,
    dossier_id          INTEGER NOT NULL UNIQUE REFERENCES dossiers (id),
    source_organization TEXT    NOT NULL,
    source_dossier      TEXT    NOT NULL,
    source_versions     INTEGER NOT NULL,
    key_id              TEXT    NOT NULL,
    base_version        INTEGER NOT NULL,
    planned             TEXT    NOT NULL,
    versions_received   INTEGER NOT NULL,
    objects             INTEGER NOT NULL,
    objects_created     INTEGER NOT NULL,
    imported_by         TEXT    NOT NULL,
    started_at          TEXT    NOT NULL
);
