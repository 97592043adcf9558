-- Set-top boxes that registered with the headend, their poll votes and view counts.
CREATE TABLE boxes (
    id            TEXT PRIMARY KEY,                 -- box-<16 hex>
    device        TEXT NOT NULL UNIQUE,             -- the box's own device id
    region        TEXT NOT NULL REFERENCES regions(code),
    profile       TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,                    -- SHA-256 of the secret, hex; the secret itself is never stored
    registered_at TEXT NOT NULL,
    last_seen     TEXT NOT NULL
);

-- One vote per box per poll.
CREATE TABLE box_votes (
    poll_id  INTEGER NOT NULL REFERENCES polls(id) ON DELETE CASCADE,
    box_id   TEXT NOT NULL REFERENCES boxes(id) ON DELETE CASCADE,
    option   INTEGER NOT NULL,
    voted_at TEXT NOT NULL,
    PRIMARY KEY (poll_id, box_id)
);

-- Anonymous views per screen per day and region, as boxes report them (one report a box a day).
CREATE TABLE screen_views (
    day    TEXT NOT NULL,
    screen TEXT NOT NULL,
    region TEXT NOT NULL,
    views  INTEGER NOT NULL CHECK (views >= 0),
    PRIMARY KEY (day, screen, region)
);
CREATE TABLE box_reports (
    box_id TEXT NOT NULL REFERENCES boxes(id) ON DELETE CASCADE,
    day    TEXT NOT NULL,
    PRIMARY KEY (box_id, day)
);
