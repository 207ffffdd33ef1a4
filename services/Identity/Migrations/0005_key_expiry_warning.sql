-- When the owner was warned that the key expires soon (warned once).
ALTER TABLE api_keys ADD COLUMN expiry_warned_at timestamptz;
CREATE INDEX api_keys_expiry ON api_keys (expires_at) WHERE revoked_at IS NULL AND expiry_warned_at IS NULL;
CREATE INDEX users_deleted ON users (deleted_at) WHERE deleted_at IS NOT NULL;
