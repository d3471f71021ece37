-- Share codes (分享码): a graduate or guardian gives a third party a short
-- code that opens the verification of one certificate for a chosen period
-- (30-180 days). Only the code's digest is kept; the code is shown once.
-- Every use is counted, so the school can tell the holder how often it was used.
CREATE TABLE share_codes (
    id           INTEGER PRIMARY KEY,
    public_id    TEXT    NOT NULL UNIQUE,
    code_digest  TEXT    NOT NULL UNIQUE,
    doc_id       TEXT    NOT NULL REFERENCES documents (doc_id),
    school_id    INTEGER NOT NULL REFERENCES schools (id),
    holder       TEXT    NOT NULL,
    created_by   INTEGER REFERENCES users (id),
    created_at   TEXT    NOT NULL,
    expires_on   TEXT    NOT NULL,
    revoked_at   TEXT,
    revoked_by   INTEGER REFERENCES users (id),
    uses         INTEGER NOT NULL DEFAULT 0,
    last_used_at TEXT
);
CREATE INDEX share_codes_doc ON share_codes (doc_id);
