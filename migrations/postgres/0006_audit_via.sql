-- How the actor came in (page, api, cli, scheduler): the command line and the
-- scheduler act without a staff account and are recorded as such. Rows written
-- before this column existed do not say (empty).
ALTER TABLE audit_log ADD COLUMN via TEXT NOT NULL DEFAULT '';
