using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using ThinkWatch.AiGateway.Keys;
using ThinkWatch.Contracts.Identity.V1;

namespace ThinkWatch.AiGateway.Tests;

/// <summary>The gateway's view of keys: a real Identity over real gRPC, and its events over RabbitMQ.</summary>
[TestFixture]
public sealed class KeyAuthenticationTests
{
    private GatewayHost _gateway = null!;

    [SetUp]
    public async Task Start() =>
        // Far longer than any test: only Identity's event can drop a cached principal.
        _gateway = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["ApiKeys:CacheTtl"] = "00:10:00" });

    [TearDown]
    public async Task Stop() => await _gateway.DisposeAsync();

    private KeyAuthenticator Authenticator => _gateway.Services.GetRequiredService<KeyAuthenticator>();

    private Task<(string Id, string Secret)> CreateKey() => _gateway.CreateKeyAsync(["gpt-4o*"]);

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
        using (var revoke = await _gateway.Admin.PostAsync($"/api/keys/{id}/revoke", null))
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
