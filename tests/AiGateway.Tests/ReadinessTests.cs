using ThinkWatch.Identity.Testing;
using ThinkWatch.Testing;

namespace ThinkWatch.AiGateway.Tests;

[TestFixture]
public sealed class ReadinessTests : ServiceReadinessTests<AiGatewayOptions>
{
    protected override IReadOnlyList<string> ReadyChecks => ["postgres", "migrations", "masstransit-bus"];
    protected override IReadOnlyList<(string, string)> Dependencies => [("postgres", "postgres"), ("rabbitmq", "masstransit-bus")];

    protected override Dictionary<string, string?> Settings(string? down, int closedPort) => new()
    {
        ["ConnectionStrings:aigatewaydb"] = Infra.PostgresConnectionString(InfraEndpoints.UniqueName("gateway"), down == "postgres" ? closedPort : null),
        ["ConnectionStrings:rabbitmq"] = RabbitMq(down, closedPort),
        ["services:identity:grpc:0"] = "http://127.0.0.1:1",
        ["services:quota:grpc:0"] = "http://127.0.0.1:1",
        ["Spool:Directory"] = Path.Combine(Path.GetTempPath(), "thinkwatch-tests-spool", Guid.NewGuid().ToString("N")),
        ["InternalAuth:Token"] = IdentityHost.InternalToken,
        ["ConsoleAuth:SigningKey"] = IdentityHost.SigningKey,
    };
}
