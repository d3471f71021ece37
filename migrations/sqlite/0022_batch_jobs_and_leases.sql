-- Batch print jobs, kept in the database so that any instance of the
-- service reports a job's progress and serves its file (kept in the
-- archive's store under results/), and a job whose instance stopped is
-- seen as failed once its heartbeat is old. Finished jobs expire.
CREATE TABLE batch_jobs (
    id           TEXT    PRIMARY KEY,
    owner_id     INTEGER REFERENCES users (id),
    title        TEXT    NOT NULL,
    school_name  TEXT    NOT NULL,
    total        INTEGER NOT NULL,
    done         INTEGER NOT NULL DEFAULT 0,
    skipped      INTEGER NOT NULL DEFAULT 0,
    state        TEXT    NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    error        TEXT,
    result_name  TEXT,
    result_mime  TEXT,
    instance     TEXT    NOT NULL,
    heartbeat_at TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    finished_at  TEXT
);
CREATE INDEX batch_jobs_state ON batch_jobs (state, heartbeat_at);

-- Work only one instance may do at a time (the fixity run, the yearly
-- runs): a named lease, taken when free or expired, renewed while held.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
