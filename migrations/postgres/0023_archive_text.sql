-- The text read off each archived object (OCR of scans, a PDF's own text
-- layer), its queue, and the full-text index over it.
--
-- The text itself is a derived file in the archive (`derived/{sha256}.json`,
-- one per object and reading, listing the engine, its version and each
-- page); these tables are the work queue and the index, rebuilt from those
-- files by `xueji archive reindex`.

-- One job per object (by digest): queued when an index row first names it,
-- taken by one worker at a time (`instance`, `heartbeat_at`: a job whose
-- worker stopped is taken again), retried up to the limit, then failed with
-- its code kept.
CREATE TABLE ocr_jobs (
    digest       TEXT    PRIMARY KEY,
    media_type   TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts     BIGINT  NOT NULL DEFAULT 0,
    error_code   TEXT,
    instance     TEXT,
    heartbeat_at TEXT,
    queued_at    TEXT    NOT NULL,
    finished_at  TEXT
);
CREATE INDEX ocr_jobs_state ON ocr_jobs (state, queued_at);

-- The reading kept for an object: which derived file holds it.
CREATE TABLE archive_texts (
    digest         TEXT    PRIMARY KEY,
    text_digest    TEXT    NOT NULL,
    source         TEXT    NOT NULL CHECK (source IN ('ocr', 'pdf_text')),
    engine         TEXT    NOT NULL,
    engine_version TEXT    NOT NULL,
    pages          BIGINT  NOT NULL,
    chars          BIGINT  NOT NULL,
    created_at     TEXT    NOT NULL
);

-- Each page's text, as read (normalized: no blanks between Chinese
-- characters), and its terms (characters and character pairs of Chinese
-- text, words of Latin letters and digits) as lexemes, made by the service:
-- no text-search parser or dictionary of the server is used.
CREATE TABLE archive_text_pages (
    id     BIGSERIAL PRIMARY KEY,
    digest TEXT      NOT NULL REFERENCES archive_texts (digest),
    page   BIGINT    NOT NULL,
    text   TEXT      NOT NULL,
    terms  TSVECTOR  NOT NULL,
    UNIQUE (digest, page)
);
CREATE INDEX archive_text_pages_terms ON archive_text_pages USING GIN (terms);
