using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ThinkWatch.Testing;
using ThinkWatch.Identity.Testing;
using ThinkWatch.Quota.Testing;

namespace ThinkWatch.AiGateway.Tests;

/// <summary>One console origin: Identity forwards the areas other services own, and those services check the console token themselves.</summary>
[TestFixture]
public sealed class ConsoleForwardingTests
{
    [Test]
    public async Task Limits_and_pricing_are_reached_through_the_console_origin()
    {
        var time = TestClock.Create();
        await using var quota = await QuotaHost.StartAsync(network: true, time: time);
        await using var identity = await IdentityHost.StartAsync(new Dictionary<string, string?>
        {
            ["services:quota:http:0"] = quota.HttpAddress!.ToString().TrimEnd('/'),
        });
        // Both services on one clock, so the session's token is current for both.
        Assert.That(identity.Time.GetUtcNow(), Is.EqualTo(time.GetUtcNow()));
        using var admin = await identity.SetUpAsync();

        using var created = await admin.PostAsJsonAsync("/api/limits/rules",
            new { subjectKind = "user", subjectId = "*", surface = "ai_gateway", metric = "requests", window = "1m", limit = 60 });
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created), await created.Content.ReadAsStringAsync());
        Assert.That(created.Headers.GetValues("X-Frame-Options"), Is.EqualTo(new[] { "DENY" }), "the owning service's header, not repeated by the origin");
        Assert.That(created.Headers.GetValues("Content-Security-Policy"), Has.Exactly(1).Items);
        var rules = await admin.GetFromJsonAsync<JsonElement>("/api/limits/rules");
        Assert.That(rules.EnumerateArray().Select(r => r.GetProperty("label").GetString()), Is.EqualTo(new[] { "user:requests/1m" }));
        var prices = await admin.GetFromJsonAsync<JsonElement>("/api/pricing");
        Assert.That(prices.EnumerateArray().Select(p => p.GetProperty("model").GetString()), Does.Contain("gpt-4o*"));

        using var anonymous = await identity.Http.GetAsync("/api/limits/rules");
        Assert.That(anonymous.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "the quota service checks the token itself");
        using var unconfigured = await admin.GetAsync("/api/logs");
        Assert.That(unconfigured.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "an area whose service is not configured says so");
    }
}
