using ThinkWatch.Testing;

namespace ThinkWatch.McpGateway.Tests;

[TestFixture]
public sealed class ReadinessTests : ServiceReadinessTests<McpGatewayOptions>
{
    protected override IReadOnlyList<string> ReadyChecks => ["postgres", "migrations"];
    protected override IReadOnlyList<(string, string)> Dependencies => [("postgres", "postgres")];

    protected override Dictionary<string, string?> Settings(string? down, int closedPort) => new()
    {
        ["ConnectionStrings:mcpgatewaydb"] = Infra.PostgresConnectionString(InfraEndpoints.UniqueName("mcp"), down == "postgres" ? closedPort : null),
    };
}
