using System.Net.Http.Json;
using System.Text.Json;
using ModelContextProtocol.Client;
using ThinkWatch.AiGateway;
using ThinkWatch.Identity.Testing;
using ThinkWatch.Security;
using ThinkWatch.Testing;

namespace ThinkWatch.McpGateway.Tests;

/// <summary>
/// The MCP path as clients see it: the AI gateway's public /mcp forwarding to an MCP gateway
/// (two replicas sharing Postgres and Redis), a real Identity for keys, and two upstream MCP
/// servers built on the SDK, registered through /api/mcp/servers.
/// </summary>
public sealed class McpHost : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned = [];

    public IdentityHost Identity { get; private set; } = null!;
    public HttpClient Admin { get; private set; } = null!;
    public FakeMcpServer Github { get; private set; } = null!;
    public FakeMcpServer Notes { get; private set; } = null!;
    /// <summary>The AI gateway's public address (its /mcp goes to replica A).</summary>
    public Uri Gateway { get; private set; } = null!;
    public Uri ReplicaA { get; private set; } = null!;
    public Uri ReplicaB { get; private set; } = null!;
    public string Key { get; private set; } = null!;

    public static async Task<McpHost> StartAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var infra = await TestInfrastructure.EnsureStartedAsync();
        var host = new McpHost { Identity = await IdentityHost.StartAsync(network: true) };
        host.Admin = await host.Identity.SetUpAsync();
        host.Github = await host.Own(FakeMcpServer.StartAsync("github"));
        host.Notes = await host.Own(FakeMcpServer.StartAsync("notes"));

        var database = InfraEndpoints.UniqueName("mcp");
        Dictionary<string, string?> mcpSettings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:mcpgatewaydb"] = infra.PostgresConnectionString(database),
            ["ConnectionStrings:redis"] = infra.RedisConnectionString(),
            ["ConnectionStrings:rabbitmq"] = infra.RabbitMqUri(),
            ["services:identity:grpc:0"] = host.Identity.GrpcAddress!.ToString().TrimEnd('/'),
            ["InternalAuth:Token"] = TestSecrets.InternalToken,
            ["ConsoleAuth:SigningKey"] = TestSecrets.SigningKey,
            ["McpGateway:AllowPrivateNetworkUpstreams"] = "true",
            ["McpGateway:AllowedOrigins:0"] = "https://console.example.com",
        }.Concat(settings ?? new Dictionary<string, string?>()).ToDictionary();
        host.ReplicaA = await host.StartServiceAsync<McpGatewayOptions>(mcpSettings);
        host.ReplicaB = await host.StartServiceAsync<McpGatewayOptions>(mcpSettings);
        host.Gateway = await host.StartServiceAsync<AiGatewayOptions>(new Dictionary<string, string?>
        {
            ["ConnectionStrings:aigatewaydb"] = infra.PostgresConnectionString(InfraEndpoints.UniqueName("gateway")),
            ["ConnectionStrings:rabbitmq"] = infra.RabbitMqUri(),
            ["services:identity:grpc:0"] = host.Identity.GrpcAddress!.ToString().TrimEnd('/'),
            ["services:quota:grpc:0"] = "http://127.0.0.1:1",
            ["services:mcpgateway:http:0"] = host.ReplicaA.ToString().TrimEnd('/'),
            ["Spool:Directory"] = Path.Combine(Path.GetTempPath(), "thinkwatch-tests-spool", Guid.NewGuid().ToString("N")),
            ["InternalAuth:Token"] = TestSecrets.InternalToken,
            ["ConsoleAuth:SigningKey"] = TestSecrets.SigningKey,
        });

        await host.RegisterAsync(host.Github.Name, host.Github.Url);
        await host.RegisterAsync(host.Notes.Name, host.Notes.Url);
        host.Key = await host.CreateKeyAsync(["mcp_gateway"]);
        return host;
    }

    /// <summary>A console client of replica A's /api/mcp (a token signed like Identity's).</summary>
    public HttpClient Console(string role = Roles.SuperAdmin, Guid? userId = null) => new HttpClient { BaseAddress = ReplicaA }.SignedIn(role, userId);

    public async Task<JsonElement> RegisterAsync(string name, Uri url, string transport = "streamable_http")
    {
        using var console = Console();
        using var response = await console.PostAsJsonAsync("/api/mcp/servers", new { name, url, transport });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That((int)response.StatusCode, Is.EqualTo(201), body.ToString());
        return body;
    }

    /// <summary>A new key of the set-up admin for these surfaces; its secret.</summary>
    public async Task<string> CreateKeyAsync(string[] surfaces)
    {
        using var response = await Admin.PostAsJsonAsync("/api/keys", new { name = "agent", surfaces, allowedModels = new[] { "*" } });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(response.IsSuccessStatusCode, Is.True, body.ToString());
        return body.GetProperty("secret").GetString()!;
    }

    /// <summary>An MCP client (the SDK's) connected to <paramref name="endpoint"/>/mcp with <paramref name="bearer"/>.</summary>
    public static async Task<McpClient> ConnectAsync(Uri endpoint, string bearer, string? protocolVersion = null)
    {
        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(endpoint, "mcp"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + bearer },
        });
        return await McpClient.CreateAsync(transport, new McpClientOptions { ProtocolVersion = protocolVersion });
    }

    private async Task<Uri> StartServiceAsync<TOptions>(Dictionary<string, string?> settings) where TOptions : class
    {
        var (service, address) = await ServiceHost<TOptions>.StartOnLoopbackAsync(settings);
        _owned.Add(service);
        return address;
    }

    private async Task<T> Own<T>(Task<T> starting) where T : IAsyncDisposable
    {
        var started = await starting;
        _owned.Add(started);
        return started;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }
        Admin.Dispose();
        await Identity.DisposeAsync();
    }
}
