-- The pinyin initials of a student's name (刘浩然: lhr; a surname with two
-- readings gives both variants, space-separated), for the staff search.
-- Written with the name; NULL until computed, which the service does for
-- every row at start-up (SQL cannot spell pinyin).
ALTER TABLE students ADD COLUMN name_initials TEXT;
CREATE INDEX students_name_initials ON students (name_initials);
