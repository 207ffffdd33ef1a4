using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ThinkWatch.Testing;
using ThinkWatch.Identity.Testing;
using ThinkWatch.Quota.Testing;

namespace ThinkWatch.Console.Tests;

/// <summary>One console origin: the console forwards every /api area to the service that owns it, and that service checks the console token itself.</summary>
[TestFixture]
public sealed class ConsoleForwardingTests
{
    [Test]
    public async Task Limits_and_pricing_are_reached_through_the_console_origin()
    {
        var time = TestClock.Create();
        await using var quota = await QuotaHost.StartAsync(network: true, time: time);
        await using var console = await ConsoleHost.StartAsync(new Dictionary<string, string?>
        {
            ["services:quota:http:0"] = quota.HttpAddress!.ToString().TrimEnd('/'),
        });
        var identity = console.Identity;
        // Both services on one clock, so the session's token is current for both.
        Assert.That(identity.Time.GetUtcNow(), Is.EqualTo(time.GetUtcNow()));
        using var signedIn = await identity.SetUpAsync();
        // The same bearer token, sent to the console origin as a script would.
        using var admin = console.Client();
        admin.DefaultRequestHeaders.Authorization = signedIn.DefaultRequestHeaders.Authorization;

        using var created = await admin.PostAsJsonAsync("/api/limits/rules",
            new { subjectKind = "user", subjectId = "*", surface = "ai_gateway", metric = "requests", window = "1m", limit = 60 });
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created), await created.Content.ReadAsStringAsync());
        Assert.That(created.Headers.GetValues("X-Frame-Options"), Is.EqualTo(new[] { "DENY" }), "the owning service's header, not repeated by the origin");
        Assert.That(created.Headers.GetValues("Content-Security-Policy"), Has.Exactly(1).Items);
        var rules = await admin.GetFromJsonAsync<JsonElement>("/api/limits/rules");
        Assert.That(rules.EnumerateArray().Select(r => r.GetProperty("label").GetString()), Is.EqualTo(new[] { "user:requests/1m" }));
        var prices = await admin.GetFromJsonAsync<JsonElement>("/api/pricing");
        Assert.That(prices.EnumerateArray().Select(p => p.GetProperty("model").GetString()), Does.Contain("gpt-4o*"));

        using var anonymous = await console.Client().GetAsync("/api/limits/rules");
        Assert.That(anonymous.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "the quota service checks the token itself");
        using var unconfigured = await admin.GetAsync("/api/logs");
        Assert.That(unconfigured.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "an area whose service is not configured says so");
        using var keys = await admin.GetAsync("/api/keys");
        Assert.That(keys.StatusCode, Is.EqualTo(HttpStatusCode.OK), "Identity's own areas are forwarded too");
        using var nobody = await admin.GetAsync("/api/nothing-here");
        Assert.That(nobody.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }
}
