using System.Net;
using System.Text.Json;

namespace ThinkWatch.Identity.Tests;

[TestFixture]
public sealed class ConsoleApiTests : SignedInFixture
{
    [Test]
    public async Task The_openapi_document_describes_the_console_areas()
    {
        using var response = await Host.Http.GetAsync("/api/openapi/v1.json");
        var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(document.GetProperty("info").GetProperty("title").GetString(), Does.Contain("Identity"));
        Assert.That(paths, Is.SupersetOf(new[] { "/api/setup", "/api/auth/login", "/api/keys", "/api/keys/{id}/rotate", "/api/users", "/api/teams", "/api/providers" }));
    }

    [Test]
    public async Task The_reference_page_is_served_with_its_own_policy()
    {
        using var response = await Host.Http.GetAsync("/api/reference");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
        Assert.That(response.Headers.GetValues("Content-Security-Policy").Single(), Does.Contain("script-src 'self'").And.Contain("frame-ancestors 'none'"));
    }

    [Test]
    public async Task Api_answers_carry_security_headers_and_a_deny_all_policy()
    {
        using var response = await Root.GetAsync("/api/me");

        AssertSecurityHeaders(response);
    }

    [Test]
    public async Task An_error_answer_keeps_the_security_headers()
    {
        // A body the serializer cannot read goes through the exception handler, which clears the headers set so far.
        using var response = await Root.PostAsync("/api/keys", new StringContent("{\"name\": ", System.Text.Encoding.UTF8, "application/json"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        AssertSecurityHeaders(response);
    }

    private static void AssertSecurityHeaders(HttpResponseMessage response)
    {
        Assert.That(response.Headers.TryGetValues("X-Content-Type-Options", out var sniff) ? sniff.Single() : null, Is.EqualTo("nosniff"));
        Assert.That(response.Headers.TryGetValues("X-Frame-Options", out var frames) ? frames.Single() : null, Is.EqualTo("DENY"));
        Assert.That(response.Headers.TryGetValues("Referrer-Policy", out var referrer) ? referrer.Single() : null, Is.EqualTo("no-referrer"));
        Assert.That(response.Headers.TryGetValues("Content-Security-Policy", out var csp) ? csp.Single() : null,
            Does.StartWith("default-src 'none'").And.Contain("frame-ancestors 'none'"));
        Assert.That(response.Headers.CacheControl?.NoStore, Is.True);
    }

    [TestCase("https://console.example.com", true)]
    [TestCase("https://evil.example.com", false)]
    public async Task Cross_origin_calls_are_allowed_only_from_configured_origins(string origin, bool allowed)
    {
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/keys");
        preflight.Headers.Add("Origin", origin);
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");

        using var response = await Host.Http.SendAsync(preflight);

        Assert.That(response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) ? values.Single() : null,
            allowed ? Is.EqualTo(origin) : Is.Null);
    }
}

[TestFixture]
public sealed class OversizedBodyTests
{
    [Test]
    public async Task Oversized_bodies_are_refused_with_413_and_nothing_is_written()
    {
        await using var host = await IdentityHost.StartAsync();
        var huge = "{\"email\":\"a@example.com\",\"displayName\":\"" + new string('x', 2 * 1024 * 1024) + "\",\"password\":\"Abcdefg1\"}";

        using var response = await host.Http.PostAsync("/api/setup", new StringContent(huge, System.Text.Encoding.UTF8, "application/json"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("1024 KiB"));
        Assert.That(await host.QueryAsync<long>("SELECT count(*) FROM users"), Is.Zero);
    }
}
