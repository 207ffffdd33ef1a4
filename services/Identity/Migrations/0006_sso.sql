-- Single sign-on: pending authorization requests (single use, short-lived) and the external
-- identities linked to users.
CREATE TABLE sso_requests (
    -- SHA-256 of the state parameter.
    state_hash      bytea PRIMARY KEY,
    provider        text NOT NULL,
    nonce           text NOT NULL,
    code_verifier   text NOT NULL,
    client_ip       inet,
    created_at      timestamptz NOT NULL
);

CREATE TABLE user_identities (
    provider    text NOT NULL,
    subject     text NOT NULL,
    user_id     uuid NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX user_identities_user ON user_identities (user_id);
