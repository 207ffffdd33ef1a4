using System.Net.Http.Json;
using System.Text.Json;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using ThinkWatch.Contracts.Quota.V1;
using ThinkWatch.Security;
using ThinkWatch.Testing;

namespace ThinkWatch.Quota.Testing;

/// <summary>
/// One Quota service on a database and Redis key prefix of its own, with a clock the test moves;
/// in-process, or on loopback sockets (HTTP/1.1 console, h2c gRPC) for other services' tests.
/// </summary>
public sealed class QuotaHost : IAsyncDisposable
{
    private readonly ServiceHost<QuotaOptions> _host;
    private readonly Uri? _httpAddress;
    private GrpcChannel? _channel;

    private QuotaHost(InfraEndpoints infra, IReadOnlyDictionary<string, string?>? extra, bool network, FakeTimeProvider? time, string? database)
    {
        Time = time ?? TestClock.Create();
        Prefix = "t" + Guid.NewGuid().ToString("N")[..12];
        Database = database ?? InfraEndpoints.UniqueName("quota");
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:quotadb"] = infra.PostgresConnectionString(Database),
            ["ConnectionStrings:redis"] = infra.RedisConnectionString(),
            ["ConnectionStrings:rabbitmq"] = infra.RabbitMqUri(),
            ["ConsoleAuth:SigningKey"] = TestSecrets.SigningKey,
            ["InternalAuth:Token"] = TestSecrets.InternalToken,
            ["Quota:RedisPrefix"] = Prefix,
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        _host = new ServiceHost<QuotaOptions>(settings, services => services.AddSingleton<TimeProvider>(Time));
        if (network)
        {
            var (httpPort, grpcPort) = (ServiceReadinessTests<QuotaOptions>.ClosedPort(), ServiceReadinessTests<QuotaOptions>.ClosedPort());
            _host.UseKestrel(k =>
            {
                k.Listen(System.Net.IPAddress.Loopback, httpPort, l => l.Protocols = HttpProtocols.Http1);
                k.Listen(System.Net.IPAddress.Loopback, grpcPort, l => l.Protocols = HttpProtocols.Http2);
            });
            GrpcAddress = new Uri($"http://127.0.0.1:{grpcPort}");
            _httpAddress = new Uri($"http://127.0.0.1:{httpPort}");
        }
    }

    public FakeTimeProvider Time { get; }

    /// <summary>This host's database; a second host given the same name is another replica of the service.</summary>
    public string Database { get; }

    /// <summary>This host's Redis key prefix (hash tag), so parallel tests never share counters.</summary>
    public string Prefix { get; }

    /// <summary>The console (HTTP/1.1) address when started on the network.</summary>
    public Uri? HttpAddress => _httpAddress;

    /// <summary>The h2c address of QuotaService when started on the network.</summary>
    public Uri? GrpcAddress { get; }

    public IServiceProvider Services => _host.Services;

    public static async Task<QuotaHost> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, bool network = false, FakeTimeProvider? time = null,
        string? database = null)
    {
        var infra = await TestInfrastructure.EnsureStartedAsync();
        var host = new QuotaHost(infra, settings, network, time, database);
        _ = host.Services; // starts the server (on its sockets, when on the network)
        using var http = host.Http();
        var (status, body) = await ServiceHost<QuotaOptions>.WaitForReadyAsync(http, TimeSpan.FromSeconds(60));
        Assert.That(status, Is.EqualTo(200), body);
        return host;
    }

    /// <summary>A plain client to the service's HTTP side.</summary>
    public HttpClient Http() => _httpAddress is { } address ? new HttpClient { BaseAddress = address } : _host.CreateClient();

    /// <summary>A client to /api/limits and /api/pricing with a console token for <paramref name="role"/>.</summary>
    public HttpClient Console(string role = Roles.SuperAdmin) => Http().SignedIn(role, time: Time);

    /// <summary>The gRPC client a gateway has (carrying the internal token).</summary>
    public QuotaService.QuotaServiceClient Client => new(_channel ??= GrpcAddress is { } address
        ? GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = new TestSecrets.InternalTokenHandler { InnerHandler = new SocketsHttpHandler() } })
        : GrpcChannel.ForAddress(_host.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = new TestSecrets.InternalTokenHandler { InnerHandler = _host.Server.CreateHandler() } }));

    /// <summary>Creates a rule through the console API; its id.</summary>
    public Task<string> AddRuleAsync(string subjectKind, string subjectId, string metric, string window, long limit, string surface = "ai_gateway") =>
        PostAsync("/api/limits/rules", new { subjectKind, subjectId, surface, metric, window, limit });

    /// <summary>Creates a budget through the console API; its id.</summary>
    public Task<string> AddBudgetAsync(string subjectKind, string subjectId, string period, long? limitWeightedTokens, decimal? limitUsd = null, string action = "block") =>
        PostAsync("/api/limits/budgets", new { subjectKind, subjectId, period, limitWeightedTokens, limitUsd, action });

    /// <summary>Sets a model's price and weights through the console API.</summary>
    public async Task SetPriceAsync(string model, decimal input, decimal output, decimal cachedInput, decimal inputWeight = 1, decimal outputWeight = 1, decimal cachedInputWeight = 1)
    {
        using var console = Console();
        using var response = await console.PutAsJsonAsync($"/api/pricing/{model}",
            new { inputUsdPerMtok = input, outputUsdPerMtok = output, cachedInputUsdPerMtok = cachedInput, inputWeight, outputWeight, cachedInputWeight });
        Assert.That(response.IsSuccessStatusCode, Is.True, await response.Content.ReadAsStringAsync());
    }

    private async Task<string> PostAsync(string path, object body)
    {
        using var console = Console();
        using var response = await console.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.EqualTo(201), text);
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
    }

    public async ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        await _host.DisposeAsync();
    }
}
