-- 0005: staff accounts with several roles each, lockout, forced password change, and
-- sessions with their CSRF token. No release ever wrote `users` or `sessions` (the
-- command to add accounts did not exist), so both are rebuilt rather than altered.

DROP TABLE sessions;
DROP TABLE users;

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
    display_name   TEXT NOT NULL DEFAULT '',
    password_hash  TEXT NOT NULL,              -- argon2id PHC string
    must_change    INTEGER NOT NULL DEFAULT 1, -- a one-time password: change at first login
    failed_logins  INTEGER NOT NULL DEFAULT 0, -- consecutive failures
    locked_until   TEXT,                       -- RFC 3339, while locked
    disabled       INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL
);

-- A user may hold several roles; editors and reviewers act for one department each
-- (a reviewer without a department reviews for the whole county).
CREATE TABLE user_roles (
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('editor', 'reviewer', 'operator', 'admin')),
    department  TEXT REFERENCES departments(code),
    CHECK (role <> 'editor' OR department IS NOT NULL)
);
CREATE UNIQUE INDEX user_roles_unique ON user_roles(user_id, role, ifnull(department, ''));

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,              -- SHA-256 of the cookie value, never the value
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
