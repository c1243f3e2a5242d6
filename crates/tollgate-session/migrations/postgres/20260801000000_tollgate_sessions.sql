-- tollgate-session: one row per session (PostgreSQL).
CREATE TABLE IF NOT EXISTS tollgate_sessions (
    id              TEXT    PRIMARY KEY,
    subject         TEXT    NOT NULL,
    device_info     TEXT,
    ip_address      TEXT,
    user_agent      TEXT,
    created_at      BIGINT  NOT NULL,
    last_activity   BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL,
    idle_expires_at BIGINT,
    refresh_jti     TEXT    NOT NULL,
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    -- The refresh jti spent last, and the answer kept for retries within the grace interval.
    spent_jti       TEXT,
    kept_until      BIGINT,
    kept_answer     TEXT
);

CREATE INDEX IF NOT EXISTS tollgate_sessions_subject ON tollgate_sessions (subject, created_at);
CREATE INDEX IF NOT EXISTS tollgate_sessions_expires_at ON tollgate_sessions (expires_at);
