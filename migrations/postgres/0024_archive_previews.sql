-- Page previews: a small JPEG of one page of an archived object, shown beside
-- a search hit. Each is a derived file in the archive (`derived/{sha256}.jpg`),
-- made once on first request; this table says which file holds which page.
-- A missing or damaged file is simply made again.
CREATE TABLE archive_previews (
    digest         TEXT    NOT NULL,
    page           INTEGER NOT NULL CHECK (page >= 1),
    preview_digest TEXT    NOT NULL,
    created_at     TEXT    NOT NULL,
    PRIMARY KEY (digest, page)
);
