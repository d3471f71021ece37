-- The bureau's hold on intake (Art. 3, 4, 7, 18).
-- Instants are RFC 3339 text; dates YYYY-MM-DD text; flags 0/1 integers.

-- Each school's autumn intake plan for a year (Art. 3, 7): the classes and
-- places of its entry grade (1, or 7 for a junior school). The bureau
-- issues a plan once; it changes only on the school's written request,
-- approved by the bureau. `late_until` / `late_reason`: the bureau allows
-- intake after the autumn window, until that day, and says why.
CREATE TABLE intake_plans (
    id          INTEGER PRIMARY KEY,
    school_id   INTEGER NOT NULL REFERENCES schools (id),
    year        INTEGER NOT NULL,
    grade       INTEGER NOT NULL,
    classes     INTEGER NOT NULL,
    places      INTEGER NOT NULL,
    late_until  TEXT,
    late_reason TEXT    NOT NULL DEFAULT '',
    issued_by   TEXT    NOT NULL,
    issued_at   TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    UNIQUE (school_id, year)
);

-- A plan's history, never changed but for a request's decision: the issue
-- (in force from the start), each change request with the digest of its
-- scan in the archive (pending, then approved or refused), each late-intake
-- permission.
CREATE TABLE intake_plan_history (
    id          INTEGER PRIMARY KEY,
    plan_id     INTEGER NOT NULL REFERENCES intake_plans (id),
    kind        TEXT    NOT NULL CHECK (kind IN ('issued', 'request', 'late_intake')),
    classes     INTEGER,
    places      INTEGER,
    reason      TEXT    NOT NULL DEFAULT '',
    scan_digest TEXT,
    state       TEXT    NOT NULL CHECK (state IN ('in_force', 'pending', 'approved', 'refused')),
    filed_by    TEXT    NOT NULL,
    filed_at    TEXT    NOT NULL,
    decided_by  TEXT,
    decided_at  TEXT,
    decision    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX intake_plan_history_plan ON intake_plan_history (plan_id, id);

-- Applications for delayed entry (延缓入学, Art. 4): a guardian's request with
-- a county-level (or higher) hospital's diagnosis (its scan in the archive,
-- by digest), filed by the school, decided by the bureau. An approved child
-- is expected in `expected_year`'s intake; `student_id` is the record once
-- the child enters.
CREATE TABLE delayed_entries (
    id               INTEGER PRIMARY KEY,
    public_id        TEXT    NOT NULL UNIQUE,
    school_id        INTEGER NOT NULL REFERENCES schools (id),
    intake_year      INTEGER NOT NULL,
    expected_year    INTEGER NOT NULL,
    name             TEXT    NOT NULL,
    gender           TEXT    NOT NULL CHECK (gender IN ('male', 'female')),
    birth_date       TEXT    NOT NULL,
    id_number        TEXT    NOT NULL,
    guardian_name    TEXT    NOT NULL,
    guardian_phone   TEXT    NOT NULL,
    hospital         TEXT    NOT NULL,
    diagnosis        TEXT    NOT NULL,
    diagnosis_digest TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('pending', 'approved', 'refused', 'withdrawn')),
    filed_by         TEXT    NOT NULL,
    filed_at         TEXT    NOT NULL,
    decided_by       TEXT,
    decided_at       TEXT,
    decision         TEXT    NOT NULL DEFAULT '',
    student_id       INTEGER REFERENCES students (id)
);
CREATE INDEX delayed_entries_expected ON delayed_entries (expected_year, state);
CREATE INDEX delayed_entries_id_number ON delayed_entries (id_number, state);

-- Each school's catchment area (学区, Art. 7, 18): the streets, compounds,
-- villages or townships it takes children from, as addresses spell them.
-- A school without places has no area recorded (its intake is not judged).
CREATE TABLE catchment_places (
    school_id INTEGER NOT NULL REFERENCES schools (id),
    position  INTEGER NOT NULL,
    place     TEXT    NOT NULL,
    PRIMARY KEY (school_id, position)
);

-- The county-town schools the bureau directs migrant workers' children to
-- (Art. 18: 第二实验小学, 城郊小学, 第四中学), kept as data.
ALTER TABLE schools ADD COLUMN migrant_children INTEGER NOT NULL DEFAULT 0;
