-- 0007: per-user API tokens for the JSON API (replacing the one shared admin token).
-- Only the SHA-256 of a token is stored; the token itself is shown once, when created.

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name          TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);
