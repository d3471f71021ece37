-- A certificate belongs to a stage (Art. 30): one 毕业证书 for primary
-- school, one for junior school, and the 义务教育证书 at the end of grade 9.
-- Stages are 'primary' and 'junior' (a special school's grade 9 ends the
-- junior stage).

-- Each graduation of a student: the school and stage it ended, the school
-- year (the July it ended) and the day. Written by the yearly graduation
-- run; the certificates of a stage are issued against it, whatever school
-- the student has gone on to since.
CREATE TABLE graduations (
    id           INTEGER PRIMARY KEY,
    student_id   INTEGER NOT NULL REFERENCES students (id),
    school_id    INTEGER NOT NULL REFERENCES schools (id),
    stage        TEXT    NOT NULL CHECK (stage IN ('primary', 'junior')),
    year         INTEGER NOT NULL,
    graduated_on TEXT    NOT NULL,
    UNIQUE (student_id, stage)
);
CREATE INDEX graduations_school ON graduations (school_id, stage);

-- Earlier graduations, from the runs' events (which name the school) ...
INSERT INTO graduations (student_id, school_id, stage, year, graduated_on)
SELECT e.student_id, sc.id, CASE WHEN sc.kind = 'primary' THEN 'primary' ELSE 'junior' END,
       CAST(json_extract(e.detail, '$.year') AS INTEGER), substr(e.at, 1, 10)
FROM student_events e JOIN schools sc ON sc.code = json_extract(e.detail, '$.school')
WHERE e.kind = 'graduated' AND json_extract(e.detail, '$.year') IS NOT NULL
ON CONFLICT (student_id, stage) DO NOTHING;
-- ... and graduates whose event does not.
INSERT INTO graduations (student_id, school_id, stage, year, graduated_on)
SELECT s.id, s.school_id, CASE WHEN s.grade <= 6 THEN 'primary' ELSE 'junior' END,
       CAST(substr(COALESCE(s.status_since, s.updated_at), 1, 4) AS INTEGER),
       substr(COALESCE(s.status_since, s.updated_at), 1, 10)
FROM students s WHERE s.status = 'graduated'
ON CONFLICT (student_id, stage) DO NOTHING;

-- The stage a certificate (or the 学历证明书 standing in for one) is of.
ALTER TABLE documents ADD COLUMN stage TEXT CHECK (stage IN ('primary', 'junior'));
UPDATE documents SET stage = CASE
    WHEN kind = 'compulsory_certificate' THEN 'junior'
    WHEN json_extract(extra, '$.certificate.stage') = '初中' THEN 'junior'
    WHEN json_extract(extra, '$.certificate.stage') = '小学' THEN 'primary'
    ELSE (SELECT CASE WHEN sc.kind = 'primary' THEN 'primary' ELSE 'junior' END
          FROM schools sc WHERE sc.id = documents.school_id)
  END
WHERE kind IN ('graduation_certificate', 'compulsory_certificate', 'academic_proof');

ALTER TABLE certificate_numbers ADD COLUMN stage TEXT CHECK (stage IN ('primary', 'junior'));
UPDATE certificate_numbers
SET stage = (SELECT d.stage FROM documents d WHERE d.doc_id = certificate_numbers.doc_id)
WHERE doc_id IS NOT NULL;

-- One certificate of a kind per student and stage, issued or lost: never a second sheet.
CREATE UNIQUE INDEX documents_one_per_stage ON documents (student_id, kind, stage)
WHERE number IS NOT NULL AND status IN ('valid', 'lost') AND kind <> 'academic_proof';
