-- Records core: schools, classes, students, guardians, status history,
-- problem records, users, sessions and the audit log.
-- Dates are ISO 8601 text (YYYY-MM-DD); instants are RFC 3339 UTC text;
-- session clocks are Unix seconds. Flags are 0/1 integers.

CREATE TABLE schools (
    id                INTEGER PRIMARY KEY,
    code              TEXT    NOT NULL UNIQUE,
    name              TEXT    NOT NULL,
    kind              TEXT    NOT NULL CHECK (kind IN ('primary', 'junior', 'special')),
    county_town       INTEGER NOT NULL DEFAULT 0,
    central_school_id INTEGER REFERENCES schools (id),
    district          TEXT    NOT NULL DEFAULT '',
    address           TEXT    NOT NULL DEFAULT ''
);

CREATE TABLE classes (
    id           INTEGER PRIMARY KEY,
    school_id    INTEGER NOT NULL REFERENCES schools (id),
    grade        INTEGER NOT NULL CHECK (grade BETWEEN 1 AND 9),
    number       INTEGER NOT NULL CHECK (number >= 1),
    head_teacher TEXT    NOT NULL DEFAULT '',
    cap          INTEGER NOT NULL CHECK (cap >= 1 AND cap <= 50),
    UNIQUE (school_id, grade, number)
);

CREATE TABLE students (
    id                INTEGER PRIMARY KEY,
    public_id         TEXT    NOT NULL UNIQUE,
    student_no        TEXT    NOT NULL UNIQUE,
    school_id         INTEGER NOT NULL REFERENCES schools (id),
    class_id          INTEGER REFERENCES classes (id),
    grade             INTEGER NOT NULL CHECK (grade BETWEEN 1 AND 9),
    status            TEXT    NOT NULL,
    name              TEXT    NOT NULL,
    former_name       TEXT    NOT NULL DEFAULT '',
    pinyin            TEXT    NOT NULL DEFAULT '',
    gender            TEXT    NOT NULL CHECK (gender IN ('male', 'female')),
    birth_date        TEXT    NOT NULL,
    birthplace        TEXT    NOT NULL DEFAULT '',
    ethnicity         TEXT    NOT NULL,
    nationality       TEXT    NOT NULL DEFAULT '中国',
    id_type           TEXT    NOT NULL,
    id_number         TEXT    UNIQUE,
    household_address TEXT    NOT NULL DEFAULT '',
    household_type    TEXT    NOT NULL DEFAULT '',
    current_address   TEXT    NOT NULL DEFAULT '',
    entry_date        TEXT    NOT NULL,
    entry_mode        TEXT    NOT NULL DEFAULT '',
    boarding          INTEGER NOT NULL DEFAULT 0,
    left_behind       INTEGER NOT NULL DEFAULT 0,
    migrant_child     INTEGER NOT NULL DEFAULT 0,
    special_needs     INTEGER NOT NULL DEFAULT 0,
    disability_type   TEXT    NOT NULL DEFAULT '',
    photo             BLOB,
    registered_on     TEXT    NOT NULL,
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL
);
CREATE INDEX students_school ON students (school_id, grade, class_id);
CREATE INDEX students_name_birth ON students (name, birth_date);

CREATE TABLE guardians (
    id         INTEGER PRIMARY KEY,
    student_id INTEGER NOT NULL REFERENCES students (id),
    position   INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    relation   TEXT    NOT NULL,
    phone      TEXT    NOT NULL,
    workplace  TEXT    NOT NULL DEFAULT '',
    UNIQUE (student_id, position)
);
CREATE INDEX guardians_phone ON guardians (phone);

-- Append-only: rows are never updated or deleted.
CREATE TABLE student_events (
    id          INTEGER PRIMARY KEY,
    student_id  INTEGER NOT NULL REFERENCES students (id),
    kind        TEXT    NOT NULL,
    from_status TEXT,
    to_status   TEXT,
    detail      TEXT    NOT NULL DEFAULT '{}',
    proofs      TEXT    NOT NULL DEFAULT '[]',
    actor_id    INTEGER,
    at          TEXT    NOT NULL
);
CREATE INDEX student_events_student ON student_events (student_id, id);

CREATE TABLE problem_records (
    id               INTEGER PRIMARY KEY,
    kind             TEXT    NOT NULL,
    student_id       INTEGER NOT NULL REFERENCES students (id),
    other_student_id INTEGER REFERENCES students (id),
    reason           TEXT    NOT NULL,
    state            TEXT    NOT NULL DEFAULT 'open',
    created_at       TEXT    NOT NULL,
    resolved_by      INTEGER,
    resolved_at      TEXT,
    resolution       TEXT
);
CREATE INDEX problem_records_state ON problem_records (state, student_id);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('bureau_admin', 'bureau_staff', 'registrar')),
    school_id     INTEGER REFERENCES schools (id),
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT    NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    csrf_token TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    client     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Append-only: who read or tried to read what, when and from where.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          TEXT    NOT NULL,
    user_id     INTEGER,
    username    TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target_kind TEXT    NOT NULL,
    target_id   TEXT    NOT NULL,
    school_id   INTEGER,
    outcome     TEXT    NOT NULL,
    client      TEXT    NOT NULL,
    detail      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_target ON audit_log (target_kind, target_id);
