-- Upstream MCP servers. name is the namespace of everything the server offers through the
-- gateway (`github__create_issue`, `github+repo://…`), so it is short, lower case and never
-- changes once clients have seen it. status is the last health probe's verdict.
CREATE TABLE servers (
    id             uuid PRIMARY KEY,
    name           text NOT NULL UNIQUE CHECK (name ~ '^[a-z][a-z0-9-]{0,31}$'),
    display_name   text NOT NULL,
    url            text NOT NULL,
    transport      text NOT NULL CHECK (transport IN ('streamable_http', 'sse')),
    auth_mode      text NOT NULL CHECK (auth_mode IN ('none', 'static', 'oauth')),
    enabled        boolean NOT NULL DEFAULT true,
    status         text NOT NULL DEFAULT 'unknown' CHECK (status IN ('unknown', 'up', 'down', 'auth_required')),
    status_detail  text,
    checked_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Events (admin audit records) committed with the change they describe, published afterwards.
CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    message_type  text NOT NULL,
    body          jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
