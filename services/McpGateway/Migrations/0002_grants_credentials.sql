-- Tool-level RBAC: a role may use the tools of a server that match a pattern ('*', 'create_*',
-- 'create_issue'). Nothing granted, nothing usable (default deny).
CREATE TABLE grants (
    id          uuid PRIMARY KEY,
    role        text NOT NULL CHECK (role IN ('super_admin', 'admin', 'team_manager', 'developer', 'viewer')),
    server_id   uuid NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    tools       text NOT NULL CHECK (tools ~ '^[A-Za-z0-9_.*-]{1,128}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (role, server_id, tools)
);

-- A user's own credentials for an upstream server, one row per account label. secret is the
-- token (static) or the OAuth token set, sealed with AES-256-GCM (SecretBox, the row id as
-- associated data) under key version key_version. One default account per (server, user).
CREATE TABLE credentials (
    id                 uuid PRIMARY KEY,
    server_id          uuid NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    user_id            text NOT NULL,
    label              text NOT NULL CHECK (label ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    is_default         boolean NOT NULL,
    kind               text NOT NULL CHECK (kind IN ('static', 'oauth')),
    secret             bytea NOT NULL,
    key_version        integer NOT NULL,
    upstream_identity  text,
    expires_at         timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (server_id, user_id, label)
);
CREATE UNIQUE INDEX credentials_one_default ON credentials (server_id, user_id) WHERE is_default;
CREATE INDEX credentials_by_user ON credentials (user_id);
