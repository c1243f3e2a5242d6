-- Sign-in attempts on known accounts, successful and failed (GET /api/auth/logins).
CREATE TABLE IF NOT EXISTS crm_login_attempts (
    -- Insertion order: attempts within one second keep their order.
    seq        BIGSERIAL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES crm_users (id) ON DELETE CASCADE,
    at         BIGINT  NOT NULL,
    success    BOOLEAN NOT NULL,
    ip_address TEXT,
    user_agent TEXT
);

CREATE INDEX IF NOT EXISTS crm_login_attempts_user ON crm_login_attempts (user_id, seq);
