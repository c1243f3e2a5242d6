-- tollgate-session: one row per session (SQLite).
CREATE TABLE IF NOT EXISTS tollgate_sessions (
    id              TEXT    PRIMARY KEY NOT NULL,
    subject         TEXT    NOT NULL,
    device_info     TEXT,
    ip_address      TEXT,
    user_agent      TEXT,
    created_at      INTEGER NOT NULL,
    last_activity   INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    idle_expires_at INTEGER,
    refresh_jti     TEXT    NOT NULL,
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    -- The refresh jti spent last, and the answer kept for retries within the grace interval.
    spent_jti       TEXT,
    kept_until      INTEGER,
    kept_answer     TEXT
);

CREATE INDEX IF NOT EXISTS tollgate_sessions_subject ON tollgate_sessions (subject, created_at);
CREATE INDEX IF NOT EXISTS tollgate_sessions_expires_at ON tollgate_sessions (expires_at);
