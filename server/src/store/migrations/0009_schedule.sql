-- 0009: operator scheduling: programme blocks, the schedule of each channel, urgent
-- overrides (two-person rule), and each channel's fallback and guide settings.

CREATE TABLE blocks (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 40),  -- title in the guide
    description  TEXT NOT NULL DEFAULT '',                                     -- guide description
    updated_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL                                                 -- RFC 3339
);

-- The ordered content selectors of a block (see schedule::block::Selector).
CREATE TABLE block_items (
    block_id  INTEGER NOT NULL REFERENCES blocks(id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    selector  TEXT NOT NULL,
    arg       TEXT NOT NULL DEFAULT '',
    count     INTEGER NOT NULL DEFAULT 0,
    dwell     INTEGER NOT NULL CHECK (dwell BETWEEN 3 AND 300),
    PRIMARY KEY (block_id, position)
);

ALTER TABLE channels ADD COLUMN fallback_block INTEGER REFERENCES blocks(id);  -- NULL: the default sequence
ALTER TABLE channels ADD COLUMN epg_per_notice INTEGER NOT NULL DEFAULT 0;     -- guide lists each screen

-- Blocks placed on a channel. Times are China Standard Time (+08:00, no daylight saving).
CREATE TABLE schedule_entries (
    id          INTEGER PRIMARY KEY,
    channel     TEXT NOT NULL REFERENCES channels(name),
    block_id    INTEGER NOT NULL REFERENCES blocks(id),
    start_time  TEXT NOT NULL,                 -- HH:MM:SS
    minutes     INTEGER NOT NULL CHECK (minutes BETWEEN 1 AND 1440),
    repeat      TEXT NOT NULL CHECK (repeat IN ('once', 'daily', 'weekdays', 'days')),
    weekdays    INTEGER NOT NULL DEFAULT 0,    -- 'days': bit 0 = Monday … bit 6 = Sunday
    date_from   TEXT NOT NULL,                 -- YYYY-MM-DD (the date of a 'once')
    date_until  TEXT,                          -- last date, NULL: no end
    exceptions  TEXT NOT NULL DEFAULT '[]',    -- JSON ["YYYY-MM-DD"]: dates it does not air
    hard        INTEGER NOT NULL DEFAULT 0,    -- cuts in at the second
    priority    INTEGER NOT NULL DEFAULT 0,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX schedule_entries_by_channel ON schedule_entries(channel);

-- An urgent notice on chosen channels; airs only once a second operator or admin approved.
CREATE TABLE overrides (
    id            INTEGER PRIMARY KEY,
    notice_id     INTEGER NOT NULL REFERENCES notices(id),
    channels      TEXT NOT NULL,               -- JSON ["county", …]
    starts_at     TEXT NOT NULL,               -- RFC 3339 UTC
    ends_at       TEXT NOT NULL,
    form          TEXT NOT NULL CHECK (form IN ('full', 'band')),
    requested_by  TEXT NOT NULL,
    requested_at  TEXT NOT NULL,
    approved_by   TEXT,
    approved_at   TEXT,
    cancelled_by  TEXT,
    cancelled_at  TEXT
);
