-- SIEM forwarders: where events go besides ClickHouse. settings holds the kind's fields
-- (host/port, url, batch size, attempts, …); secret_sealed the webhook signing secret,
-- AES-256-GCM sealed with the vault key of secret_key_version (the row id is the associated data).
CREATE TABLE log_forwarders (
    id                  uuid PRIMARY KEY,
    name                text NOT NULL UNIQUE,
    kind                text NOT NULL CHECK (kind IN ('syslog_udp', 'syslog_tcp', 'webhook', 'kafka')),
    event_kinds         text[] NOT NULL,
    enabled             boolean NOT NULL DEFAULT true,
    settings            jsonb NOT NULL,
    secret_sealed       bytea,
    secret_key_version  integer,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- Batches a forwarder could not take after its attempts: kept (not lost) and offered to it
-- again, oldest first, until it takes them or the forwarder is deleted.
CREATE TABLE forwarder_dead_letters (
    id            bigserial PRIMARY KEY,
    forwarder_id  uuid NOT NULL REFERENCES log_forwarders (id) ON DELETE CASCADE,
    event_kind    text NOT NULL,
    events        jsonb NOT NULL,
    event_count   integer NOT NULL,
    attempts      integer NOT NULL,
    last_error    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX forwarder_dead_letters_by_forwarder ON forwarder_dead_letters (forwarder_id, id);

-- Events written with a change, published after it commits (admin audit records of forwarder changes).
CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    message_type  text NOT NULL,
    body          jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
