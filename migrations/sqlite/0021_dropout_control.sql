-- Dropout control (控辍保学): the monthly ledger of every pupil out of
-- school. An entry opens when a pupil is reported a suspected dropout, a
-- dropout or missing (in the same transaction as the status), or when the
-- school puts on it a pupil abroad without an application or otherwise
-- gone; it closes when the pupil returns or leaves the record. It names
-- the teacher responsible (包保教师), and its home visits are kept beside it.
CREATE TABLE dropout_watch (
    id          INTEGER PRIMARY KEY,
    student_id  INTEGER    NOT NULL REFERENCES students (id),
    school_id   INTEGER    NOT NULL REFERENCES schools (id),
    kind        TEXT    NOT NULL CHECK (kind IN ('suspected', 'dropout', 'missing', 'abroad_unapplied', 'left_other')),
    since       TEXT    NOT NULL,
    teacher     TEXT    NOT NULL DEFAULT '',
    reason      TEXT    NOT NULL DEFAULT '',
    opened_by   INTEGER    REFERENCES users (id),
    opened_on   TEXT    NOT NULL,
    returned_on TEXT,
    outcome     TEXT,
    closed_on   TEXT
);
CREATE INDEX dropout_watch_school ON dropout_watch (school_id, closed_on);
CREATE INDEX dropout_watch_student ON dropout_watch (student_id, closed_on);

CREATE TABLE dropout_visits (
    id          INTEGER PRIMARY KEY,
    watch_id    INTEGER    NOT NULL REFERENCES dropout_watch (id),
    visited_on  TEXT    NOT NULL,
    visitor     TEXT    NOT NULL,
    result      TEXT    NOT NULL,
    recorded_by INTEGER    REFERENCES users (id),
    at          TEXT    NOT NULL
);
CREATE INDEX dropout_visits_watch ON dropout_visits (watch_id);

-- Each school's ledger for a month: submitted by the school (by the 28th),
-- closed by the bureau.
CREATE TABLE dropout_months (
    school_id    INTEGER    NOT NULL REFERENCES schools (id),
    month        TEXT    NOT NULL,
    entries      INTEGER    NOT NULL,
    submitted_by INTEGER    REFERENCES users (id),
    submitted_on TEXT    NOT NULL,
    closed_by    INTEGER    REFERENCES users (id),
    closed_on    TEXT,
    PRIMARY KEY (school_id, month)
);

-- Absence reported by the school (the early warning): open until the pupil
-- is back or reported a suspected dropout.
CREATE TABLE absences (
    id          INTEGER    PRIMARY KEY,
    student_id  INTEGER    NOT NULL REFERENCES students (id),
    school_id   INTEGER    NOT NULL REFERENCES schools (id),
    since       TEXT    NOT NULL,
    note        TEXT    NOT NULL DEFAULT '',
    reported_by INTEGER    REFERENCES users (id),
    reported_on TEXT    NOT NULL,
    ended_on    TEXT
);
CREATE INDEX absences_open ON absences (school_id, ended_on);

-- Pupils out of school before the ledger existed are on it from their status's start.
INSERT INTO dropout_watch (student_id, school_id, kind, since, opened_on)
SELECT id, school_id,
       CASE status WHEN 'suspected_dropout' THEN 'suspected' WHEN 'dropout' THEN 'dropout' ELSE 'missing' END,
       COALESCE(status_since, substr(updated_at, 1, 10)), COALESCE(status_since, substr(updated_at, 1, 10))
FROM students WHERE status IN ('suspected_dropout', 'dropout', 'missing');
