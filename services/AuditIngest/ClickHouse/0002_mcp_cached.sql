-- Whether the MCP gateway answered a call from its response cache (1) or upstream (0).
ALTER TABLE mcp_calls ADD COLUMN cached UInt8 DEFAULT 0;
