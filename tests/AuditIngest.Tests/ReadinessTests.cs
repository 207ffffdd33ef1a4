using ThinkWatch.Testing;

namespace ThinkWatch.AuditIngest.Tests;

[TestFixture]
public sealed class ReadinessTests : ServiceReadinessTests<AuditIngestOptions>
{
    protected override IReadOnlyList<string> ReadyChecks => ["postgres", "migrations", "clickhouse", "clickhouse-schema", "masstransit-bus"];
    protected override IReadOnlyList<(string, string)> Dependencies => [("clickhouse", "clickhouse"), ("postgres", "postgres"), ("rabbitmq", "masstransit-bus")];

    protected override Dictionary<string, string?> Settings(string? down, int closedPort) => new()
    {
        ["ConsoleAuth:SigningKey"] = TestSecrets.SigningKey,
        ["InternalAuth:Token"] = TestSecrets.InternalToken,
        ["Vault:Keys:1"] = AuditHost.VaultKey,
        ["ConnectionStrings:auditdb"] = Infra.PostgresConnectionString(InfraEndpoints.UniqueName("audit"), down == "postgres" ? closedPort : null),
        ["ConnectionStrings:clickhouse"] = Infra.ClickHouseConnectionString(InfraEndpoints.UniqueName("audit"), down == "clickhouse" ? closedPort : null),
        ["ConnectionStrings:rabbitmq"] = RabbitMq(down, closedPort),
    };
}
