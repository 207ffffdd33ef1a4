using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ThinkWatch.ClickHouse;
using ThinkWatch.Testing;

namespace ThinkWatch.AuditIngest.Tests;

/// <summary>
/// AuditIngest in-process on a ClickHouse database of its own, consuming from the RabbitMQ it is
/// given (a virtual host of the fixture's own, or a private broker), with short batch windows.
/// </summary>
public sealed class AuditHost : IAsyncDisposable
{
    private readonly Dictionary<string, string?> _settings;
    private readonly TimeProvider? _time;
    private ServiceHost<AuditIngestOptions> _host;

    public const string VaultKey = "Vt8pQ2mZ6xL1cR9wK4nB7hJ3fD5gS0aY2uE8iO6r";

    private AuditHost(InfraEndpoints infra, string rabbitUri, string clickHouse, IReadOnlyDictionary<string, string?>? extra, TimeProvider? time)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:auditdb"] = infra.PostgresConnectionString(InfraEndpoints.UniqueName("audit")),
            ["Vault:Keys:1"] = VaultKey,
            ["ConnectionStrings:rabbitmq"] = rabbitUri,
            ["ConnectionStrings:clickhouse"] = clickHouse,
            ["ConsoleAuth:SigningKey"] = TestSecrets.SigningKey,
            ["InternalAuth:Token"] = TestSecrets.InternalToken,
            ["AuditIngest:BatchTimeLimit"] = "00:00:00.100",
            ["AuditIngest:MaxRetryDelay"] = "00:00:01",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        _settings = settings;
        _time = time;
        _host = NewHost();
    }

    private ServiceHost<AuditIngestOptions> NewHost() =>
        new(_settings, services =>
        {
            services.AddLogging(logging => logging.AddProvider(Logs));
            if (_time is not null)
            {
                services.AddSingleton(_time);
            }
        });

    /// <summary>The service's last warnings, for failing assertions to show.</summary>
    public RecentLogs Logs { get; } = new();

    public IServiceProvider Services => _host.Services;

    public ClickHouseClient ClickHouse => Services.GetRequiredService<ClickHouseClient>();

    /// <summary>A client to the console API signed in as <paramref name="role"/> (and <paramref name="userId"/>, if given).</summary>
    public HttpClient Console(string role = Security.Roles.SuperAdmin, Guid? userId = null) => _host.CreateClient().SignedIn(role, userId, _time);

    public static async Task<AuditHost> StartAsync(string rabbitUri, string clickHouseConnectionString, IReadOnlyDictionary<string, string?>? settings = null,
        TimeProvider? time = null)
    {
        var host = new AuditHost(await TestInfrastructure.EnsureStartedAsync(), rabbitUri, clickHouseConnectionString, settings, time);
        var (status, body) = await host._host.WaitForReadyAsync(TimeSpan.FromSeconds(60));
        Assert.That(status, Is.EqualTo(200), body);
        return host;
    }

    /// <summary>What an orchestrator's liveness probe sees.</summary>
    public async Task<bool> IsLiveAsync()
    {
        using var client = _host.CreateClient();
        using var response = await client.GetAsync("/health/live");
        return response.IsSuccessStatusCode;
    }

    /// <summary>Stops the service and starts it again on the same databases and queues (as an orchestrator restarts it).</summary>
    public async Task RestartAsync()
    {
        await _host.DisposeAsync();
        _host = NewHost();
        var (status, body) = await _host.WaitForReadyAsync(TimeSpan.FromSeconds(60));
        Assert.That(status, Is.EqualTo(200), body);
    }

    public async Task<long> CountAsync(string sql) => long.Parse(await ClickHouse.QueryScalarAsync(sql), CultureInfo.InvariantCulture);

    /// <summary>Polls <paramref name="sql"/> (a count) until it reaches <paramref name="expected"/> or the time is up; returns the last count.</summary>
    public async Task<long> WaitForCountAsync(string sql, long expected, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            long count;
            try
            {
                count = await CountAsync(sql);
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                count = -1; // ClickHouse away (a fault test); ask again
            }
            if (count >= expected || DateTime.UtcNow > deadline)
            {
                return count;
            }
            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        var connection = ClickHouse.Connection;
        await _host.DisposeAsync();
        // The host's HTTP client went with it.
        using var http = new HttpClient();
        try
        {
            await new ClickHouseClient(http, connection).ExecuteAsync($"DROP DATABASE IF EXISTS {connection.Database}", database: "default");
        }
        catch (HttpRequestException)
        {
            // a private ClickHouse already gone with its fixture
        }
    }
}
