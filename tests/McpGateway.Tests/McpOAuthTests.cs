using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ThinkWatch.Security;
using ThinkWatch.Testing;

namespace ThinkWatch.McpGateway.Tests;

/// <summary>
/// Users connecting their own accounts on an OAuth-protected MCP server, end to end: discovery from the server's 401, dynamic
/// registration, PKCE, the browser's round trip through the authorization server and the callback (on another replica), calls as
/// that user, per-user catalogs, renewal once under concurrent calls on both replicas, a terminal refusal, revocation, and the
/// manual registration path.
/// </summary>
[TestFixture]
public sealed class McpOAuthTests
{
    private McpHost _host = null!;
    private FakeOAuthServer _oauth = null!;
    private FakeOAuthServer _manual = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        // Tokens are renewed only once expired or refused, so a test decides exactly when.
        _host = await McpHost.StartAsync(new Dictionary<string, string?> { ["McpGateway:TokenRefreshSkew"] = "00:00:00" });
        _oauth = await FakeOAuthServer.StartAsync();
        _manual = await FakeOAuthServer.StartAsync(dynamicRegistration: false);
        await _host.RegisterAsync("docs", _oauth.McpUrl, authMode: "oauth");
        await _host.RegisterAsync("wiki", _manual.McpUrl, authMode: "oauth");
        await _host.GrantAsync(Roles.Developer, _host.Servers["docs"], "*");
        await _host.GrantAsync(Roles.Developer, _host.Servers["wiki"], "*");
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        await _host.DisposeAsync();
        await _oauth.DisposeAsync();
        await _manual.DisposeAsync();
    }

    private Task<McpClient> AsUserAsync(Guid user, Uri? endpoint = null) => McpHost.ConnectAsync(endpoint ?? _host.Gateway, ConsoleTokens.Issue(Roles.Developer, user));

    private static string Text(CallToolResult result) => ((TextContentBlock)result.Content.Single()).Text;

    /// <summary>
    /// Plays the user's browser: the console asks to connect, the authorization server's page is opened and approved as
    /// <paramref name="upstreamUser"/>, and its redirect is followed to the gateway's callback — on replica B, as the console
    /// would forward it to any replica. The callback's answer.
    /// </summary>
    private async Task<JsonElement> ConnectAsync(string server, Guid user, string upstreamUser, string? label = null)
    {
        using var console = _host.Console(Roles.Developer, user);
        var instructions = await console.GetFromJsonAsync<JsonElement>($"/api/mcp/servers/{_host.Servers[server]}/connect" + (label is null ? "" : $"?label={label}"));
        var authorizationUrl = instructions.GetProperty("authorizationUrl").GetString()!;
        return await ApproveAsync(authorizationUrl, upstreamUser);
    }

    private async Task<JsonElement> ApproveAsync(string authorizationUrl, string upstreamUser)
    {
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var consent = await browser.GetAsync(authorizationUrl + "&user=" + upstreamUser);
        Assert.That(consent.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await consent.Content.ReadAsStringAsync());
        var callback = consent.Headers.Location!.ToString();
        Assert.That(callback, Does.StartWith(McpHost.ConsoleUrl + "/api/mcp/oauth/callback?"));
        using var landed = await browser.GetAsync(new Uri(_host.ReplicaB, callback[McpHost.ConsoleUrl.Length..]));
        var body = await landed.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(landed.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToString());
        return body;
    }

    [Test]
    public async Task A_user_connects_through_discovery_registration_and_PKCE_then_calls_as_themselves()
    {
        var alice = Guid.NewGuid();
        await using var before = await AsUserAsync(alice);
        var placeholder = (await before.ListToolsAsync()).Select(t => t.Name).Where(n => n.StartsWith("docs__", StringComparison.Ordinal)).ToList();
        var refused = await Assert.ThrowsAsync<McpProtocolException>(async () => await before.CallToolAsync("docs__whoami"));
        var refusedPrompt = await Assert.ThrowsAsync<McpProtocolException>(async () => await before.GetPromptAsync("docs__summary"));
        var refusedRead = await Assert.ThrowsAsync<McpProtocolException>(async () => await before.ReadResourceAsync("docs+notes://today"));

        var connected = await ConnectAsync("docs", alice, "alice");
        await using var client = await AsUserAsync(alice);
        var tools = (await client.ListToolsAsync()).Select(t => t.Name).ToList();
        var called = Text(await client.CallToolAsync("docs__whoami"));

        Assert.That(placeholder, Is.EqualTo(new[] { "docs__connect_account" }), "401 to anonymous listing: only the placeholder");
        Assert.That((int)refused!.ErrorCode, Is.EqualTo(-32050));
        Assert.That(refused.Message, Does.Contain(McpHost.ConsoleUrl + "/api/mcp/oauth/start/"), "a personal link to connect");
        foreach (var other in new[] { refusedPrompt!, refusedRead! })
        {
            Assert.That((int)other.ErrorCode, Is.EqualTo(-32050));
            Assert.That(other.Message, Does.Contain(McpHost.ConsoleUrl + "/api/mcp/oauth/start/"), "prompts and resources get a personal link too");
        }
        Assert.That(_oauth.Registrations, Is.EqualTo(1), "registered once (RFC 7591), reused afterwards");
        Assert.That(_oauth.LastAuthorization["code_challenge_method"], Is.EqualTo("S256"));
        Assert.That(_oauth.LastAuthorization["resource"], Is.EqualTo(_oauth.McpUrl.ToString()), "RFC 8707 resource");
        Assert.That(_oauth.LastAuthorization["scope"], Is.EqualTo("notes:read"), "the scope the server's challenge named");
        Assert.That(_oauth.LastAuthorization["redirect_uri"], Is.EqualTo(McpHost.ConsoleUrl + "/api/mcp/oauth/callback"));
        Assert.That(connected.GetProperty("upstreamIdentity").GetString(), Is.EqualTo("@alice"), "from userinfo");
        Assert.That(connected.GetProperty("isDefault").GetBoolean(), Is.True);
        Assert.That(tools, Does.Contain("docs__whoami").And.Contain("docs__private_alice").And.Not.Contain("docs__connect_account"));
        Assert.That(called, Is.EqualTo("oauth: alice called whoami"));
    }

    [Test]
    public async Task The_personal_link_of_a_32050_answer_leads_a_browser_without_a_console_token_to_the_authorization_server()
    {
        var erin = Guid.NewGuid();
        await using var client = await AsUserAsync(erin);
        var refused = await Assert.ThrowsAsync<McpProtocolException>(async () => await client.CallToolAsync("docs__whoami"));
        var link = refused!.Message[refused.Message.IndexOf(McpHost.ConsoleUrl, StringComparison.Ordinal)..].Split(' ')[0];

        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var started = await browser.GetAsync(new Uri(_host.ReplicaB, link[McpHost.ConsoleUrl.Length..]));
        await ApproveAsync(started.Headers.Location!.ToString(), "erin");
        using var again = await browser.GetAsync(new Uri(_host.ReplicaB, link[McpHost.ConsoleUrl.Length..]));

        Assert.That(started.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(started.Headers.Location!.ToString(), Does.StartWith(_oauth.BaseAddress + "oauth/authorize?"));
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "a link is used once");
        Assert.That(Text(await client.CallToolAsync("docs__whoami")), Is.EqualTo("oauth: erin called whoami"));
    }

    [Test]
    public async Task Two_users_each_see_only_their_own_catalog()
    {
        var (bob, carol) = (Guid.NewGuid(), Guid.NewGuid());
        await ConnectAsync("docs", bob, "bob");
        await ConnectAsync("docs", carol, "carol");
        await using var asBob = await AsUserAsync(bob);
        await using var asCarol = await AsUserAsync(carol);

        var bobs = (await asBob.ListToolsAsync()).Select(t => t.Name).Where(n => n.StartsWith("docs__", StringComparison.Ordinal)).ToList();
        var carols = (await asCarol.ListToolsAsync()).Select(t => t.Name).Where(n => n.StartsWith("docs__", StringComparison.Ordinal)).ToList();

        Assert.That(bobs, Is.EquivalentTo(new[] { "docs__whoami", "docs__private_bob" }));
        Assert.That(carols, Is.EquivalentTo(new[] { "docs__whoami", "docs__private_carol" }));
        Assert.That(Text(await asBob.CallToolAsync("docs__whoami")), Is.EqualTo("oauth: bob called whoami"));
        Assert.That(Text(await asCarol.CallToolAsync("docs__whoami")), Is.EqualTo("oauth: carol called whoami"), "whoami is read-only and cached, per user");
    }

    [Test]
    public async Task An_expired_token_is_renewed_exactly_once_under_twenty_concurrent_calls_on_two_replicas()
    {
        var dan = Guid.NewGuid();
        _oauth.ShortLivedNext("dan", TimeSpan.FromSeconds(1));
        var connected = await ConnectAsync("docs", dan, "dan");
        await using var viaA = await AsUserAsync(dan, _host.ReplicaA);
        await using var viaB = await AsUserAsync(dan, _host.ReplicaB);
        // Until the token is past the expiry the gateway stored (set on receipt, so after the server's own):
        // then every call must renew, and both sides agree that it must.
        var expires = connected.GetProperty("expiresAt").GetDateTimeOffset();
        while (DateTimeOffset.UtcNow <= expires)
        {
            await Task.Delay(20);
        }
        var before = _oauth.Refreshes;

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => (i % 2 == 0 ? viaA : viaB).CallToolAsync("docs__whoami").AsTask()));

        Assert.That(results.Select(Text), Has.All.EqualTo("oauth: dan called whoami"));
        Assert.That(_oauth.Refreshes - before, Is.EqualTo(1), "one refresh for everyone (the refresh token rotates, a second use would fail)");
    }

    [Test]
    public async Task A_refused_renewal_removes_the_account_and_the_next_call_asks_to_connect_again()
    {
        var frank = Guid.NewGuid();
        await ConnectAsync("docs", frank, "frank");
        await using var client = await AsUserAsync(frank);
        Assert.That(Text(await client.CallToolAsync("docs__whoami")), Is.EqualTo("oauth: frank called whoami"));

        _oauth.RevokeRefreshTokens("frank");
        _oauth.ExpireAccessTokens("frank");
        // Not whoami: its answer is cached for a minute.
        var refused = await Assert.ThrowsAsync<McpProtocolException>(async () => await client.CallToolAsync("docs__private_frank"));
        using var console = _host.Console(Roles.Developer, frank);
        var connections = await console.GetFromJsonAsync<JsonElement>("/api/mcp/connections");

        Assert.That((int)refused!.ErrorCode, Is.EqualTo(-32050));
        Assert.That(connections.GetArrayLength(), Is.Zero, "the credential was removed");
    }

    [Test]
    public async Task Removing_a_connection_revokes_its_tokens_at_the_authorization_server()
    {
        var gina = Guid.NewGuid();
        await ConnectAsync("docs", gina, "gina");
        using var console = _host.Console(Roles.Developer, gina);
        var id = (await console.GetFromJsonAsync<JsonElement>("/api/mcp/connections"))[0].GetProperty("id").GetString();
        var before = _oauth.Revocations;

        using var removed = await console.DeleteAsync($"/api/mcp/connections/{id}");

        Assert.That(removed.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(_oauth.Revocations - before, Is.EqualTo(2), "refresh and access token (RFC 7009)");
    }

    [Test]
    public async Task Without_dynamic_registration_connecting_explains_the_manual_steps_and_works_once_an_admin_entered_the_client()
    {
        var hank = Guid.NewGuid();
        using var console = _host.Console(Roles.Developer, hank);
        using var admin = _host.Console();
        var wiki = _host.Servers["wiki"];

        using var first = await console.GetAsync($"/api/mcp/servers/{wiki}/connect");
        var explained = await first.Content.ReadFromJsonAsync<JsonElement>();
        using var byDeveloper = await console.PutAsJsonAsync($"/api/mcp/servers/{wiki}/oauth-client", new { clientId = "wiki-gateway" });
        _manual.Preregister("wiki-gateway", McpHost.ConsoleUrl + "/api/mcp/oauth/callback");
        using var entered = await admin.PutAsJsonAsync($"/api/mcp/servers/{wiki}/oauth-client", new { clientId = "wiki-gateway" });
        var view = await entered.Content.ReadFromJsonAsync<JsonElement>();
        await ConnectAsync("wiki", hank, "hank");
        await using var client = await AsUserAsync(hank);

        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
        Assert.That(explained.GetProperty("detail").GetString(), Does.Contain("redirect URI " + McpHost.ConsoleUrl + "/api/mcp/oauth/callback")
            .And.Contain("/oauth-client"));
        Assert.That(byDeveloper.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(entered.StatusCode, Is.EqualTo(HttpStatusCode.OK), view.ToString());
        Assert.That(view.GetProperty("registeredVia").GetString(), Is.EqualTo("manual"));
        Assert.That(view.GetProperty("tokenEndpoint").GetString(), Is.EqualTo(_manual.BaseAddress + "oauth/token"), "endpoints discovered");
        Assert.That(Text(await client.CallToolAsync("wiki__whoami")), Is.EqualTo("oauth: hank called whoami"));
    }
}
