-- The working-day calendar as data the bureau updates: every date the State
-- Council's holiday schedule lists (a day off, or a make-up working Saturday
-- or Sunday), seeded from the bundled holidays_cn.csv, and a log of every
-- replacement of a year: who, when, from what source. Dates are YYYY-MM-DD
-- text; instants RFC 3339 UTC text.

CREATE TABLE calendar_days (
    date       TEXT    PRIMARY KEY,
    kind       TEXT    NOT NULL CHECK (kind IN ('holiday', 'workday')),
    name       TEXT    NOT NULL DEFAULT '',
    updated_by INTEGER REFERENCES users (id),
    updated_at TEXT    NOT NULL
);

-- One row per year written: by the seed from the bundled file ('seed'), an
-- upload on the page ('web') or the API ('api'), or the command line ('cli').
-- A year with any row here is never seeded again.
CREATE TABLE calendar_updates (
    id         INTEGER PRIMARY KEY,
    year       INTEGER NOT NULL,
    via        TEXT    NOT NULL CHECK (via IN ('seed', 'web', 'api', 'cli')),
    source     TEXT    NOT NULL DEFAULT '',
    sha256     TEXT    NOT NULL,
    holidays   INTEGER NOT NULL,
    workdays   INTEGER NOT NULL,
    replaced   INTEGER NOT NULL,
    updated_by INTEGER REFERENCES users (id),
    username   TEXT    NOT NULL,
    at         TEXT    NOT NULL
);
CREATE INDEX calendar_updates_year ON calendar_updates (year, id);
-- Two processes starting at once seed a year only once.
CREATE UNIQUE INDEX calendar_updates_seed ON calendar_updates (year) WHERE via = 'seed';
