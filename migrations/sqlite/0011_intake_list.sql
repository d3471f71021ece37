-- The primary intake list (学前调档名单, Art. 10): the children a school
-- expects for its autumn grade-1 intake, by the five keys the national
-- system looks them up by (证件类型 as its national code, 1 … Z; the number
-- '' for a Z child without one). An entry is open until the child's record
-- is created, then taken up (student_id, taken_up_at). One entry per ID
-- number, across schools and years.
CREATE TABLE intake_list (
    id          INTEGER PRIMARY KEY,
    school_id   INTEGER NOT NULL REFERENCES schools (id),
    intake_year INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    gender      TEXT    NOT NULL CHECK (gender IN ('male', 'female')),
    birth_date  TEXT    NOT NULL,
    id_type     TEXT    NOT NULL,
    id_number   TEXT    NOT NULL DEFAULT '',
    student_id  INTEGER REFERENCES students (id),
    taken_up_at TEXT,
    created_by  INTEGER REFERENCES users (id),
    created_at  TEXT    NOT NULL
);
CREATE UNIQUE INDEX intake_list_id_number ON intake_list (id_number) WHERE id_number <> '';
CREATE INDEX intake_list_school ON intake_list (school_id, student_id);
