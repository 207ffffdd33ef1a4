using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using ThinkWatch.Security;
using ThinkWatch.Identity.Testing;
using ThinkWatch.Quota.Testing;
using ThinkWatch.Testing;

namespace ThinkWatch.AiGateway.Tests;

/// <summary>
/// The gateway on a real loopback port, with a real Identity (over gRPC and RabbitMQ), a real
/// Quota (over gRPC, on the real Redis), two
/// providers registered in Identity's vault that both point at one fake upstream (OpenAI kind
/// under /v1, Anthropic kind at the root), and a key that may use every model.
/// </summary>
public sealed class GatewayHost : IAsyncDisposable
{
    public const string OpenAiUpstreamKey = "sk-upstream-openai-0123456789";
    public const string AnthropicUpstreamKey = "sk-ant-upstream-0123456789";

    private ServiceHost<AiGatewayOptions> _host = null!;

    public IdentityHost Identity { get; private set; } = null!;
    public QuotaHost Quota { get; private set; } = null!;
    public HttpClient Admin { get; private set; } = null!;
    public FakeUpstream Upstream { get; private set; } = null!;
    public Uri Address { get; private set; } = null!;
    public string Key { get; private set; } = null!;
    public IServiceProvider Services => _host.Services;

    /// <summary>The gateway with Identity, Quota and a fake upstream; <paramref name="rabbitMqUri"/>: a broker of the caller's own for Identity and the gateway (fault tests).</summary>
    public static async Task<GatewayHost> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, string? rabbitMqUri = null)
    {
        var infra = await TestInfrastructure.EnsureStartedAsync();
        rabbitMqUri ??= infra.RabbitMqUri();
        var gateway = new GatewayHost
        {
            Identity = await IdentityHost.StartAsync(new Dictionary<string, string?> { ["ConnectionStrings:rabbitmq"] = rabbitMqUri }, network: true),
            Quota = await QuotaHost.StartAsync(network: true),
            Upstream = await FakeUpstream.StartAsync(),
        };
        gateway.Admin = await gateway.Identity.SetUpAsync();
        await gateway.AddProviderAsync("openai-main", "openai", new Uri(gateway.Upstream.BaseAddress, "v1").ToString(), OpenAiUpstreamKey);
        await gateway.AddProviderAsync("anthropic-main", "anthropic", gateway.Upstream.BaseAddress.ToString().TrimEnd('/'), AnthropicUpstreamKey);
        (_, gateway.Key) = await gateway.CreateKeyAsync(["*"]);

        (gateway._host, gateway.Address) = await ServiceHost<AiGatewayOptions>.StartOnLoopbackAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings:aigatewaydb"] = infra.PostgresConnectionString(InfraEndpoints.UniqueName("gateway")),
            ["ConnectionStrings:rabbitmq"] = rabbitMqUri,
            ["services:identity:grpc:0"] = gateway.Identity.GrpcAddress!.ToString().TrimEnd('/'),
            ["services:quota:grpc:0"] = gateway.Quota.GrpcAddress!.ToString().TrimEnd('/'),
            ["Spool:Directory"] = Path.Combine(Path.GetTempPath(), "thinkwatch-tests-spool", Guid.NewGuid().ToString("N")),
            // The fake upstream stands in for the MCP gateway too (/mcp is forwarded there).
            ["services:mcpgateway:http:0"] = gateway.Upstream.BaseAddress.ToString().TrimEnd('/'),
            ["InternalAuth:Token"] = IdentityHost.InternalToken,
            ["ConsoleAuth:SigningKey"] = IdentityHost.SigningKey,
        }.With(settings));
        return gateway;
    }

    /// <summary>A plain client to the gateway's port.</summary>
    public HttpClient Http() => new() { BaseAddress = Address };

    /// <summary>
    /// A chat request (with <paramref name="secret"/> as its key, if any) under a trace of its own, as a caller's tracing
    /// sends it (a W3C traceparent): the answer's status, that trace and the caller's span.
    /// </summary>
    public async Task<(HttpStatusCode Status, ActivityTraceId Trace, ActivitySpanId Caller)> ChatInTraceAsync(string? secret, string model = "gpt-4o")
    {
        var (trace, caller) = (ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom());
        // Not a propagating handler: this process's own tracing would replace the traceparent set here.
        using var http = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = null }) { BaseAddress = Address };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model, max_tokens = 5, messages = new[] { new { role = "user", content = "Hello" } } }),
        };
        request.Headers.Add("traceparent", $"00-{trace.ToHexString()}-{caller.ToHexString()}-01");
        if (secret is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        }
        using var response = await http.SendAsync(request);
        return (response.StatusCode, trace, caller);
    }

    /// <summary>
    /// A client to the gateway's console API (/api/models) with a console token for <paramref name="role"/>,
    /// signed with the key Identity uses (Identity's own tokens carry its test clock, not the gateway's).
    /// </summary>
    public HttpClient Console(string role = Roles.SuperAdmin) => Http().SignedIn(role);

    /// <summary>Registers a provider in Identity's vault; its id.</summary>
    public Task<string> AddProviderAsync(string name, string kind, string baseUrl, string apiKey, object? settings = null) =>
        AddProviderAsync(name, kind, baseUrl, (object)new { apiKey }, settings);

    /// <summary>Registers a provider with any credentials (AWS keys for Bedrock); its id.</summary>
    public async Task<string> AddProviderAsync(string name, string kind, string baseUrl, object credentials, object? settings = null)
    {
        using var response = await Admin.PostAsJsonAsync("/api/providers", new { name, kind, baseUrl, settings, credentials });
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.IsSuccessStatusCode, Is.True, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
    }

    /// <summary>Registers <paramref name="model"/> in the gateway's model table on a provider.</summary>
    public async Task<JsonElement> RegisterModelAsync(string model, string provider, string? upstreamModel = null, int priority = 0, int weight = 1)
    {
        using var console = Console();
        using var response = await console.PostAsJsonAsync("/api/models", new { name = model, provider, upstreamModel, priority, weight });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That((int)response.StatusCode, Is.EqualTo(201), body.ToString());
        return body;
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
        await Quota.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}
