-- Events written with the change they describe, published to RabbitMQ after commit.
CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    message_type  text NOT NULL,
    body          jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
