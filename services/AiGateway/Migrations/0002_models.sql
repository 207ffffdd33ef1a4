-- The gateway's model table: explicit registrations (aliases, Azure deployments, Bedrock model
-- ids, several upstreams per model). A model without a registration routes by name prefix.
CREATE TABLE models (
    id              uuid PRIMARY KEY,
    name            text NOT NULL,          -- what clients send as "model"
    provider_id     text NOT NULL,          -- a provider in Identity's vault
    upstream_model  text NOT NULL,          -- the model's name (or deployment, or model id) there
    priority        integer NOT NULL,       -- lower is tried first
    weight          integer NOT NULL,       -- share of traffic among routes of equal priority
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (name, provider_id)
);

-- Events written with the change they describe, published to RabbitMQ after commit.
CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    message_type  text NOT NULL,
    body          jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
