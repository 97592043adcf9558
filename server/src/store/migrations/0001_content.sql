-- 0001: the county's content: regions, publishing bodies, the disclosure catalogue,
-- service guides, notices with public lists, cases and polls.

CREATE TABLE regions (
    code    TEXT PRIMARY KEY,
    name    TEXT NOT NULL,
    level   TEXT NOT NULL CHECK (level IN ('county', 'town', 'village')),
    parent  TEXT REFERENCES regions(code),
    CHECK ((level = 'county') = (parent IS NULL))
);
CREATE INDEX regions_parent ON regions(parent);

CREATE TABLE departments (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    short_name  TEXT NOT NULL,
    region      TEXT NOT NULL REFERENCES regions(code),
    phone       TEXT NOT NULL DEFAULT '',
    address     TEXT NOT NULL DEFAULT ''
);

-- 主题分类
CREATE TABLE subjects (
    code  TEXT PRIMARY KEY,
    name  TEXT NOT NULL UNIQUE
);

-- 服务对象
CREATE TABLE audiences (
    code  TEXT PRIMARY KEY,
    name  TEXT NOT NULL UNIQUE
);

-- 政府信息公开目录: disclosure items, administrative power items, convenience services.
CREATE TABLE catalogue_entries (
    id                INTEGER PRIMARY KEY,
    index_no          TEXT NOT NULL UNIQUE,               -- 索引号
    kind              TEXT NOT NULL CHECK (kind IN ('disclosure', 'power', 'service')),
    title             TEXT NOT NULL CHECK (length(title) > 0),
    department        TEXT NOT NULL REFERENCES departments(code),
    doc_no            TEXT,                               -- 文号
    issued_on         TEXT NOT NULL,                      -- YYYY-MM-DD
    subject           TEXT NOT NULL REFERENCES subjects(code),
    valid_from        TEXT,
    valid_until       TEXT,
    summary           TEXT NOT NULL DEFAULT '',
    body              TEXT NOT NULL DEFAULT '',
    update_frequency  TEXT NOT NULL CHECK (update_frequency IN
                          ('monthly', 'quarterly', 'half_yearly', 'yearly', 'on_change')),
    updated_at        TEXT NOT NULL,                      -- RFC 3339
    power_type        TEXT,                               -- 行政许可, 行政处罚, ... for power items
    url               TEXT,
    source            TEXT,                               -- ingest source name, NULL for local entries
    source_id         TEXT,
    missing_from_source INTEGER NOT NULL DEFAULT 0,
    CHECK ((kind = 'power') = (power_type IS NOT NULL))
);
CREATE INDEX catalogue_by_department ON catalogue_entries(department, kind);
CREATE INDEX catalogue_by_subject ON catalogue_entries(subject, kind);
CREATE UNIQUE INDEX catalogue_by_source ON catalogue_entries(source, source_id) WHERE source IS NOT NULL;

CREATE TABLE catalogue_audiences (
    entry_id  INTEGER NOT NULL REFERENCES catalogue_entries(id) ON DELETE CASCADE,
    audience  TEXT NOT NULL REFERENCES audiences(code),
    PRIMARY KEY (entry_id, audience)
);
CREATE INDEX catalogue_audiences_by_audience ON catalogue_audiences(audience);

-- 办事指南 for power and service items. List-valued fields hold JSON arrays.
CREATE TABLE service_guides (
    entry_id             INTEGER PRIMARY KEY REFERENCES catalogue_entries(id) ON DELETE CASCADE,
    conditions           TEXT NOT NULL,   -- JSON ["…"]
    materials            TEXT NOT NULL,   -- JSON [{"name","copies","note"}]
    steps                TEXT NOT NULL,   -- JSON ["…"]
    legal_limit_days     INTEGER,
    promised_limit_days  INTEGER,
    fees                 TEXT NOT NULL DEFAULT '',
    place                TEXT NOT NULL DEFAULT '',
    hours                TEXT NOT NULL DEFAULT '',
    phone                TEXT NOT NULL DEFAULT '',
    online_url           TEXT,
    basis                TEXT NOT NULL DEFAULT ''
);

