-- The CRM's tables (PostgreSQL). Times are Unix seconds; ids are UUID-shaped strings.
CREATE TABLE IF NOT EXISTS crm_organizations (
    id         TEXT    PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);

CREATE TABLE IF NOT EXISTS crm_users (
    id                 TEXT    PRIMARY KEY,
    organization_id    TEXT    NOT NULL REFERENCES crm_organizations (id),
    username           TEXT    NOT NULL,
    email              TEXT    NOT NULL,
    password_hash      TEXT    NOT NULL,
    -- Space-separated role names.
    roles              TEXT    NOT NULL DEFAULT '',
    is_superuser       BOOLEAN NOT NULL DEFAULT FALSE,
    suspended          BOOLEAN NOT NULL DEFAULT FALSE,
    -- Bumped on every role change; carried as `ver` in access tokens.
    permission_version BIGINT  NOT NULL DEFAULT 1,
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS crm_users_username ON crm_users (lower(username));
CREATE UNIQUE INDEX IF NOT EXISTS crm_users_email ON crm_users (email);
CREATE INDEX IF NOT EXISTS crm_users_organization ON crm_users (organization_id, created_at);

CREATE TABLE IF NOT EXISTS crm_customers (
    id              TEXT    PRIMARY KEY,
    organization_id TEXT    NOT NULL REFERENCES crm_organizations (id),
    name            TEXT    NOT NULL,
    email           TEXT,
    phone           TEXT,
    company         TEXT,
    notes           TEXT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);

CREATE INDEX IF NOT EXISTS crm_customers_organization ON crm_customers (organization_id, created_at, id);

-- Generated secrets and other instance-wide settings.
CREATE TABLE IF NOT EXISTS crm_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The durable copy of the in-process revocation store (unused with Redis):
-- `jti:<jti>`, `sid:<sid>`, `cut:<sub>`, `ver:<sub>`, each until `until`.
CREATE TABLE IF NOT EXISTS crm_revocations (
    name  TEXT    PRIMARY KEY,
    value BIGINT  NOT NULL,
    until BIGINT  NOT NULL
);
