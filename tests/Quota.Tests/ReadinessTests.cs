using ThinkWatch.Testing;

namespace ThinkWatch.Quota.Tests;

[TestFixture]
public sealed class ReadinessTests : ServiceReadinessTests<QuotaOptions>
{
    protected override IReadOnlyList<string> ReadyChecks => ["postgres", "migrations", "redis", "masstransit-bus"];
    protected override IReadOnlyList<(string, string)> Dependencies => [("redis", "redis"), ("postgres", "postgres"), ("rabbitmq", "masstransit-bus")];

    protected override Dictionary<string, string?> Settings(string? down, int closedPort) => new()
    {
        ["ConnectionStrings:quotadb"] = Infra.PostgresConnectionString(InfraEndpoints.UniqueName("quota"), down == "postgres" ? closedPort : null),
        ["ConnectionStrings:redis"] = Infra.RedisConnectionString(down == "redis" ? closedPort : null),
        ["ConnectionStrings:rabbitmq"] = RabbitMq(down, closedPort),
        ["InternalAuth:Token"] = TestSecrets.InternalToken,
        ["ConsoleAuth:SigningKey"] = TestSecrets.SigningKey,
    };
}
