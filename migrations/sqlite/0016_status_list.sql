-- The published status list (in the manner of the W3C Bitstring Status
-- List): every document printed from now on gets an index, carried in its
-- token, whose bit in the signed list says revoked or lost. Indexes come
-- from one counter; a render that fails leaves a gap (a bit never set).
CREATE TABLE status_list_counter (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    last INTEGER NOT NULL
);
INSERT INTO status_list_counter (id, last) VALUES (1, 0);
ALTER TABLE documents ADD COLUMN status_index INTEGER;
CREATE UNIQUE INDEX documents_status_index ON documents (status_index) WHERE status_index IS NOT NULL;
