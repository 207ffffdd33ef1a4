using ThinkWatch.AppHost.Hosting;

namespace ThinkWatch.AppHost;

/// <summary>
/// ThinkWatch's application model: every resource, who references whom, start order
/// and ports. `run` and `publish` both read it; adding a service is one edit here.
/// </summary>
public static class AppModel
{
    public static DistributedApplicationBuilder Create(string[] args)
    {
        var builder = DistributedApplicationBuilder.CreateBuilder(args);

        var postgres = builder.AddPostgres("postgres", port: 15432);
        var identityDb = postgres.AddDatabase("identitydb");
        var quotaDb = postgres.AddDatabase("quotadb");
        var mcpDb = postgres.AddDatabase("mcpgatewaydb");
        var gatewayDb = postgres.AddDatabase("aigatewaydb");
        var auditDb = postgres.AddDatabase("auditdb");
        var redis = builder.AddRedis("redis", port: 16379);
        var rabbitmq = builder.AddRabbitMQ("rabbitmq", port: 15672);
        var clickhouse = builder.AddClickHouse("clickhouse", port: 18123, database: "thinkwatch");
        // Identity signs console access tokens with it; every service validates them locally.
        var consoleSigningKey = builder.AddParameter("console-signing-key");
        // Encrypts provider credentials in Identity's vault, forwarders' signing secrets and users' MCP credentials (AES-256-GCM); losing it loses them.
        var vaultKey = builder.AddParameter("vault-key");
        // Carried by service-to-service gRPC calls (key validation, provider credentials, quota).
        var internalToken = builder.AddParameter("internal-token");

        var auditIngest = builder.AddProject("auditingest", "services/AuditIngest/AuditIngest.csproj")
            .WithHttpEndpoint(port: 13140)
            .WithEnvironment("ConsoleAuth__SigningKey", consoleSigningKey)
            .WithEnvironment("InternalAuth__Token", internalToken)
            .WithEnvironment("Vault__Keys__1", vaultKey)
            .WithReference(auditDb).WaitFor(auditDb)
            .WithReference(rabbitmq).WaitFor(rabbitmq)
            .WithReference(clickhouse).WaitFor(clickhouse);

        var quota = builder.AddProject("quota", "services/Quota/Quota.csproj")
            .WithHttpEndpoint(port: 13120)
            .WithEnvironment("ConsoleAuth__SigningKey", consoleSigningKey)
            .WithEnvironment("InternalAuth__Token", internalToken)
            .WithGrpcEndpoint(port: 13121)
            .WithReference(quotaDb).WaitFor(quotaDb)
            .WithReference(redis).WaitFor(redis)
            .WithReference(rabbitmq).WaitFor(rabbitmq);
        // Budgets for analytics (asked on demand, so no wait).
        auditIngest.WithReference(quota);

        // Identity serves the console origin (:3001) and forwards other services' /api areas.
        var identity = builder.AddProject("identity", "services/Identity/Identity.csproj")
            .WithHttpEndpoint(port: 3001, isExternal: true)
            .WithEnvironment("ConsoleAuth__SigningKey", consoleSigningKey)
            .WithEnvironment("InternalAuth__Token", internalToken)
            .WithGrpcEndpoint(port: 13111)
            .WithEnvironment("Vault__Keys__1", vaultKey)
            .WithReference(identityDb).WaitFor(identityDb)
            .WithReference(rabbitmq).WaitFor(rabbitmq);

        var mcpGateway = builder.AddProject("mcpgateway", "services/McpGateway/McpGateway.csproj")
            .WithHttpEndpoint(port: 13130)
            // Authorize links, OAuth redirect URIs and connect links point at the console this run really serves.
            .WithEnvironment("McpGateway__ConsoleUrl", identity.GetEndpoint("http"))
            .WithEnvironment("ConsoleAuth__SigningKey", consoleSigningKey)
            .WithEnvironment("InternalAuth__Token", internalToken)
            .WithEnvironment("Vault__Keys__1", vaultKey)
            .WithReference(mcpDb).WaitFor(mcpDb)
            .WithReference(redis).WaitFor(redis)
            .WithReference(rabbitmq).WaitFor(rabbitmq)
            .WithReference(identity).WaitFor(identity)
            .WithReference(quota).WaitFor(quota);

        // The public edge (:3000): /v1/* and /mcp (forwarded to the MCP gateway).
        var aiGateway = builder.AddProject("aigateway", "services/AiGateway/AiGateway.csproj")
            .WithHttpEndpoint(port: 3000, isExternal: true)
            .WithEnvironment("ConsoleAuth__SigningKey", consoleSigningKey)
            .WithEnvironment("InternalAuth__Token", internalToken)
            .WithReference(gatewayDb).WaitFor(gatewayDb)
            .WithReference(rabbitmq).WaitFor(rabbitmq)
            .WithReference(identity).WaitFor(identity)
            .WithReference(quota).WaitFor(quota)
            .WithReference(mcpGateway).WaitFor(mcpGateway);

        // The console forwards /api/limits, /api/pricing, /api/mcp, /api/logs, /api/models …
        // to the services that own them (references only: those start after identity).
        identity
            .WithReference(quota)
            .WithReference(mcpGateway)
            .WithReference(auditIngest)
            .WithReference(aiGateway);

        return builder;
    }
}
