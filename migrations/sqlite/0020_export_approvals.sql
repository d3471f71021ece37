-- The bureau's written approval for one list of students to leave the
-- service (Art. 33): who approved, why, for whom, and exactly which list
-- (report, reference date, row, column). An export names its approval and
-- carries its number on every page; each export is counted.
CREATE TABLE export_approvals (
    id          INTEGER PRIMARY KEY,
    number      TEXT    NOT NULL UNIQUE,
    document_no TEXT    NOT NULL,
    purpose     TEXT    NOT NULL,
    recipient   TEXT    NOT NULL,
    report      TEXT    NOT NULL,
    as_of       TEXT    NOT NULL,
    row_key     TEXT    NOT NULL,
    col         INTEGER    NOT NULL,
    approved_by INTEGER    REFERENCES users (id),
    approved_at TEXT    NOT NULL,
    expires_on  TEXT    NOT NULL,
    exports     INTEGER    NOT NULL DEFAULT 0
);
