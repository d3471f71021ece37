-- Failed sign-ins, per account ('account:<name>') and per client address
-- ('address:<ip>'), for throttling (domain/throttle.rs): kept in the database
-- so that every instance of the service sees the same count. A successful
-- sign-in or the bureau administrator's unlock removes an account's row.
-- last_failure_at is in Unix milliseconds.
CREATE TABLE login_attempts (
    key             TEXT    PRIMARY KEY,
    failures        BIGINT  NOT NULL,
    last_failure_at BIGINT  NOT NULL
);
