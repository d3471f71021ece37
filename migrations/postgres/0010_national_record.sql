-- The national record's items (national-fields.md) that the record lacked.
-- Text items are '' when unknown; coded items and yes/no items are NULL when
-- unknown, never a "no": the old import read an empty cell as 否, so an old 0
-- is not known to be a "no" and is not carried over. The old flag columns
-- stay, renamed legacy_*, so nothing recorded is lost; the code reads the
-- new ones only.

ALTER TABLE students RENAME COLUMN boarding TO legacy_boarding;
ALTER TABLE students RENAME COLUMN left_behind TO legacy_left_behind;
ALTER TABLE students RENAME COLUMN migrant_child TO legacy_migrant_child;
ALTER TABLE students RENAME COLUMN special_needs TO legacy_special_needs;
ALTER TABLE students RENAME COLUMN disability_type TO legacy_disability_type;

ALTER TABLE students ADD COLUMN native_place TEXT NOT NULL DEFAULT '';
ALTER TABLE students ADD COLUMN birthplace_code TEXT NOT NULL DEFAULT '';
ALTER TABLE students ADD COLUMN hmt TEXT;
ALTER TABLE students ADD COLUMN political TEXT;
ALTER TABLE students ADD COLUMN health TEXT;
ALTER TABLE students ADD COLUMN id_valid TEXT NOT NULL DEFAULT '';
ALTER TABLE students ADD COLUMN specialty TEXT NOT NULL DEFAULT '';
ALTER TABLE students ADD COLUMN aux_no TEXT NOT NULL DEFAULT '';
ALTER TABLE students ADD COLUMN seat_no TEXT NOT NULL DEFAULT '';
ALTER TABLE students ADD COLUMN study_mode TEXT;
ALTER TABLE students ADD COLUMN source TEXT NOT NULL DEFAULT '';
ALTER TABLE students ADD COLUMN mailing_address TEXT NOT NULL DEFAULT '';
ALTER TABLE students ADD COLUMN home_address TEXT NOT NULL DEFAULT '';
ALTER TABLE students ADD COLUMN phone TEXT NOT NULL DEFAULT '';
ALTER TABLE students ADD COLUMN postcode TEXT NOT NULL DEFAULT '';
ALTER TABLE students ADD COLUMN email TEXT NOT NULL DEFAULT '';
ALTER TABLE students ADD COLUMN homepage TEXT NOT NULL DEFAULT '';
ALTER TABLE students ADD COLUMN only_child BIGINT;
ALTER TABLE students ADD COLUMN preschool BIGINT;
ALTER TABLE students ADD COLUMN left_behind TEXT;
ALTER TABLE students ADD COLUMN migrant_child BIGINT;
ALTER TABLE students ADD COLUMN orphan BIGINT;
ALTER TABLE students ADD COLUMN martyr_child BIGINT;
ALTER TABLE students ADD COLUMN inclusive TEXT;
ALTER TABLE students ADD COLUMN disability TEXT;

-- What the old columns say for certain. A 住校 was written only when the
-- cell said so; a 随迁子女 "yes" likewise. An old left-behind "yes" does not
-- say 单亲 or 双亲, so the code stays unknown (the legacy column keeps the yes).
UPDATE students SET study_mode = '2' WHERE legacy_boarding = 1;
UPDATE students SET migrant_child = 1 WHERE legacy_migrant_child = 1;
UPDATE students SET disability = CASE legacy_disability_type
        WHEN '视力' THEN '1' WHEN '听力' THEN '2' WHEN '言语' THEN '3' WHEN '肢体' THEN '4'
        WHEN '智力' THEN '5' WHEN '精神' THEN '6' WHEN '多重' THEN '7' ELSE '8' END
    WHERE legacy_disability_type <> '';
UPDATE students SET inclusive = CASE legacy_disability_type
        WHEN '视力' THEN '1' WHEN '听力' THEN '2' WHEN '智力' THEN '3' ELSE '4' END
    WHERE legacy_special_needs = 1;

ALTER TABLE guardians ADD COLUMN relation_note TEXT NOT NULL DEFAULT '';
ALTER TABLE guardians ADD COLUMN current_address TEXT NOT NULL DEFAULT '';
ALTER TABLE guardians ADD COLUMN household_address TEXT NOT NULL DEFAULT '';
ALTER TABLE guardians ADD COLUMN is_guardian BIGINT;
ALTER TABLE guardians ADD COLUMN id_type TEXT NOT NULL DEFAULT '';
ALTER TABLE guardians ADD COLUMN id_number TEXT NOT NULL DEFAULT '';
ALTER TABLE guardians ADD COLUMN ethnicity TEXT NOT NULL DEFAULT '';
ALTER TABLE guardians ADD COLUMN job_title TEXT NOT NULL DEFAULT '';

-- The school's principal and registrar, printed on the forms they sign.
ALTER TABLE schools ADD COLUMN principal TEXT NOT NULL DEFAULT '';
ALTER TABLE schools ADD COLUMN registrar TEXT NOT NULL DEFAULT '';
