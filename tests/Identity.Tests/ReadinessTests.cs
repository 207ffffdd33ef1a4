using ThinkWatch.Testing;

namespace ThinkWatch.Identity.Tests;

[TestFixture]
public sealed class ReadinessTests : ServiceReadinessTests<IdentityOptions>
{
    protected override IReadOnlyList<string> ReadyChecks => ["postgres", "migrations", "masstransit-bus"];
    protected override IReadOnlyList<(string, string)> Dependencies => [("postgres", "postgres"), ("rabbitmq", "masstransit-bus")];

    protected override Dictionary<string, string?> Settings(string? down, int closedPort) => new()
    {
        ["ConnectionStrings:identitydb"] = Infra.PostgresConnectionString(InfraEndpoints.UniqueName("identity"), down == "postgres" ? closedPort : null),
        ["ConsoleAuth:SigningKey"] = IdentityHost.SigningKey,
        ["Vault:Keys:1"] = IdentityHost.VaultKey,
        ["InternalAuth:Token"] = IdentityHost.InternalToken,
        ["ConnectionStrings:rabbitmq"] = RabbitMq(down, closedPort),
    };
}
