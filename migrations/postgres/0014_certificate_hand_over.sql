-- Issued means handed over (Art. 31): a numbered sheet is printed, then
-- recorded as handed over (颁发) on a day to a named person (the guardian
-- or the graduate). From then on it is never voided and never printed
-- again; a loss goes only through the 学历证明书.
ALTER TABLE documents ADD COLUMN handed_over_on TEXT;
ALTER TABLE documents ADD COLUMN handed_over_to TEXT;
ALTER TABLE documents ADD COLUMN handed_over_by BIGINT REFERENCES users (id);

-- Every issued document's PDF is kept in the archive under its sha256; a
-- later download serves those bytes. The page count travels with them.
ALTER TABLE documents ADD COLUMN pages BIGINT;
-- The sha256 of the data a document was rendered from (not of its
-- template): a form printed again from an unchanged record serves the kept
-- bytes, even after a template edit; a changed record makes a new document.
ALTER TABLE documents ADD COLUMN data_sha256 TEXT;
