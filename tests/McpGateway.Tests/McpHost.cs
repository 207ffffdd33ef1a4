using System.Net.Http.Json;
using System.Text.Json;
using ModelContextProtocol.Client;
using ThinkWatch.AiGateway;
using ThinkWatch.Identity.Testing;
using ThinkWatch.Quota.Testing;
using ThinkWatch.Security;
using ThinkWatch.Testing;

namespace ThinkWatch.McpGateway.Tests;

/// <summary>
/// The MCP path as clients see it: the AI gateway's public /mcp forwarding to an MCP gateway
/// (two replicas sharing Postgres and Redis), a real Identity for keys, a real Quota service, and
/// upstream MCP servers built on the SDK registered through /api/mcp/servers: "github" and "notes"
/// (anonymous) and "vault" (each user with their own static token, <see cref="VaultTokens"/>).
/// Super admins are granted every tool of every server.
/// </summary>
public sealed class McpHost : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned = [];

    public IdentityHost Identity { get; private set; } = null!;
    public HttpClient Admin { get; private set; } = null!;
    public FakeMcpServer Github { get; private set; } = null!;
    public FakeMcpServer Notes { get; private set; } = null!;
    public FakeMcpServer Vault { get; private set; } = null!;
    public QuotaHost Quota { get; private set; } = null!;
    /// <summary>Server ids by name.</summary>
    public Dictionary<string, Guid> Servers { get; } = [];
    /// <summary>The tokens "vault" accepts, and whose each is.</summary>
    public static readonly IReadOnlyDictionary<string, string> VaultTokens = new Dictionary<string, string>
    {
        ["tok-alice"] = "alice", ["tok-alice-work"] = "alice-work", ["tok-bob"] = "bob", ["tok-admin"] = "admin", ["tok-admin-work"] = "admin-work",
    };
    /// <summary>The AI gateway's public address (its /mcp goes to replica A).</summary>
    public Uri Gateway { get; private set; } = null!;
    public Uri ReplicaA { get; private set; } = null!;
    public Uri ReplicaB { get; private set; } = null!;
    public string Key { get; private set; } = null!;
    /// <summary>The MCP gateway's database (both replicas').</summary>
    public string Database { get; private set; } = null!;

    public static async Task<McpHost> StartAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var infra = await TestInfrastructure.EnsureStartedAsync();
        var host = new McpHost { Identity = await IdentityHost.StartAsync(network: true) };
        host.Admin = await host.Identity.SetUpAsync();
        host.Github = await host.Own(FakeMcpServer.StartAsync("github"));
        host.Notes = await host.Own(FakeMcpServer.StartAsync("notes"));
        host.Vault = await host.Own(FakeMcpServer.StartAsync("vault", VaultTokens));
        host.Quota = await host.Own(QuotaHost.StartAsync(network: true));

        var database = InfraEndpoints.UniqueName("mcp");
        host.Database = infra.PostgresConnectionString(database);
        Dictionary<string, string?> mcpSettings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:mcpgatewaydb"] = infra.PostgresConnectionString(database),
            ["ConnectionStrings:redis"] = infra.RedisConnectionString(),
            ["ConnectionStrings:rabbitmq"] = infra.RabbitMqUri(),
            ["services:identity:grpc:0"] = host.Identity.GrpcAddress!.ToString().TrimEnd('/'),
            ["services:quota:grpc:0"] = host.Quota.GrpcAddress!.ToString().TrimEnd('/'),
            ["InternalAuth:Token"] = TestSecrets.InternalToken,
            ["ConsoleAuth:SigningKey"] = TestSecrets.SigningKey,
            ["Vault:Keys:1"] = IdentityHost.VaultKey,
            ["McpGateway:ConsoleUrl"] = ConsoleUrl,
            ["McpGateway:AllowPrivateNetworkUpstreams"] = "true",
            ["McpGateway:AllowedOrigins:0"] = "https://console.example.com",
        }.Concat(settings ?? new Dictionary<string, string?>()).ToDictionary();
        host.ReplicaA = await host.StartServiceAsync<McpGatewayOptions>(WithOwnSpool(mcpSettings));
        host.ReplicaB = await host.StartServiceAsync<McpGatewayOptions>(WithOwnSpool(mcpSettings));
        host.Gateway = await host.StartServiceAsync<AiGatewayOptions>(new Dictionary<string, string?>
        {
            ["ConnectionStrings:aigatewaydb"] = infra.PostgresConnectionString(InfraEndpoints.UniqueName("gateway")),
            ["ConnectionStrings:rabbitmq"] = infra.RabbitMqUri(),
            ["services:identity:grpc:0"] = host.Identity.GrpcAddress!.ToString().TrimEnd('/'),
            ["services:quota:grpc:0"] = "http://127.0.0.1:1",
            ["services:mcpgateway:http:0"] = host.ReplicaA.ToString().TrimEnd('/'),
            ["Spool:Directory"] = SpoolDirectory(),
            ["InternalAuth:Token"] = TestSecrets.InternalToken,
            ["ConsoleAuth:SigningKey"] = TestSecrets.SigningKey,
        });

        await host.RegisterAsync(host.Github.Name, host.Github.Url);
        await host.RegisterAsync(host.Notes.Name, host.Notes.Url);
        await host.RegisterAsync(host.Vault.Name, host.Vault.Url, authMode: "static", userinfoEndpoint: new Uri(host.Vault.Url, "/user"));
        foreach (var server in host.Servers.Values)
        {
            await host.GrantAsync(Roles.SuperAdmin, server, "*");
        }
        host.Key = (await host.CreateKeyAsync(["mcp_gateway"])).Secret;
        return host;
    }

    /// <summary>Where authorize_url points below.</summary>
    public const string ConsoleUrl = "https://console.example.com";

    private static Dictionary<string, string?> WithOwnSpool(Dictionary<string, string?> settings) =>
        new(settings) { ["Spool:Directory"] = SpoolDirectory() };

    private static string SpoolDirectory() => Path.Combine(Path.GetTempPath(), "thinkwatch-tests-spool", Guid.NewGuid().ToString("N"));

    /// <summary>Lets <paramref name="role"/> use the server's tools matching <paramref name="tools"/>; the grant's id.</summary>
    public async Task<string> GrantAsync(string role, Guid server, string tools)
    {
        using var console = Console();
        using var response = await console.PostAsJsonAsync("/api/mcp/grants", new { role, serverId = server, tools });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That((int)response.StatusCode, Is.EqualTo(201), body.ToString());
        return body.GetProperty("id").GetString()!;
    }

    /// <summary>Connects <paramref name="user"/>'s account <paramref name="label"/> on "vault" with <paramref name="token"/>.</summary>
    public Task<HttpResponseMessage> ConnectVaultAsync(Guid user, string token, string? label = null, bool? makeDefault = null, string role = Roles.Developer) =>
        ConnectTokenAsync("vault", user, token, label, makeDefault, role);

    /// <summary>Pastes <paramref name="token"/> as <paramref name="user"/>'s account <paramref name="label"/> on a static-token server.</summary>
    public async Task<HttpResponseMessage> ConnectTokenAsync(string server, Guid user, string token, string? label = null, bool? makeDefault = null,
        string role = Roles.Developer)
    {
        using var console = Console(role, user);
        return await console.PostAsJsonAsync($"/api/mcp/servers/{Servers[server]}/connections", new { token, label, makeDefault });
    }

    /// <summary>Settings that let the gateway launch tests/StdioMcpServer as the stdio server "local" (users' tokens in UPSTREAM_TOKEN).</summary>
    public static Dictionary<string, string?> StdioSettings()
    {
        // Built next to this assembly's output, in the same configuration (Debug/Release).
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        return new Dictionary<string, string?>
        {
            ["McpGateway:StdioServers:local:Command"] = "dotnet",
            ["McpGateway:StdioServers:local:Arguments:0"] = Path.Combine(Repository.Root, "tests", "StdioMcpServer", "bin", configuration, "net10.0",
                "ThinkWatch.StdioMcpServer.dll"),
            ["McpGateway:StdioServers:local:TokenVariable"] = "UPSTREAM_TOKEN",
        };
    }

    /// <summary>A console client of replica A's /api/mcp (a token signed like Identity's).</summary>
    public HttpClient Console(string role = Roles.SuperAdmin, Guid? userId = null) => new HttpClient { BaseAddress = ReplicaA }.SignedIn(role, userId);

    public async Task<JsonElement> RegisterAsync(string name, Uri url, string transport = "streamable_http", string authMode = "none", Uri? userinfoEndpoint = null)
    {
        using var console = Console();
        using var response = await console.PostAsJsonAsync("/api/mcp/servers", new { name, url, transport, authMode, userinfoEndpoint });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That((int)response.StatusCode, Is.EqualTo(201), body.ToString());
        Servers[name] = body.GetProperty("id").GetGuid();
        return body;
    }

    /// <summary>A new key of the set-up admin for these surfaces (every MCP tool, unless narrowed): its secret, owner and lineage.</summary>
    public async Task<(string Secret, Guid Owner, string Lineage)> CreateKeyAsync(string[] surfaces, string[]? allowedMcpTools = null, string? mcpAccountLabel = null)
    {
        using var response = await Admin.PostAsJsonAsync("/api/keys",
            new { name = "agent", surfaces, allowedModels = new[] { "*" }, allowedMcpTools = allowedMcpTools ?? ["*"], mcpAccountLabel });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(response.IsSuccessStatusCode, Is.True, body.ToString());
        var key = body.GetProperty("key");
        return (body.GetProperty("secret").GetString()!, key.GetProperty("ownerUserId").GetGuid(), key.GetProperty("lineageId").GetString()!);
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
