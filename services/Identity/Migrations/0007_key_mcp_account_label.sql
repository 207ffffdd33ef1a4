-- The upstream MCP account (label of the owner's connection on each server) a key is pinned to;
-- NULL: the owner's default account.
ALTER TABLE api_keys ADD COLUMN mcp_account_label text CHECK (mcp_account_label ~ '^[a-z0-9][a-z0-9._-]{0,63}$');
