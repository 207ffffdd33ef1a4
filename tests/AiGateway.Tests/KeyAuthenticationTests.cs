using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ThinkWatch.AiGateway.Keys;
using ThinkWatch.Contracts.Identity.V1;
using ThinkWatch.Identity.Testing;
using ThinkWatch.Testing;

namespace ThinkWatch.AiGateway.Tests;

/// <summary>The gateway's view of keys: a real Identity over real gRPC, and its events over RabbitMQ.</summary>
[TestFixture]
public sealed class KeyAuthenticationTests
{
    private IdentityHost _identity = null!;
    private HttpClient _admin = null!;
    private ServiceHost<AiGatewayOptions> _gateway = null!;

    [SetUp]
    public async Task Start()
    {
        var infra = await TestInfrastructure.EnsureStartedAsync();
        _identity = await IdentityHost.StartAsync(network: true);
        _admin = await _identity.SetUpAsync();
        _gateway = new ServiceHost<AiGatewayOptions>(new Dictionary<string, string?>
        {
            ["ConnectionStrings:aigatewaydb"] = infra.PostgresConnectionString(InfraEndpoints.UniqueName("gateway")),
            ["ConnectionStrings:rabbitmq"] = infra.RabbitMqUri(),
            ["services:identity:grpc:0"] = _identity.GrpcAddress!.ToString().TrimEnd('/'),
            ["InternalAuth:Token"] = IdentityHost.InternalToken,
            // Far longer than any test: only Identity's event can drop a cached principal.
            ["AiGateway:KeyCacheTtl"] = "00:10:00",
        });
        var (status, body) = await _gateway.WaitForReadyAsync(TimeSpan.FromSeconds(60));
        Assert.That(status, Is.EqualTo(200), body);
    }

    [TearDown]
    public async Task Stop()
    {
        await _gateway.DisposeAsync();
        _admin.Dispose();
        await _identity.DisposeAsync();
    }

    private KeyAuthenticator Authenticator => _gateway.Services.GetRequiredService<KeyAuthenticator>();

    private async Task<(string Id, string Secret)> CreateKey()
    {
        using var response = await _admin.PostAsJsonAsync("/api/keys", new { name = "agent", surfaces = new[] { "ai_gateway" }, allowedModels = new[] { "gpt-4o*" } });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("key").GetProperty("id").GetString()!, body.GetProperty("secret").GetString()!);
    }

    [Test]
    public async Task A_valid_key_yields_its_principal_and_strangers_are_refused_without_asking()
    {
        var (_, secret) = await CreateKey();

        var valid = await Authenticator.AuthenticateAsync(secret, CancellationToken.None);
        var foreign = await Authenticator.AuthenticateAsync("sk-not-ours", CancellationToken.None);
        var unknown = await Authenticator.AuthenticateAsync("tw-" + new string('x', 44), CancellationToken.None);

        Assert.That(valid.Principal.AllowedModels, Is.EqualTo(new[] { "gpt-4o*" }));
        Assert.That(foreign.Rejection.Reason, Is.EqualTo(RejectionReason.Unknown));
        Assert.That(unknown.Rejection.Reason, Is.EqualTo(RejectionReason.Unknown));
    }

    [Test]
    public async Task A_revoked_key_stops_working_at_the_gateway_through_the_event_not_the_cache_expiry()
    {
        var (id, secret) = await CreateKey();
        Assert.That((await Authenticator.AuthenticateAsync(secret, CancellationToken.None)).ResultCase,
            Is.EqualTo(ValidateKeyResponse.ResultOneofCase.Principal), "now cached for 10 min");

        var revokedAt = Stopwatch.GetTimestamp();
        using (var revoke = await _admin.PostAsync($"/api/keys/{id}/revoke", null))
        {
            Assert.That(revoke.IsSuccessStatusCode, Is.True);
        }
        ValidateKeyResponse answer;
        do
        {
            answer = await Authenticator.AuthenticateAsync(secret, CancellationToken.None);
            if (answer.ResultCase == ValidateKeyResponse.ResultOneofCase.Principal)
            {
                await Task.Delay(10);
            }
        }
        while (answer.ResultCase == ValidateKeyResponse.ResultOneofCase.Principal && Stopwatch.GetElapsedTime(revokedAt) < TimeSpan.FromSeconds(60));

        Assert.That(answer.Rejection?.Reason, Is.EqualTo(RejectionReason.Revoked), "the cached principal outlived the revocation event");
    }
}
