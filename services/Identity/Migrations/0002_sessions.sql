-- Console sessions: refresh tokens (hashed, bound to the client IP) and sign-in throttling.

CREATE TABLE sessions (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES users (id),
    client_ip       inet,
    user_agent      text,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    revoke_reason   text
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE refresh_tokens (
    -- SHA-256 of the token; the token itself is never stored.
    token_hash  bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    session_id  uuid NOT NULL REFERENCES sessions (id),
    created_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Failed sign-ins per key ("ip:…" or "account:…"), counted in a window, with a lock once too many.
-- Keyed by the email given, so unknown accounts lock like real ones and reveal nothing.
CREATE TABLE login_throttle (
    key                 text PRIMARY KEY,
    failures            integer NOT NULL,
    window_started_at   timestamptz NOT NULL,
    locked_until        timestamptz
);

ALTER TABLE users DROP COLUMN failed_logins, DROP COLUMN locked_until;
