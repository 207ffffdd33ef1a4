-- Users, teams and virtual API keys. Applied inside schema "identity".

CREATE TABLE teams (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    created_at  timestamptz NOT NULL,
    deleted_at  timestamptz
);
CREATE UNIQUE INDEX teams_name_live ON teams (lower(name)) WHERE deleted_at IS NULL;

CREATE TABLE users (
    id              uuid PRIMARY KEY,
    email           text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    display_name    text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    role            text NOT NULL CHECK (role IN ('super_admin', 'admin', 'team_manager', 'developer', 'viewer')),
    -- Argon2id in PHC string form; NULL for users who only sign in through SSO.
    password_hash   text,
    disabled        boolean NOT NULL DEFAULT false,
    failed_logins   integer NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    deleted_at      timestamptz
);
CREATE UNIQUE INDEX users_email_live ON users (lower(email)) WHERE deleted_at IS NULL;

CREATE TABLE team_members (
    team_id     uuid NOT NULL REFERENCES teams (id),
    user_id     uuid NOT NULL REFERENCES users (id),
    is_manager  boolean NOT NULL DEFAULT false,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

CREATE TABLE api_keys (
    id                  uuid PRIMARY KEY,
    -- Shared by a key and the keys that replaced it through rotation.
    lineage_id          uuid NOT NULL,
    -- SHA-256 of the key; the key itself is never stored.
    key_hash            bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    -- "tw-" and the next characters, to recognise a key in lists.
    key_hint            text NOT NULL,
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    owner_user_id       uuid NOT NULL REFERENCES users (id),
    team_id             uuid REFERENCES teams (id),
    surfaces            text[] NOT NULL CHECK (cardinality(surfaces) > 0 AND surfaces <@ ARRAY['ai_gateway', 'mcp_gateway']),
    allowed_models      text[] NOT NULL DEFAULT '{}',
    allowed_mcp_tools   text[] NOT NULL DEFAULT '{}',
    expires_at          timestamptz,
    inactivity_timeout  interval,
    last_used_at        timestamptz,
    created_at          timestamptz NOT NULL,
    revoked_at          timestamptz,
    -- Set on a key that was rotated: it keeps working until then.
    grace_until         timestamptz
);
CREATE INDEX api_keys_owner ON api_keys (owner_user_id);
CREATE INDEX api_keys_lineage ON api_keys (lineage_id);

-- Serialises first-run setup: a single row exists once a super_admin was created.
CREATE TABLE setup_state (
    id              boolean PRIMARY KEY DEFAULT true CHECK (id),
    completed_at    timestamptz NOT NULL,
    super_admin_id  uuid NOT NULL REFERENCES users (id)
);
