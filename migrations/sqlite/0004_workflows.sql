-- Status workflows (Art. 15-29): applications with ordered approvals
-- ("cases"), the proofs filed with them, recall notices, and the yearly
-- graduation and promotion runs. Status changes themselves are written to
-- student_events in the same transaction as the case that causes them.

-- Dates are YYYY-MM-DD text; instants RFC 3339 UTC text.
CREATE TABLE cases (
    id              INTEGER PRIMARY KEY,
    public_id       TEXT    NOT NULL UNIQUE,
    kind            TEXT    NOT NULL
                    CHECK (kind IN ('transfer', 'abroad', 'suspension', 'renewal', 'resumption', 'info_change')),
    student_id      INTEGER NOT NULL REFERENCES students (id),
    -- The student's school when the case was opened (the sending school of a transfer).
    school_id       INTEGER NOT NULL REFERENCES schools (id),
    -- A transfer inside this system: the receiving school and class.
    to_school_id    INTEGER REFERENCES schools (id),
    to_class_id     INTEGER REFERENCES classes (id),
    state           TEXT    NOT NULL CHECK (state IN ('open', 'completed', 'refused', 'withdrawn')),
    -- The stage waiting for a decision, while open.
    stage           TEXT,
    stage_since     TEXT    NOT NULL,
    stage_due       TEXT,
    detail          TEXT    NOT NULL DEFAULT '{}',
    override_reason TEXT,
    opened_by       INTEGER REFERENCES users (id),
    opened_on       TEXT    NOT NULL,
    opened_at       TEXT    NOT NULL,
    closed_on       TEXT,
    -- A completed transfer: the sending school hands the dossier over within a month.
    handover_due    TEXT,
    handed_over_on  TEXT,
    received_on     TEXT
);
CREATE INDEX cases_student ON cases (student_id, id);
CREATE INDEX cases_state ON cases (state, stage_due);
-- At most one open application per student.
CREATE UNIQUE INDEX cases_one_open ON cases (student_id) WHERE state = 'open';

-- One decision per stage; never changed.
CREATE TABLE case_steps (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    stage       TEXT    NOT NULL,
    decision    TEXT    NOT NULL CHECK (decision IN ('approve', 'refuse')),
    opinion     TEXT    NOT NULL DEFAULT '',
    signer      TEXT    NOT NULL,
    decided_on  TEXT    NOT NULL,
    due_on      TEXT,
    late        INTEGER NOT NULL DEFAULT 0,
    by_hand     INTEGER NOT NULL DEFAULT 0,
    proof       TEXT,
    recorded_by INTEGER REFERENCES users (id),
    at          TEXT    NOT NULL,
    UNIQUE (case_id, stage)
);

-- Scans filed with a case (objects in the student's dossier, by sha256).
CREATE TABLE case_proofs (
    id       INTEGER PRIMARY KEY,
    case_id  INTEGER NOT NULL REFERENCES cases (id),
    digest   TEXT    NOT NULL,
    label    TEXT    NOT NULL,
    added_by INTEGER REFERENCES users (id),
    at       TEXT    NOT NULL
);
CREATE INDEX case_proofs_case ON case_proofs (case_id);

-- Recall notices (劝返复学通知书, Art. 29) and what became of them.
CREATE TABLE recalls (
    id            INTEGER PRIMARY KEY,
    number        TEXT    NOT NULL UNIQUE,
    student_id    INTEGER NOT NULL REFERENCES students (id),
    school_id     INTEGER NOT NULL REFERENCES schools (id),
    absent_since  TEXT    NOT NULL,
    issued_on     TEXT    NOT NULL,
    return_by     TEXT    NOT NULL,
    doc_id        TEXT,
    delivered_on  TEXT,
    delivered_to  TEXT,
    delivery      TEXT,
    returned_on   TEXT,
    issued_by     INTEGER REFERENCES users (id),
    at            TEXT    NOT NULL
);
CREATE INDEX recalls_student ON recalls (student_id, id);

-- The yearly runs: each kind once per year.
CREATE TABLE year_runs (
    kind    TEXT    NOT NULL CHECK (kind IN ('graduation', 'promotion')),
    year    INTEGER NOT NULL,
    run_by  INTEGER REFERENCES users (id),
    run_at  TEXT    NOT NULL,
    summary TEXT    NOT NULL,
    PRIMARY KEY (kind, year)
);

-- When the current status began and, for a suspension, when it runs out;
-- for a (suspected) dropout, the first day of absence.
ALTER TABLE students ADD COLUMN status_since TEXT;
ALTER TABLE students ADD COLUMN status_until TEXT;

-- Seats in a class are counted by class (caps, promotion, transfers).
CREATE INDEX students_class ON students (class_id, status);
