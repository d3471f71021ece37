-- The day an event took effect in the record's own calendar (the service's
-- "today" when it was written), so a count "as of 1 September" reads the
-- record as it stood that day. `at` stays the instant it was written.
-- Earlier rows take the date of their instant.
ALTER TABLE student_events ADD COLUMN on_date TEXT;
UPDATE student_events SET on_date = substr(at, 1, 10) WHERE on_date IS NULL;
CREATE INDEX student_events_on_date ON student_events (on_date);
