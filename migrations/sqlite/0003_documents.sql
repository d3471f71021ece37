-- Rendered documents and numbered certificates.
-- Every rendered PDF is recorded: its random document id (the QR token's
-- subject), kind, student, template and version, the sha256 of the bytes
-- served, who issued it and when, and its live status for verification.

CREATE TABLE documents (
    id               INTEGER PRIMARY KEY,
    doc_id           TEXT    NOT NULL UNIQUE,
    kind             TEXT    NOT NULL,
    student_id       INTEGER NOT NULL REFERENCES students (id),
    school_id        INTEGER NOT NULL REFERENCES schools (id),
    number           TEXT,
    template         TEXT    NOT NULL,
    template_version TEXT    NOT NULL,
    sha256           TEXT    NOT NULL,
    kid              TEXT    NOT NULL,
    verify_url       TEXT    NOT NULL,
    extra            TEXT    NOT NULL DEFAULT '{}',
    issue_date       TEXT    NOT NULL,
    issued_by        INTEGER REFERENCES users (id),
    issued_at        TEXT    NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'valid'
                     CHECK (status IN ('valid', 'revoked', 'lost', 'superseded')),
    status_reason    TEXT,
    status_at        TEXT,
    replaced_by      TEXT
);
CREATE INDEX documents_student ON documents (student_id, kind);
CREATE UNIQUE INDEX documents_number ON documents (number) WHERE number IS NOT NULL;

-- One counter per certificate kind and year; a number is taken in the same
-- transaction that records it, so numbers are unique and gap-free.
CREATE TABLE certificate_counters (
    kind TEXT    NOT NULL,
    year INTEGER NOT NULL,
    last INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, year)
);

-- Every number ever allocated, with what became of it (never deleted).
CREATE TABLE certificate_numbers (
    number     TEXT    PRIMARY KEY,
    kind       TEXT    NOT NULL,
    year       INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    state      TEXT    NOT NULL CHECK (state IN ('allocated', 'issued', 'voided')),
    student_id INTEGER REFERENCES students (id),
    doc_id     TEXT,
    reason     TEXT,
    actor_id   INTEGER,
    at         TEXT    NOT NULL,
    UNIQUE (kind, year, seq)
);
CREATE INDEX certificate_numbers_student ON certificate_numbers (student_id, kind);
