using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Protocol;
using Npgsql;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Security;
using ThinkWatch.Testing;

namespace ThinkWatch.McpGateway.Tests;

/// <summary>
/// Who may use what through /mcp, and what it leaves behind: tool grants and key allow-lists, users' own upstream accounts
/// (static tokens, labels, key-pinned labels, -32050), rate limits and the audit events of every call.
/// </summary>
[TestFixture]
public sealed class McpAccessTests
{
    private McpHost _host = null!;
    private BusProbe<McpCallRecorded> _calls = null!;
    private BusProbe<AccessDenied> _refusals = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _host = await McpHost.StartAsync();
        _calls = await BusProbe<McpCallRecorded>.StartAsync(_host.Identity.RabbitMqUri);
        _refusals = await BusProbe<AccessDenied>.StartAsync(_host.Identity.RabbitMqUri);
        // Developers may use vault's tools and notes' add; nothing of github.
        await _host.GrantAsync(Roles.Developer, _host.Servers["vault"], "*");
        await _host.GrantAsync(Roles.Developer, _host.Servers["notes"], "add");
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        await _calls.DisposeAsync();
        await _refusals.DisposeAsync();
        await _host.DisposeAsync();
    }

    private Task<McpClient> AsUserAsync(Guid user, string role = Roles.Developer) => McpHost.ConnectAsync(_host.Gateway, ConsoleTokens.Issue(role, user));

    private static string Text(CallToolResult result) => ((TextContentBlock)result.Content.Single()).Text;

    [Test]
    public async Task Only_granted_tools_are_listed_and_callable_and_a_key_narrows_them_further()
    {
        await using var developer = await AsUserAsync(Guid.NewGuid());
        var (narrowKey, _, _) = await _host.CreateKeyAsync(["mcp_gateway"], allowedMcpTools: ["github__echo", "notes__*"]);
        await using var narrow = await McpHost.ConnectAsync(_host.Gateway, narrowKey);

        var developerTools = (await developer.ListToolsAsync()).Select(t => t.Name).ToList();
        var sum = await developer.CallToolAsync("notes__add", new Dictionary<string, object?> { ["a"] = 1, ["b"] = 2 });
        var ungrantedTool = await Assert.ThrowsAsync<McpProtocolException>(async () => await developer.CallToolAsync("notes__echo", new Dictionary<string, object?> { ["text"] = "x" }));
        var ungrantedServer = await Assert.ThrowsAsync<McpProtocolException>(async () => await developer.CallToolAsync("github__add", new Dictionary<string, object?> { ["a"] = 1, ["b"] = 2 }));
        var narrowTools = (await narrow.ListToolsAsync()).Select(t => t.Name).ToList();
        var outsideKey = await Assert.ThrowsAsync<McpProtocolException>(async () => await narrow.CallToolAsync("github__add", new Dictionary<string, object?> { ["a"] = 1, ["b"] = 2 }));

        Assert.That(developerTools, Is.EquivalentTo(new[] { "notes__add", "vault__connect_account" }));
        Assert.That(Text(sum), Is.EqualTo("3"));
        Assert.That(ungrantedTool!.ErrorCode, Is.EqualTo(McpErrorCode.InvalidParams), "a denied tool is as unknown as a missing one");
        Assert.That(ungrantedServer!.ErrorCode, Is.EqualTo(McpErrorCode.InvalidParams));
        Assert.That(narrowTools, Is.EquivalentTo(new[] { "github__echo", "notes__echo", "notes__add", "notes__fail", "notes__whoami" }),
            "super admin grants everything; the key allows github__echo and notes__* only (and nothing of vault, so not its placeholder)");
        Assert.That(outsideKey!.ErrorCode, Is.EqualTo(McpErrorCode.InvalidParams));
        var denied = await _refusals.WaitAsync(e => e.Surface == "mcp_gateway" && e.Reason == "permission" && e.Detail!.Contains("github", StringComparison.Ordinal),
            TimeSpan.FromSeconds(20));
        Assert.That(denied.Message.UserId, Is.Not.Null);
    }

    [Test]
    public async Task Without_an_account_a_per_user_server_lists_a_placeholder_and_calls_get_32050_with_where_to_connect()
    {
        await using var client = await AsUserAsync(Guid.NewGuid());

        var placeholder = (await client.ListToolsAsync()).Single(t => t.Name.StartsWith("vault__", StringComparison.Ordinal)).ProtocolTool;
        var refused = await Assert.ThrowsAsync<McpProtocolException>(async () => await client.CallToolAsync("vault__whoami"));
        var refusedPlaceholder = await Assert.ThrowsAsync<McpProtocolException>(async () => await client.CallToolAsync("vault__connect_account"));

        var authorizeUrl = $"{McpHost.ConsoleUrl}/api/mcp/servers/{_host.Servers["vault"]}/connect";
        Assert.That(placeholder.Name, Is.EqualTo("vault__connect_account"));
        Assert.That(placeholder.Meta?["requires_user_auth"]?.GetValue<bool>(), Is.True);
        Assert.That(placeholder.Meta?["authorize_url"]?.GetValue<string>(), Is.EqualTo(authorizeUrl));
        Assert.That(placeholder.Meta?["server_id"]?.GetValue<string>(), Is.EqualTo(_host.Servers["vault"].ToString()));
        Assert.That((int)refused!.ErrorCode, Is.EqualTo(-32050));
        Assert.That(refused.Message, Does.Contain(authorizeUrl));
        Assert.That((int)refusedPlaceholder!.ErrorCode, Is.EqualTo(-32050));

        // The error's data carries the URL for clients that open it themselves.
        var raw = await RawCallAsync(ConsoleTokens.Issue(Roles.Developer, Guid.NewGuid()), "vault__whoami");
        Assert.That(raw.GetProperty("error").GetProperty("code").GetInt32(), Is.EqualTo(-32050));
        Assert.That(raw.GetProperty("error").GetProperty("data").GetProperty("authorize_url").GetString(), Is.EqualTo(authorizeUrl));
    }

    [Test]
    public async Task Each_user_reaches_the_upstream_with_their_own_verified_token_stored_encrypted_and_never_with_the_gateway_credential()
    {
        var (alice, bob) = (Guid.NewGuid(), Guid.NewGuid());

        using var typo = await _host.ConnectVaultAsync(alice, "tok-wrong");
        var typoBody = await typo.Content.ReadFromJsonAsync<JsonElement>();
        using var aliceConnected = await _host.ConnectVaultAsync(alice, "tok-alice");
        using var bobConnected = await _host.ConnectVaultAsync(bob, "tok-bob");
        await using var aliceClient = await AsUserAsync(alice);
        await using var bobClient = await AsUserAsync(bob);
        var aliceTools = await aliceClient.ListToolsAsync();
        var asAlice = await aliceClient.CallToolAsync("vault__whoami");
        var asBob = await bobClient.CallToolAsync("vault__whoami");

        Assert.That(typo.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), typoBody.ToString());
        Assert.That(typoBody.GetProperty("errors").GetProperty("token")[0].GetString(), Does.Contain("did not accept"));
        Assert.That(aliceConnected.StatusCode, Is.EqualTo(HttpStatusCode.Created), await aliceConnected.Content.ReadAsStringAsync());
        var connection = await aliceConnected.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(connection.GetProperty("isDefault").GetBoolean(), Is.True, "the first account is the default");
        Assert.That(connection.GetProperty("label").GetString(), Is.EqualTo("default"));
        Assert.That(connection.GetProperty("upstreamIdentity").GetString(), Is.EqualTo("@alice"), "from the server's userinfo URL (like GitHub's /user)");
        Assert.That(connection.ToString(), Does.Not.Contain("tok-alice"), "the token is never shown again");
        Assert.That(bobConnected.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(aliceTools.Select(t => t.Name), Does.Contain("vault__whoami").And.Not.Contain("vault__connect_account"));
        Assert.That(aliceTools.Single(t => t.Name == "vault__whoami").ProtocolTool.Meta?["requires_user_auth"], Is.Null);
        Assert.That(Text(asAlice), Is.EqualTo("vault: alice"));
        Assert.That(Text(asBob), Is.EqualTo("vault: bob"));

        var sent = _host.Github.AuthorizationsSeen.Concat(_host.Notes.AuthorizationsSeen).Concat(_host.Vault.AuthorizationsSeen).ToList();
        Assert.That(sent, Has.All.Matches<string>(a => a is not null && McpHost.VaultTokens.Keys.Contains(a["Bearer ".Length..]) || a == "Bearer tok-wrong"),
            "upstreams only ever see users' own upstream tokens, never a tw- key or console token");
        Assert.That(_host.Github.AuthorizationsSeen, Is.Empty);

        await using var db = new NpgsqlConnection(_host.Database);
        await db.OpenAsync();
        await using var query = new NpgsqlCommand("SELECT secret FROM mcp.credentials WHERE user_id = @u", db);
        query.Parameters.AddWithValue("u", alice.ToString());
        var stored = (byte[])(await query.ExecuteScalarAsync())!;
        Assert.That(Encoding.UTF8.GetString(stored), Does.Not.Contain("tok-alice"));
        Assert.That(stored.Length, Is.GreaterThan(28), "nonce, tag and ciphertext");
    }

    [Test]
    public async Task A_key_pinned_to_an_account_label_uses_that_account_and_the_default_follows_the_users_choice()
    {
        var (unpinned, owner, _) = await _host.CreateKeyAsync(["mcp_gateway"]);
        var (pinned, _, _) = await _host.CreateKeyAsync(["mcp_gateway"], mcpAccountLabel: "work");
        var (pinnedMissing, _, _) = await _host.CreateKeyAsync(["mcp_gateway"], mcpAccountLabel: "nosuch");
        using var personal = await _host.ConnectVaultAsync(owner, "tok-admin", role: Roles.SuperAdmin);
        using var work = await _host.ConnectVaultAsync(owner, "tok-admin-work", label: "work", role: Roles.SuperAdmin);
        Assert.That((personal.StatusCode, work.StatusCode), Is.EqualTo((HttpStatusCode.Created, HttpStatusCode.Created)));
        var workId = (await work.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();

        Assert.That(await WhoAmIAsync(unpinned), Is.EqualTo("vault: admin"));
        Assert.That(await WhoAmIAsync(pinned), Is.EqualTo("vault: admin-work"));
        var missing = await Assert.ThrowsAsync<McpProtocolException>(async () => await WhoAmIAsync(pinnedMissing));
        Assert.That((int)missing!.ErrorCode, Is.EqualTo(-32050));
        Assert.That(missing.Message, Does.Contain("'nosuch'"));

        using var console = _host.Console(Roles.SuperAdmin, owner);
        using var madeDefault = await console.PostAsync($"/api/mcp/connections/{workId}/default", null);
        Assert.That(madeDefault.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await WhoAmIAsync(unpinned), Is.EqualTo("vault: admin-work"));

        using var removed = await console.DeleteAsync($"/api/mcp/connections/{workId}");
        var listed = await console.GetFromJsonAsync<JsonElement>("/api/mcp/connections");
        Assert.That(removed.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(listed.EnumerateArray().Select(c => (c.GetProperty("label").GetString(), c.GetProperty("isDefault").GetBoolean())),
            Is.EqualTo(new[] { ("default", true) }), "removing the default promotes the remaining account");
        Assert.That(await WhoAmIAsync(unpinned), Is.EqualTo("vault: admin"));
        var gone = await Assert.ThrowsAsync<McpProtocolException>(async () => await WhoAmIAsync(pinned));
        Assert.That((int)gone!.ErrorCode, Is.EqualTo(-32050));

        using var otherUser = _host.Console(Roles.Developer, Guid.NewGuid());
        using var notTheirs = await otherUser.DeleteAsync($"/api/mcp/connections/{workId}");
        Assert.That(notTheirs.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task Every_tool_call_is_recorded_with_caller_server_tool_arguments_size_latency_and_outcome()
    {
        var (key, owner, _) = await _host.CreateKeyAsync(["mcp_gateway"]);
        await using var client = await McpHost.ConnectAsync(_host.Gateway, key);

        await client.CallToolAsync("notes__add", new Dictionary<string, object?> { ["a"] = 20, ["b"] = 22 });
        await client.CallToolAsync("github__fail");

        var added = (await _calls.WaitAsync(e => e.UserId == owner.ToString() && e.Tool == "notes__add", TimeSpan.FromSeconds(20))).Message;
        var failed = (await _calls.WaitAsync(e => e.UserId == owner.ToString() && e.Tool == "github__fail", TimeSpan.FromSeconds(20))).Message;
        Assert.That(added.ServerId, Is.EqualTo(_host.Servers["notes"].ToString()));
        Assert.That(added.ApiKeyId, Is.Not.Null.And.Not.Empty);
        Assert.That(JsonDocument.Parse(added.ArgumentsJson).RootElement.GetProperty("a").GetInt32(), Is.EqualTo(20));
        Assert.That(added.ResponseBytes, Is.GreaterThan(0));
        Assert.That(added.LatencyMs, Is.GreaterThanOrEqualTo(0));
        Assert.That(added.Error, Is.Null);
        Assert.That(added.AccountLabel, Is.Null, "notes needs no account");
        Assert.That(failed.Error, Is.EqualTo("tool_error"));
    }

    [Test]
    public async Task Tool_calls_past_a_rate_limit_of_the_key_or_of_the_server_are_refused_naming_the_rule()
    {
        var (key, _, lineage) = await _host.CreateKeyAsync(["mcp_gateway"]);
        await _host.Quota.AddRuleAsync("api_key", lineage, "requests", "1m", 2, surface: "mcp_gateway");
        await using var client = await McpHost.ConnectAsync(_host.Gateway, key);

        await client.CallToolAsync("notes__add", new Dictionary<string, object?> { ["a"] = 1, ["b"] = 1 });
        await client.CallToolAsync("notes__add", new Dictionary<string, object?> { ["a"] = 1, ["b"] = 1 });
        var third = await Assert.ThrowsAsync<McpProtocolException>(async () => await client.CallToolAsync("notes__add", new Dictionary<string, object?> { ["a"] = 1, ["b"] = 1 }));

        Assert.That((int)third!.ErrorCode, Is.EqualTo(-32029));
        Assert.That(third.Message, Does.Contain("api_key"));
        var refusal = await _refusals.WaitAsync(e => e.Reason == "rate_limit" && e.RuleLabel!.Contains("api_key", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
        Assert.That(refusal.Message.Surface, Is.EqualTo("mcp_gateway"));

        await _host.RegisterAsync("limited", _host.Notes.Url);
        await _host.GrantAsync(Roles.SuperAdmin, _host.Servers["limited"], "*");
        await _host.Quota.AddRuleAsync("mcp_server", "limited", "requests", "1m", 1, surface: "mcp_gateway");
        await using var admin = await McpHost.ConnectAsync(_host.Gateway, _host.Key);
        await WaitForToolAsync(admin, "limited__add");
        await admin.CallToolAsync("limited__add", new Dictionary<string, object?> { ["a"] = 1, ["b"] = 1 });
        var second = await Assert.ThrowsAsync<McpProtocolException>(async () => await admin.CallToolAsync("limited__add", new Dictionary<string, object?> { ["a"] = 1, ["b"] = 1 }));
        Assert.That((int)second!.ErrorCode, Is.EqualTo(-32029));
        Assert.That(second.Message, Does.Contain("mcp_server"));
        Assert.That(Text(await admin.CallToolAsync("notes__add", new Dictionary<string, object?> { ["a"] = 1, ["b"] = 1 })), Is.EqualTo("2"),
            "another server's tools are not limited by it");
    }

    [Test]
    public async Task A_console_token_of_a_role_without_mcp_connect_is_refused_on_mcp_with_403_even_with_a_grant_for_the_role()
    {
        // The API refuses a grant the role could never use …
        using (var console = _host.Console())
        using (var grant = await console.PostAsJsonAsync("/api/mcp/grants", new { role = Roles.Viewer, serverId = _host.Servers["notes"], tools = "*" }))
        {
            Assert.That(grant.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(await grant.Content.ReadAsStringAsync(), Does.Contain("may not connect to /mcp"));
        }
        // … and one stored before that rule does not let the role in either.
        await using (var db = new NpgsqlConnection(_host.Database))
        {
            await db.OpenAsync();
            await using var insert = new NpgsqlCommand("INSERT INTO mcp.grants (id, role, server_id, tools, created_at) VALUES (@id, 'viewer', @server, '*', now())", db);
            insert.Parameters.AddWithValue("id", Guid.NewGuid());
            insert.Parameters.AddWithValue("server", _host.Servers["notes"]);
            await insert.ExecuteNonQueryAsync();
        }
        var viewer = Guid.NewGuid();

        using var response = await InitializeAsync(ConsoleTokens.Issue(Roles.Viewer, viewer));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var refused = await Assert.CatchAsync<Exception>(async () => await McpHost.ConnectAsync(_host.Gateway, ConsoleTokens.Issue(Roles.Viewer, viewer)));
        var recorded = await _refusals.WaitAsync(e => e.UserId == viewer.ToString() && e.Reason == "permission", TimeSpan.FromSeconds(20));
        await using var developer = await AsUserAsync(Guid.NewGuid());

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), body.ToString());
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
        Assert.That(body.GetProperty("jsonrpc").GetString(), Is.EqualTo("2.0"));
        Assert.That(body.GetProperty("error").GetProperty("code").GetInt32(), Is.EqualTo(-32000));
        Assert.That(body.GetProperty("error").GetProperty("message").GetString(), Does.Contain("mcp:connect").And.Contain("viewer"));
        Assert.That(Upstream.UpstreamClients.AuthFailure(refused), Is.EqualTo(403), refused!.ToString());
        Assert.That(recorded.Message.Detail, Does.Contain("mcp:connect"));
        Assert.That((await developer.ListToolsAsync()).Select(t => t.Name), Does.Contain("notes__add"), "roles with mcp:connect still get in");
    }

    [TestCase("forged")]
    [TestCase("expired")]
    public async Task An_unusable_console_token_on_mcp_is_401_as_a_json_rpc_error_like_every_other_refusal_there(string kind)
    {
        var token = kind == "forged"
            ? new ConsoleTokenIssuer(Options.Create(new ConsoleAuthOptions { SigningKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48)) }),
                TimeProvider.System).Issue(Guid.NewGuid(), "x@example.com", Roles.SuperAdmin, Guid.NewGuid()).Token
            : ConsoleTokens.Issue(Roles.SuperAdmin, time: new PastClock(TimeSpan.FromHours(1)));

        using var response = await InitializeAsync(token);
        var text = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), text);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"), "not ProblemDetails");
        Assert.That(response.Headers.WwwAuthenticate.Select(h => h.Scheme), Is.EqualTo(new[] { "Bearer" }));
        var body = JsonDocument.Parse(text).RootElement;
        Assert.That(body.GetProperty("jsonrpc").GetString(), Is.EqualTo("2.0"));
        Assert.That(body.GetProperty("error").GetProperty("code").GetInt32(), Is.EqualTo(-32001));
        Assert.That(body.GetProperty("error").GetProperty("message").GetString(), Does.Contain("console token"));
    }

    private sealed class PastClock(TimeSpan ago) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() - ago;
    }

    /// <summary>A bare initialize on the public /mcp with <paramref name="bearer"/>, for the answer as sent.</summary>
    private async Task<HttpResponseMessage> InitializeAsync(string bearer)
    {
        using var http = new HttpClient { BaseAddress = _host.Gateway };
        http.DefaultRequestHeaders.Authorization = new("Bearer", bearer);
        http.DefaultRequestHeaders.Accept.ParseAdd("application/json");
        http.DefaultRequestHeaders.Accept.ParseAdd("text/event-stream");
        return await http.PostAsync("/mcp", new StringContent(
            """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}""",
            Encoding.UTF8, "application/json"));
    }

    [Test]
    public async Task An_unknown_key_on_mcp_is_recorded_as_an_authentication_refusal()
    {
        var unknown = "tw-" + new string('q', 44);

        var refused = await Assert.CatchAsync<Exception>(async () => await McpHost.ConnectAsync(_host.Gateway, unknown));
        var recorded = await _refusals.WaitAsync(e => e.Surface == "mcp_gateway" && e.Reason == "authentication", TimeSpan.FromSeconds(20));

        Assert.That(Upstream.UpstreamClients.AuthFailure(refused), Is.EqualTo(401), refused!.ToString());
        Assert.That(recorded.Message.UserId, Is.Null);
        Assert.That(recorded.Message.Detail, Is.Not.Empty);
    }

    [Test]
    public async Task Answers_of_read_only_tools_are_cached_globally_for_shared_servers_and_per_user_for_per_user_servers()
    {
        var (ivy, jon) = (Guid.NewGuid(), Guid.NewGuid());
        using var ivyConnected = await _host.ConnectVaultAsync(ivy, "tok-alice");
        using var jonConnected = await _host.ConnectVaultAsync(jon, "tok-bob");
        await using var asIvy = await AsUserAsync(ivy);
        await using var asJon = await AsUserAsync(jon);
        var (notesBefore, vaultBefore) = (_host.Notes.Calls, _host.Vault.Calls);

        var sums = new[]
        {
            Text(await asIvy.CallToolAsync("notes__add", new Dictionary<string, object?> { ["a"] = 500, ["b"] = 6 })),
            Text(await asJon.CallToolAsync("notes__add", new Dictionary<string, object?> { ["b"] = 6, ["a"] = 500 })),
            Text(await asJon.CallToolAsync("notes__add", new Dictionary<string, object?> { ["a"] = 500, ["b"] = 7 })),
        };
        var notesCalls = _host.Notes.Calls - notesBefore;
        var whoami = new[]
        {
            Text(await asIvy.CallToolAsync("vault__whoami")), Text(await asJon.CallToolAsync("vault__whoami")),
            Text(await asIvy.CallToolAsync("vault__whoami")), Text(await asJon.CallToolAsync("vault__whoami")),
        };
        var vaultCalls = _host.Vault.Calls - vaultBefore;
        var users = new[] { ivy.ToString(), jon.ToString() };
        var recorded = new List<McpCallRecorded>();
        for (var n = 0; n < 4; n++)
        {
            recorded.Add((await _calls.WaitAsync(e => e.Tool == "vault__whoami" && users.Contains(e.UserId), TimeSpan.FromSeconds(20))).Message);
        }

        Assert.That(sums, Is.EqualTo(new[] { "506", "506", "507" }));
        Assert.That(notesCalls, Is.EqualTo(2), "the same arguments (in any order) answered once for everyone; other arguments asked again");
        Assert.That(whoami, Is.EqualTo(new[] { "vault: alice", "vault: bob", "vault: alice", "vault: bob" }), "never another user's answer");
        Assert.That(vaultCalls, Is.EqualTo(2), "once per user");
        Assert.That(recorded.Where(e => e.Cached).Select(e => e.UserId), Is.EquivalentTo(users), "each user's second call is recorded as answered from the cache");
        Assert.That(recorded.Where(e => !e.Cached).Select(e => e.UserId), Is.EquivalentTo(users));
    }

    private async Task<string> WhoAmIAsync(string key)
    {
        await using var client = await McpHost.ConnectAsync(_host.Gateway, key);
        return Text(await client.CallToolAsync("vault__whoami"));
    }

    private static async Task WaitForToolAsync(McpClient client, string name)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!(await client.ListToolsAsync()).Any(t => t.Name == name))
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"{name} never listed");
            await Task.Delay(200);
        }
    }

    /// <summary>initialize + tools/call over plain HTTP, for the JSON-RPC error as sent (JSON responses requested).</summary>
    private async Task<JsonElement> RawCallAsync(string bearer, string tool)
    {
        using var http = new HttpClient { BaseAddress = _host.Gateway };
        http.DefaultRequestHeaders.Authorization = new("Bearer", bearer);
        http.DefaultRequestHeaders.Accept.ParseAdd("application/json");
        http.DefaultRequestHeaders.Accept.ParseAdd("text/event-stream");
        using var init = await http.PostAsync("/mcp", new StringContent(
            """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}""",
            Encoding.UTF8, "application/json"));
        var session = init.Headers.GetValues("Mcp-Session-Id").Single();
        using var call = new HttpRequestMessage(HttpMethod.Post, "/mcp")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { jsonrpc = "2.0", id = 2, method = "tools/call", @params = new { name = tool, arguments = new { } } }),
                Encoding.UTF8, "application/json"),
        };
        call.Headers.Add("Mcp-Session-Id", session);
        call.Headers.Add("MCP-Protocol-Version", "2025-11-25");
        using var response = await http.SendAsync(call);
        var text = await response.Content.ReadAsStringAsync();
        // An SSE answer carries the message on its data: line.
        var json = text.TrimStart().StartsWith('{') ? text : text.Split('\n').Last(l => l.StartsWith("data:", StringComparison.Ordinal))["data:".Length..];
        return JsonDocument.Parse(json).RootElement.Clone();
    }
}