-- The process of an administrative power item (岗位, 权限, 程序, 时限), for the flowchart screen.
CREATE TABLE power_steps (
    entry_id    INTEGER NOT NULL REFERENCES catalogue_entries(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    name        TEXT NOT NULL,
    post        TEXT NOT NULL,
    authority   TEXT NOT NULL,
    procedure   TEXT NOT NULL,
    time_limit  TEXT NOT NULL,
    PRIMARY KEY (entry_id, seq)
);

-- 通知公告 and 公示.
CREATE TABLE notices (
    id                  INTEGER PRIMARY KEY,
    kind                TEXT NOT NULL CHECK (kind IN ('notice', 'publicity')),
    title               TEXT NOT NULL CHECK (length(title) > 0),
    department          TEXT NOT NULL REFERENCES departments(code),
    region              TEXT NOT NULL REFERENCES regions(code),
    published_at        TEXT,
    valid_from          TEXT NOT NULL,
    valid_until         TEXT,
    objection_start     TEXT,
    objection_end       TEXT,
    objection_contact   TEXT,
    objection_phone     TEXT,
    objection_address   TEXT,
    priority            TEXT NOT NULL CHECK (priority IN ('normal', 'important', 'urgent')),
    status              TEXT NOT NULL CHECK (status IN
                            ('draft', 'submitted', 'returned', 'approved', 'published', 'expired', 'withdrawn')),
    body                TEXT NOT NULL,
    source              TEXT,
    source_id           TEXT,
    missing_from_source INTEGER NOT NULL DEFAULT 0,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX notices_on_air ON notices(status, region, priority);
CREATE UNIQUE INDEX notices_by_source ON notices(source, source_id) WHERE source IS NOT NULL;

-- Public lists attached to a notice (e.g. subsidy recipients). Stored whole; masked when aired.
CREATE TABLE public_lists (
    id         INTEGER PRIMARY KEY,
    notice_id  INTEGER NOT NULL REFERENCES notices(id) ON DELETE CASCADE,
    title      TEXT NOT NULL,
    columns    TEXT NOT NULL          -- JSON ["姓名", …] as published
);
CREATE TABLE public_list_rows (
    list_id    INTEGER NOT NULL REFERENCES public_lists(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    name       TEXT NOT NULL,
    village    TEXT REFERENCES regions(code),
    amount     TEXT,
    id_number  TEXT,
    phone      TEXT,
    note       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (list_id, seq)
);

-- 办件.
CREATE TABLE cases (
    id              INTEGER PRIMARY KEY,
    case_no         TEXT NOT NULL UNIQUE,
    entry_id        INTEGER REFERENCES catalogue_entries(id),
    item_title      TEXT NOT NULL,
    department      TEXT NOT NULL REFERENCES departments(code),
    applicant       TEXT NOT NULL,
    applicant_kind  TEXT NOT NULL CHECK (applicant_kind IN ('individual', 'enterprise')),
    received_on     TEXT NOT NULL,
    due_on          TEXT NOT NULL,
    completed_on    TEXT,
    status          TEXT NOT NULL CHECK (status IN
                        ('accepted', 'in_progress', 'awaiting_materials', 'completed', 'refused', 'withdrawn')),
    note            TEXT NOT NULL DEFAULT '',
    source          TEXT,
    updated_at      TEXT NOT NULL
);
CREATE INDEX cases_by_status ON cases(status, due_on);

CREATE TABLE polls (
    id        INTEGER PRIMARY KEY,
    question  TEXT NOT NULL,
    region    TEXT NOT NULL REFERENCES regions(code),
    opens_on  TEXT NOT NULL,
    closes_on TEXT NOT NULL,
    CHECK (opens_on <= closes_on)
);
CREATE TABLE poll_options (
    poll_id  INTEGER NOT NULL REFERENCES polls(id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL CHECK (seq BETWEEN 1 AND 9),
    label    TEXT NOT NULL,
    votes    INTEGER NOT NULL DEFAULT 0 CHECK (votes >= 0),
    PRIMARY KEY (poll_id, seq)
);

-- Small key/value facts about the store itself (e.g. which demo county was loaded).
CREATE TABLE store_facts (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
