-- How the gateway is an OAuth client of a server's authorization server: what discovery found
-- (RFC 9728 protected resource metadata, RFC 8414 / OpenID metadata) and the client it
-- registered (RFC 7591) or an admin entered by hand. client_secret is sealed like credentials
-- (absent for public clients).
CREATE TABLE oauth_clients (
    server_id               uuid PRIMARY KEY REFERENCES servers (id) ON DELETE CASCADE,
    issuer                  text NOT NULL,
    authorization_endpoint  text NOT NULL,
    token_endpoint          text NOT NULL,
    revocation_endpoint     text,
    userinfo_endpoint       text,
    resource                text NOT NULL,
    scopes                  text,
    client_id               text NOT NULL,
    client_secret           bytea,
    key_version             integer,
    registered_via          text NOT NULL CHECK (registered_via IN ('dynamic', 'manual')),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
