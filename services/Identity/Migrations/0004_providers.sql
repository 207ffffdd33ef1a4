-- Upstream model providers. Credentials are AES-256-GCM ciphertext under a versioned key.
CREATE TABLE providers (
    id                  uuid PRIMARY KEY,
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    kind                text NOT NULL CHECK (kind IN ('openai', 'anthropic', 'gemini', 'azure_openai', 'bedrock', 'openai_compatible')),
    base_url            text,
    settings            jsonb NOT NULL DEFAULT '{}',
    -- nonce (12) | tag (16) | ciphertext, with the provider id as associated data.
    credentials         bytea NOT NULL,
    key_version         integer NOT NULL,
    -- What the console shows instead of the secret, e.g. "sk-…3f9a".
    credentials_hint    text NOT NULL,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    deleted_at          timestamptz
);
CREATE UNIQUE INDEX providers_name_live ON providers (lower(name)) WHERE deleted_at IS NULL;
