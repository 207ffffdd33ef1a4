-- Servers launched as child processes (stdio). Their url is stdio:{name}, naming an entry of the
-- gateway's configuration (McpGateway:StdioServers), never a command: what runs is the operator's choice.
ALTER TABLE servers DROP CONSTRAINT servers_transport_check;
ALTER TABLE servers ADD CONSTRAINT servers_transport_check CHECK (transport IN ('streamable_http', 'sse', 'stdio'));
