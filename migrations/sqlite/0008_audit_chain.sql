-- The audit log as a hash chain: each row carries the hash of the row before
-- it (prev_hash) and its own (hash: sha256 over a canonical encoding of its
-- fields and prev_hash, domain/audit_chain.rs). audit_head holds the last
-- hash and the number of chained rows; writing a row locks it, so rows chain
-- in the order they commit. Rows written before this migration are not
-- chained (empty hashes); `xueji audit verify` counts them apart.
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN hash TEXT NOT NULL DEFAULT '';
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    hash TEXT    NOT NULL,
    rows INTEGER NOT NULL
);
INSERT INTO audit_head (id, hash, rows) VALUES (1, '', 0);
