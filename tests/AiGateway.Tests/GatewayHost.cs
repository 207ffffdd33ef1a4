using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using ThinkWatch.Identity.Testing;
using ThinkWatch.Testing;

namespace ThinkWatch.AiGateway.Tests;

/// <summary>
/// The gateway on a real loopback port, with a real Identity (over gRPC and RabbitMQ), two
/// providers registered in Identity's vault that both point at one fake upstream (OpenAI kind
/// under /v1, Anthropic kind at the root), and a key that may use every model.
/// </summary>
public sealed class GatewayHost : IAsyncDisposable
{
    public const string OpenAiUpstreamKey = "sk-upstream-openai-0123456789";
    public const string AnthropicUpstreamKey = "sk-ant-upstream-0123456789";

    private ServiceHost<AiGatewayOptions> _host = null!;

    public IdentityHost Identity { get; private set; } = null!;
    public HttpClient Admin { get; private set; } = null!;
    public FakeUpstream Upstream { get; private set; } = null!;
    public Uri Address { get; private set; } = null!;
    public string Key { get; private set; } = null!;
    public IServiceProvider Services => _host.Services;

    public static async Task<GatewayHost> StartAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var infra = await TestInfrastructure.EnsureStartedAsync();
        var gateway = new GatewayHost
        {
            Identity = await IdentityHost.StartAsync(network: true),
            Upstream = await FakeUpstream.StartAsync(),
        };
        gateway.Admin = await gateway.Identity.SetUpAsync();
        await gateway.AddProviderAsync("openai-main", "openai", new Uri(gateway.Upstream.BaseAddress, "v1").ToString(), OpenAiUpstreamKey);
        await gateway.AddProviderAsync("anthropic-main", "anthropic", gateway.Upstream.BaseAddress.ToString().TrimEnd('/'), AnthropicUpstreamKey);
        (_, gateway.Key) = await gateway.CreateKeyAsync(["*"]);

        var port = ServiceReadinessTests<AiGatewayOptions>.ClosedPort();
        gateway._host = new ServiceHost<AiGatewayOptions>(new Dictionary<string, string?>
        {
            ["ConnectionStrings:aigatewaydb"] = infra.PostgresConnectionString(InfraEndpoints.UniqueName("gateway")),
            ["ConnectionStrings:rabbitmq"] = infra.RabbitMqUri(),
            ["services:identity:grpc:0"] = gateway.Identity.GrpcAddress!.ToString().TrimEnd('/'),
            ["InternalAuth:Token"] = IdentityHost.InternalToken,
        }.Concat(settings ?? new Dictionary<string, string?>()).ToDictionary());
        gateway._host.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, port));
        _ = gateway._host.Services;
        gateway.Address = new Uri($"http://127.0.0.1:{port}/");
        using var http = gateway.Http();
        var (status, body) = await ServiceHost<AiGatewayOptions>.WaitForReadyAsync(http, TimeSpan.FromSeconds(60));
        Assert.That(status, Is.EqualTo(200), body);
        return gateway;
    }

    /// <summary>A plain client to the gateway's port.</summary>
    public HttpClient Http() => new() { BaseAddress = Address };

    public async Task AddProviderAsync(string name, string kind, string baseUrl, string apiKey)
    {
        using var response = await Admin.PostAsJsonAsync("/api/providers", new { name, kind, baseUrl, credentials = new { apiKey } });
        Assert.That(response.IsSuccessStatusCode, Is.True, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A new key for the gateway with these allowed model patterns: its id and its secret.</summary>
    public async Task<(string Id, string Secret)> CreateKeyAsync(string[] allowedModels, string[]? surfaces = null)
    {
        using var response = await Admin.PostAsJsonAsync("/api/keys", new { name = "agent", surfaces = surfaces ?? ["ai_gateway"], allowedModels });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(response.IsSuccessStatusCode, Is.True, body.ToString());
        return (body.GetProperty("key").GetProperty("id").GetString()!, body.GetProperty("secret").GetString()!);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        Admin.Dispose();
        await Identity.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}
