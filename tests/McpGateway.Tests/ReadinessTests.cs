using ThinkWatch.Testing;

namespace ThinkWatch.McpGateway.Tests;

[TestFixture]
public sealed class ReadinessTests : ServiceReadinessTests<McpGatewayOptions>
{
    protected override IReadOnlyList<string> ReadyChecks => ["postgres", "migrations", "redis", "masstransit-bus"];
    protected override IReadOnlyList<(string, string)> Dependencies => [("postgres", "postgres"), ("redis", "redis"), ("rabbitmq", "masstransit-bus")];

    protected override Dictionary<string, string?> Settings(string? down, int closedPort) => new()
    {
        ["ConnectionStrings:mcpgatewaydb"] = Infra.PostgresConnectionString(InfraEndpoints.UniqueName("mcp"), down == "postgres" ? closedPort : null),
        ["ConnectionStrings:redis"] = Infra.RedisConnectionString(down == "redis" ? closedPort : null),
        ["ConnectionStrings:rabbitmq"] = RabbitMq(down, closedPort),
        ["services:identity:grpc:0"] = "http://127.0.0.1:1",
        ["services:quota:grpc:0"] = "http://127.0.0.1:1",
        ["Vault:Keys:1"] = Identity.Testing.IdentityHost.VaultKey,
        ["Spool:Directory"] = Path.Combine(Path.GetTempPath(), "thinkwatch-tests-spool", Guid.NewGuid().ToString("N")),
        ["InternalAuth:Token"] = TestSecrets.InternalToken,
        ["ConsoleAuth:SigningKey"] = TestSecrets.SigningKey,
    };
}
