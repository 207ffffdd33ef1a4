using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using StackExchange.Redis;
using ThinkWatch.Integrations;
using ThinkWatch.Testing;

namespace ThinkWatch.Shared.Tests;

/// <summary>
/// Postgres and Redis through Aspire's client integrations keep what the services rely on: the schema search path,
/// a Redis client that never gives up connecting and is named after the service, the caller's options, and one
/// readiness check each under ThinkWatch's name, tagged "ready", whose failure names no password.
/// </summary>
[TestFixture]
public sealed class ClientIntegrationTests
{
    private const string Password = "pw-that-must-not-leak-0123";
    private InfraEndpoints _infra = null!;

    [OneTimeSetUp]
    public async Task StartInfrastructure() => _infra = await TestInfrastructure.EnsureStartedAsync();

    private static IHost Build(string name, string connectionString, Action<IHostApplicationBuilder> add)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ApplicationName = "thinkwatch-client-tests", EnvironmentName = "Testing" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [$"ConnectionStrings:{name}"] = connectionString });
        builder.Logging.ClearProviders();
        add(builder);
        return builder.Build();
    }

    /// <summary>What /health/ready runs: the checks tagged "ready".</summary>
    private static Task<HealthReport> ReadinessAsync(IHost host) =>
        host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Tags.Contains("ready"));

    private static string Describe(HealthReport report) =>
        string.Join("; ", report.Entries.Select(e => $"{e.Key}={e.Value.Status} ({e.Value.Description})"));

    [Test]
    public async Task Postgres_is_one_ready_check_and_queries_find_the_schema_first()
    {
        using var host = Build("db", _infra.PostgresConnectionString("postgres"), b => b.AddPostgresDataSource("db", "svc"));

        var report = await ReadinessAsync(host);
        await using var command = host.Services.GetRequiredService<NpgsqlDataSource>().CreateCommand("SHOW search_path");

        Assert.That(report.Entries.Keys, Is.EqualTo(new[] { "postgres" }), Describe(report));
        Assert.That(report.Entries["postgres"].Status, Is.EqualTo(HealthStatus.Healthy), Describe(report));
        Assert.That(await command.ExecuteScalarAsync(), Is.EqualTo("svc,public"));
    }

    [TestCase("wrong password")]
    [TestCase("nothing listening")]
    public async Task Postgres_unreachable_is_not_ready_and_the_report_names_no_password(string why)
    {
        var connectionString = why == "nothing listening"
            ? _infra.PostgresConnectionString("postgres", ServiceReadinessTests<ClientIntegrationTests>.ClosedPort())
            : _infra.PostgresConnectionString("postgres");
        using var host = Build("db", connectionString.Replace(_infra.PostgresPassword, Password, StringComparison.Ordinal), b => b.AddPostgresDataSource("db"));

        var entry = (await ReadinessAsync(host)).Entries["postgres"];

        Assert.That(entry.Status, Is.EqualTo(HealthStatus.Unhealthy));
        Assert.That(entry.Description, Does.StartWith("postgres unreachable: ").And.Not.Contain(Password));
        Assert.That(entry.Exception, Is.Null, "nothing with a message in it reaches the report");
    }

    [Test]
    public async Task Redis_is_one_ready_check_with_the_callers_options_and_the_services_name()
    {
        var configured = false;
        using var host = Build("cache", _infra.RedisConnectionString(), b => b.AddRedisMultiplexer("cache", o => configured = o.BacklogPolicy == BacklogPolicy.Default));

        var report = await ReadinessAsync(host);
        var name = await host.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase().ExecuteAsync("CLIENT", "GETNAME");

        Assert.That(report.Entries.Keys, Is.EqualTo(new[] { "redis" }), Describe(report));
        Assert.That(report.Entries["redis"].Status, Is.EqualTo(HealthStatus.Healthy), Describe(report));
        Assert.That(configured, Is.True, "the caller's callback saw the parsed options");
        Assert.That(name.ToString(), Is.EqualTo("thinkwatch-client-tests"));
    }

    [Test]
    public async Task Redis_unreachable_at_start_still_gives_a_client_that_is_not_ready_and_names_no_password()
    {
        var connectionString = _infra.RedisConnectionString(ServiceReadinessTests<ClientIntegrationTests>.ClosedPort()) + ",password=" + Password;
        using var host = Build("cache", connectionString, b => b.AddRedisMultiplexer("cache", o => o.BacklogPolicy = BacklogPolicy.FailFast));

        var redis = host.Services.GetRequiredService<IConnectionMultiplexer>(); // does not throw: it keeps trying in the background
        var entry = (await ReadinessAsync(host)).Entries["redis"];

        Assert.That(redis.IsConnected, Is.False);
        Assert.That(entry.Status, Is.EqualTo(HealthStatus.Unhealthy));
        Assert.That(entry.Description, Does.StartWith("redis unreachable: ").And.Not.Contain(Password));
    }
}
