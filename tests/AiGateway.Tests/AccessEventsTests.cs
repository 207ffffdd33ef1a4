using System.Net;
using System.Net.Http.Json;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Testing;

namespace ThinkWatch.AiGateway.Tests;

/// <summary>Refusals of the gateway's own reach the audit trail as AccessDenied events; an upstream's refusals do not.</summary>
[TestFixture]
public sealed class AccessEventsTests : GatewayFixture
{
    private BusProbe<AccessDenied> _bus = null!;

    [OneTimeSetUp]
    public async Task StartProbe() => _bus = await BusProbe<AccessDenied>.StartAsync(Gateway.Identity.RabbitMqUri);

    [OneTimeTearDown]
    public async Task StopProbe() => await _bus.DisposeAsync();

    /// <summary>Sends a chat request under a trace of its own and returns the status and that trace id.</summary>
    private async Task<(HttpStatusCode Status, string TraceId)> SendAsync(string? secret, string model = "gpt-4o")
    {
        var (status, trace, _) = await Gateway.ChatInTraceAsync(secret, model);
        return (status, trace.ToHexString());
    }

    private async Task<AccessDenied> RefusalAsync(string traceId) => (await _bus.WaitAsync(e => e.TraceId == traceId, TimeSpan.FromSeconds(30))).Message;

    [Test]
    public async Task A_missing_or_unknown_key_is_recorded_as_an_authentication_refusal_without_a_user()
    {
        var (missingStatus, missingTrace) = await SendAsync(null);
        var (unknownStatus, unknownTrace) = await SendAsync("tw-" + new string('x', 40));

        Assert.That((missingStatus, unknownStatus), Is.EqualTo((HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized)));
        var missing = await RefusalAsync(missingTrace);
        var unknown = await RefusalAsync(unknownTrace);
        Assert.Multiple(() =>
        {
            Assert.That((missing.Surface, missing.Reason, missing.UserId, missing.ApiKeyId), Is.EqualTo(("ai_gateway", "authentication", (string?)null, (string?)null)));
            Assert.That(missing.Detail, Does.Contain("Missing API key"));
            Assert.That(missing.ClientIp, Is.EqualTo("127.0.0.1"));
            Assert.That(unknown.Reason, Is.EqualTo("authentication"));
            Assert.That(unknown.Detail, Does.Not.Contain("xxxx"), "the presented secret is never recorded");
        });
    }

    [Test]
    public async Task A_model_the_key_may_not_use_is_recorded_as_a_permission_refusal_with_the_key_and_user()
    {
        var (keyId, secret) = await Gateway.CreateKeyAsync(["gpt-4o"]);

        var (status, trace) = await SendAsync(secret, "claude-sonnet-4");

        Assert.That(status, Is.EqualTo(HttpStatusCode.Forbidden));
        var refusal = await RefusalAsync(trace);
        Assert.That((refusal.Reason, refusal.ApiKeyId), Is.EqualTo(("permission", keyId)));
        Assert.That(refusal.UserId, Is.Not.Null.And.Not.Empty);
        Assert.That(refusal.Detail, Does.Contain("claude-sonnet-4"));
    }

    [Test]
    public async Task A_request_past_a_gateway_rate_limit_is_recorded_with_the_rule_but_an_upstreams_429_is_not()
    {
        using var created = await Gateway.Admin.PostAsJsonAsync("/api/keys", new { name = "limited", surfaces = new[] { "ai_gateway" }, allowedModels = new[] { "*" } });
        var key = await created.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        var (keyId, secret, lineage) = (key.GetProperty("key").GetProperty("id").GetString()!, key.GetProperty("secret").GetString()!,
            key.GetProperty("key").GetProperty("lineageId").GetString()!);
        await Gateway.Quota.AddRuleAsync("api_key", lineage, "requests", "1m", 1);
        Gateway.Upstream.On("POST", "/v1/chat/completions").Respond(FakeResponse.Json(OpenAiShapes.ChatCompletion("gpt-4o", "Hi", 12, 3)));

        var (first, firstTrace) = await SendAsync(secret);
        var (second, secondTrace) = await SendAsync(secret);

        Assert.That((first, second), Is.EqualTo((HttpStatusCode.OK, HttpStatusCode.TooManyRequests)));
        var refusal = await RefusalAsync(secondTrace);
        Assert.That((refusal.Reason, refusal.RuleLabel, refusal.ApiKeyId), Is.EqualTo(("rate_limit", "api_key:requests/1m", keyId)));

        var (otherKeyId, otherSecret) = await Gateway.CreateKeyAsync(["*"]);
        Gateway.Upstream.On("POST", "/v1/chat/completions").Respond(FakeResponse.Json("""{"error":{"message":"slow down"}}""", 429));
        var (upstream, upstreamTrace) = await SendAsync(otherSecret);

        Assert.That(upstream, Is.EqualTo(HttpStatusCode.TooManyRequests));
        Assert.That(await _bus.CollectAsync(e => e.TraceId == upstreamTrace || e.TraceId == firstTrace || e.ApiKeyId == otherKeyId, TimeSpan.FromSeconds(2)), Is.Empty);
    }
}
