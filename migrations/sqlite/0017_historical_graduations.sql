-- Pre-system graduates (Art. 31): the bureau records a graduation that
-- happened before this system, typed in from the school's paper ledger
-- (毕业生登记册), whose scan is kept in the archive and named here. Such a
-- graduation is marked `historical`: no certificate is ever issued for it
-- (that would be a reissue), only a 学历证明书. A person not otherwise in
-- the system gets a read-only record with status 'historical'.
ALTER TABLE graduations ADD COLUMN historical INTEGER NOT NULL DEFAULT 0 CHECK (historical IN (0, 1));
-- The day the stage began, as the ledger gives it (the record's own entry
-- date may be another stage's).
ALTER TABLE graduations ADD COLUMN entered_on TEXT;
-- The number of the certificate the school issued at the time, if known.
ALTER TABLE graduations ADD COLUMN original_number TEXT;
-- The sha256 of the ledger scan in the archive.
ALTER TABLE graduations ADD COLUMN evidence_sha256 TEXT;
ALTER TABLE graduations ADD COLUMN recorded_by INTEGER REFERENCES users (id);
ALTER TABLE graduations ADD COLUMN recorded_at TEXT;
CREATE INDEX graduations_historical ON graduations (historical, school_id);
