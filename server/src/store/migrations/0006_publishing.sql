-- 0006: the publishing workflow's facts about each notice (who drafted it, when it was
-- submitted and reviewed, by whom, why it was returned or withdrawn, whether the editor
-- confirmed the confidentiality review), and the configurable list of sensitive words
-- the confidentiality scan flags for reviewers.

ALTER TABLE notices ADD COLUMN created_by TEXT;            -- user name; NULL for ingested or demo items
ALTER TABLE notices ADD COLUMN submitted_at TEXT;          -- RFC 3339, the last submission
ALTER TABLE notices ADD COLUMN reviewed_by TEXT;           -- who approved or returned it last
ALTER TABLE notices ADD COLUMN reviewed_at TEXT;
ALTER TABLE notices ADD COLUMN return_reason TEXT;         -- why it was returned (last time)
ALTER TABLE notices ADD COLUMN withdraw_reason TEXT;
ALTER TABLE notices ADD COLUMN confidentiality_checked INTEGER NOT NULL DEFAULT 0;

CREATE INDEX notices_by_department ON notices(department, status);

CREATE TABLE sensitive_words (
    word      TEXT PRIMARY KEY CHECK (length(word) BETWEEN 1 AND 32),
    added_by  TEXT NOT NULL,
    added_at  TEXT NOT NULL
);
INSERT INTO sensitive_words (word, added_by, added_at) VALUES
    ('绝密', 'system', '2026-12-05T00:00:00Z'),
    ('机密', 'system', '2026-12-05T00:00:00Z'),
    ('秘密', 'system', '2026-12-05T00:00:00Z'),
    ('内部资料', 'system', '2026-12-05T00:00:00Z'),
    ('内部传阅', 'system', '2026-12-05T00:00:00Z'),
    ('注意保存', 'system', '2026-12-05T00:00:00Z');
