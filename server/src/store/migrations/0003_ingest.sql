-- 0003: ingest from the county e-government platform: the sources polled with their
-- state, the items a pass rejected and why, and the columns that tie an ingested row to
-- the version of the source item it was made from.

-- One row per source. Definition columns come from the config file (origin 'config',
-- rewritten at every start) or the admin API (origin 'api'); state columns belong to the
-- poller. Times are RFC 3339 in county time.
CREATE TABLE sources (
    name                  TEXT PRIMARY KEY CHECK (length(name) <= 64 AND name GLOB '[a-z0-9]*' AND name NOT GLOB '*[^a-z0-9-]*'),
    url                   TEXT NOT NULL CHECK (length(url) > 0),   -- http(s):// URL or a file path
    kind                  TEXT NOT NULL CHECK (kind IN ('notices', 'catalogue', 'cases')),
    format                TEXT NOT NULL DEFAULT 'auto' CHECK (format IN ('auto', 'rss', 'atom', 'json_feed', 'csv', 'json')),
    department            TEXT,                                    -- default publishing body (departments.code)
    region                TEXT,                                    -- default region (regions.code); NULL = the county
    interval_secs         INTEGER NOT NULL DEFAULT 60 CHECK (interval_secs >= 1),
    trusted               INTEGER NOT NULL DEFAULT 0 CHECK (trusted IN (0, 1)),
    timeout_secs          INTEGER NOT NULL DEFAULT 30 CHECK (timeout_secs >= 1),
    max_bytes             INTEGER NOT NULL DEFAULT 8388608 CHECK (max_bytes >= 1024),
    origin                TEXT NOT NULL CHECK (origin IN ('config', 'api')),
    etag                  TEXT,                                    -- validators for conditional GET
    last_modified         TEXT,
    last_attempt_at       TEXT,
    last_success_at       TEXT,
    last_outcome          TEXT CHECK (last_outcome IN ('changed', 'not_modified', 'error')),
    last_report           TEXT,                                    -- JSON counts of the last completed pass
    last_error            TEXT,                                    -- kept after recovery, with its time
    last_error_at         TEXT,
    consecutive_failures  INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    next_attempt_at       TEXT,                                    -- NULL = due now
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);

-- Items the latest pass of a source rejected or held back, with the reason for staff.
-- Not tied to `sources` by a key: `headend import` records passes of ad-hoc sources too.
CREATE TABLE ingest_rejections (
    source    TEXT NOT NULL,
    item_key  TEXT NOT NULL,              -- guid / link / 索引号 / 办件编号, or the row number
    title     TEXT NOT NULL DEFAULT '',
    code      TEXT NOT NULL,              -- English slug for logs and filters, e.g. placeholder_body
    reason    TEXT NOT NULL,              -- Chinese, e.g. 正文为空或为占位内容“暂无”
    first_at  TEXT NOT NULL,
    last_at   TEXT NOT NULL,
    PRIMARY KEY (source, item_key)
);

-- Hash of the source item an ingested row was last written from: equal hash = unchanged.
ALTER TABLE notices ADD COLUMN source_hash TEXT;
ALTER TABLE catalogue_entries ADD COLUMN source_hash TEXT;
ALTER TABLE cases ADD COLUMN source_id TEXT;
ALTER TABLE cases ADD COLUMN missing_from_source INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN source_hash TEXT;
CREATE INDEX cases_by_source ON cases(source, source_id) WHERE source IS NOT NULL;

-- Duplicate checks look items up by title.
CREATE INDEX notices_by_title ON notices(title);
CREATE INDEX catalogue_by_title ON catalogue_entries(title);
