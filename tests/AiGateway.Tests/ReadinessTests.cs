using ThinkWatch.Testing;

namespace ThinkWatch.AiGateway.Tests;

[TestFixture]
public sealed class ReadinessTests : ServiceReadinessTests<AiGatewayOptions>
{
    protected override IReadOnlyList<string> ReadyChecks => ["postgres", "migrations"];
    protected override IReadOnlyList<(string, string)> Dependencies => [("postgres", "postgres")];

    protected override Dictionary<string, string?> Settings(string? down, int closedPort) => new()
    {
        ["ConnectionStrings:aigatewaydb"] = Infra.PostgresConnectionString(InfraEndpoints.UniqueName("gateway"), down == "postgres" ? closedPort : null),
    };
}
