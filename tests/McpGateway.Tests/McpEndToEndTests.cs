using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ThinkWatch.Security;
using ThinkWatch.Testing;

namespace ThinkWatch.McpGateway.Tests;

/// <summary>A real MCP client (the SDK's) through the AI gateway's /mcp, against two upstream MCP servers built on the SDK.</summary>
[TestFixture]
public sealed class McpEndToEndTests
{
    private McpHost _host = null!;

    [OneTimeSetUp]
    public async Task Start() => _host = await McpHost.StartAsync(new Dictionary<string, string?>(McpHost.StdioSettings())
    {
        // Idle upstream sessions (stdio children) closed within seconds, so a test can see it.
        ["McpGateway:UpstreamIdleTimeout"] = "00:00:02", ["McpGateway:UpstreamHealthProbeInterval"] = "00:00:01",
    });

    [OneTimeTearDown]
    public async Task Stop() => await _host.DisposeAsync();

    [Test]
    public async Task Tools_of_every_server_are_listed_under_their_server_names()
    {
        await using var client = await McpHost.ConnectAsync(_host.Gateway, _host.Key);

        var tools = await client.ListToolsAsync();

        Assert.That(tools.Select(t => t.Name).Where(Base), Is.EquivalentTo(new[]
        {
            "github__echo", "github__add", "github__fail", "github__whoami", "notes__echo", "notes__add", "notes__fail", "notes__whoami",
            "vault__connect_account",
        }), "vault needs the caller's own account, which the key's owner has not connected");
        var add = tools.Single(t => t.Name == "github__add").ProtocolTool;
        Assert.That(add.Description, Is.EqualTo("Adds two numbers."));
        Assert.That(add.InputSchema.GetProperty("properties").EnumerateObject().Select(p => p.Name), Is.EquivalentTo(new[] { "a", "b" }));
        Assert.That(add.Annotations?.ReadOnlyHint, Is.True);
        Assert.That(add.Meta?["server"]?.GetValue<string>(), Is.EqualTo("github"));
        Assert.That(tools.Select(t => t.Name), Has.All.Matches("^[A-Za-z0-9_.-]{1,128}$"), "names valid under the 2025-11-25 rules");
        Assert.That(client.ServerInfo?.Name, Is.EqualTo("thinkwatch-mcp-gateway"));
    }

    [Test]
    public async Task A_tool_call_reaches_the_server_its_name_names()
    {
        await using var client = await McpHost.ConnectAsync(_host.Gateway, _host.Key);
        var (githubBefore, notesBefore) = (_host.Github.Calls, _host.Notes.Calls);

        var echoed = await client.CallToolAsync("notes__echo", new Dictionary<string, object?> { ["text"] = "hello" });
        var sum = await client.CallToolAsync("github__add", new Dictionary<string, object?> { ["a"] = 2, ["b"] = 40 });

        Assert.That(((TextContentBlock)echoed.Content.Single()).Text, Is.EqualTo("notes: hello"));
        Assert.That(((TextContentBlock)sum.Content.Single()).Text, Is.EqualTo("42"));
        Assert.That((_host.Github.Calls - githubBefore, _host.Notes.Calls - notesBefore), Is.EqualTo((1, 1)));
    }

    [Test]
    public async Task An_upstream_tool_error_comes_back_as_a_tool_error_and_an_unknown_tool_as_invalid_params()
    {
        await using var client = await McpHost.ConnectAsync(_host.Gateway, _host.Key);

        var failed = await client.CallToolAsync("github__fail");
        var unknown = await Assert.ThrowsAsync<McpProtocolException>(async () => await client.CallToolAsync("nosuch__tool"));
        var unprefixed = await Assert.ThrowsAsync<McpProtocolException>(async () => await client.CallToolAsync("echo"));

        Assert.That(failed.IsError, Is.True);
        Assert.That(unknown!.ErrorCode, Is.EqualTo(McpErrorCode.InvalidParams));
        Assert.That(unprefixed!.ErrorCode, Is.EqualTo(McpErrorCode.InvalidParams));
    }

    [Test]
    public async Task A_server_on_the_legacy_sse_transport_is_aggregated_like_the_others()
    {
        await using var legacy = await FakeMcpServer.StartAsync("legacy", legacySse: true);
        await _host.RegisterAsync("legacy", new Uri(legacy.Url + "/sse"), transport: "sse");
        await _host.GrantAsync(Roles.SuperAdmin, _host.Servers["legacy"], "*");
        await using var client = await McpHost.ConnectAsync(_host.Gateway, _host.Key);

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!(await client.ListToolsAsync()).Any(t => t.Name == "legacy__echo") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }
        var echoed = await client.CallToolAsync("legacy__echo", new Dictionary<string, object?> { ["text"] = "over sse" });

        Assert.That(((TextContentBlock)echoed.Content.Single()).Text, Is.EqualTo("legacy: over sse"));
        Assert.That(legacy.Calls, Is.EqualTo(1));
    }

    [Test]
    public async Task A_configured_stdio_server_runs_as_a_child_process_shared_anonymously_and_one_per_user_with_their_token()
    {
        using var console = _host.Console();
        using var unconfigured = await console.PostAsJsonAsync("/api/mcp/servers", new { name = "rogue", url = "stdio:rm -rf", transport = "stdio" });
        await _host.RegisterAsync("local", new Uri("stdio:local"), transport: "stdio");
        await _host.RegisterAsync("localvault", new Uri("stdio:local"), transport: "stdio", authMode: "static");
        await _host.GrantAsync(Roles.SuperAdmin, _host.Servers["local"], "*");
        await _host.GrantAsync(Roles.SuperAdmin, _host.Servers["localvault"], "*");
        var (kim, lee) = (Guid.NewGuid(), Guid.NewGuid());
        using var kimConnected = await _host.ConnectTokenAsync("localvault", kim, "kims-token", role: Roles.SuperAdmin);
        using var leeConnected = await _host.ConnectTokenAsync("localvault", lee, "lees-token", role: Roles.SuperAdmin);
        await using var asKim = await McpHost.ConnectAsync(_host.Gateway, ConsoleTokens.Issue(Roles.SuperAdmin, kim));
        await using var asLee = await McpHost.ConnectAsync(_host.Gateway, ConsoleTokens.Issue(Roles.SuperAdmin, lee));

        var echoed = Text(await asKim.CallToolAsync("local__echo", new Dictionary<string, object?> { ["text"] = "hi" }));
        var anonymous = (Text(await asKim.CallToolAsync("local__whoami")), Text(await asLee.CallToolAsync("local__whoami")));
        var kims = Text(await asKim.CallToolAsync("localvault__whoami"));
        var lees = Text(await asLee.CallToolAsync("localvault__whoami"));

        Assert.That(unconfigured.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "only configured commands run");
        Assert.That((kimConnected.StatusCode, leeConnected.StatusCode), Is.EqualTo((HttpStatusCode.Created, HttpStatusCode.Created)));
        Assert.That(echoed, Is.EqualTo("stdio: hi"));
        Assert.That(anonymous.Item1, Does.StartWith("stdio: anonymous in "));
        Assert.That(anonymous.Item2, Is.EqualTo(anonymous.Item1), "one process for everyone without an account");
        Assert.That(kims, Does.StartWith("stdio: kims-token in "));
        Assert.That(lees, Does.StartWith("stdio: lees-token in "));
        Assert.That(Pid(kims), Is.Not.EqualTo(Pid(lees)).And.Not.EqualTo(Pid(anonymous.Item1)), "a process per account");

        // Unused for longer than UpstreamIdleTimeout: the child process is stopped (on both replicas), and started again on demand.
        var exited = false;
        for (var deadline = DateTime.UtcNow.AddSeconds(20); !exited && DateTime.UtcNow < deadline; await Task.Delay(250))
        {
            exited = !Running(Pid(kims));
        }
        Assert.That(exited, Is.True, "the idle child process was stopped");
        Assert.That(Text(await asKim.CallToolAsync("localvault__echo", new Dictionary<string, object?> { ["text"] = "again" })), Is.EqualTo("stdio: again"));

        // Removed again, so the rest of the fixture does not keep (probing) children.
        foreach (var name in new[] { "local", "localvault" })
        {
            using var deleted = await console.DeleteAsync($"/api/mcp/servers/{_host.Servers[name]}");
            Assert.That(deleted.IsSuccessStatusCode, Is.True, name);
        }
    }

    private static bool Running(string pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(int.Parse(pid, System.Globalization.CultureInfo.InvariantCulture));
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>Tools of the host's own servers (other tests here register more).</summary>
    private static bool Base(string tool) => tool.Split("__")[0] is "github" or "notes" or "vault";

    private static string Text(CallToolResult result) => ((TextContentBlock)result.Content.Single()).Text;

    private static string Pid(string whoami) => whoami[(whoami.LastIndexOf(' ') + 1)..];

    [Test]
    public async Task Resources_templates_and_prompts_are_namespaced_and_read_through()
    {
        await using var client = await McpHost.ConnectAsync(_host.Gateway, _host.Key);

        var resources = await client.ListResourcesAsync();
        var templates = await client.ListResourceTemplatesAsync();
        var prompts = await client.ListPromptsAsync();
        var readme = await client.ReadResourceAsync("notes+notes://readme");
        var item = await client.ReadResourceAsync("github+notes://items/7");
        var greeting = await client.GetPromptAsync("github__greet", new Dictionary<string, object?> { ["who"] = "ada" });

        Assert.That(resources.Select(r => r.Uri), Is.EquivalentTo(new[] { "github+notes://readme", "notes+notes://readme" }));
        Assert.That(templates.Select(t => t.UriTemplate), Is.EquivalentTo(new[] { "github+notes://items/{id}", "notes+notes://items/{id}" }));
        Assert.That(prompts.Select(p => p.Name), Is.EquivalentTo(new[] { "github__greet", "notes__greet" }));
        Assert.That(((TextResourceContents)readme.Contents.Single()).Text, Is.EqualTo("readme of notes"));
        Assert.That(readme.Contents.Single().Uri, Is.EqualTo("notes+notes://readme"));
        Assert.That(((TextResourceContents)item.Contents.Single()).Text, Is.EqualTo("item 7 of github"));
        Assert.That(((TextContentBlock)greeting.Messages.Single().Content).Text, Is.EqualTo("github greets ada"));
        await Assert.ThrowsAsync<McpProtocolException>(async () => await client.ReadResourceAsync("nosuch+notes://readme"));
    }

    [TestCase("2025-11-25")]
    [TestCase("2025-06-18")]
    [TestCase("2025-03-26")]
    public async Task Clients_of_each_supported_protocol_version_get_that_version_and_a_session(string version)
    {
        using var http = new HttpClient { BaseAddress = _host.Gateway };
        using var response = await http.SendAsync(Initialize(version));
        var body = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        Assert.That(response.Headers.GetValues("Mcp-Session-Id").Single(), Is.Not.Empty);
        Assert.That(JsonRpcResult(body).GetProperty("protocolVersion").GetString(), Is.EqualTo(version));

        await using var client = await McpHost.ConnectAsync(_host.Gateway, _host.Key, version);
        Assert.That(client.NegotiatedProtocolVersion, Is.EqualTo(version));
        Assert.That((await client.ListToolsAsync()).Select(t => t.Name).Count(Base), Is.EqualTo(9));
    }

    [Test]
    public async Task An_unsupported_protocol_version_header_is_refused_with_400()
    {
        var session = await OpenSessionAsync(_host.Gateway);
        using var http = new HttpClient { BaseAddress = _host.Gateway };
        using var request = Request("""{"jsonrpc":"2.0","id":2,"method":"tools/list"}""", session, protocolVersion: "1999-01-01");

        using var response = await http.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [Test]
    public async Task A_session_opened_on_one_replica_continues_on_another_and_ends_everywhere_on_delete()
    {
        var session = await OpenSessionAsync(_host.ReplicaA);
        using var http = new HttpClient();
        using var initialized = Request("""{"jsonrpc":"2.0","method":"notifications/initialized"}""", session, _host.ReplicaA);
        Assert.That((int)(await http.SendAsync(initialized)).StatusCode, Is.EqualTo(202));

        using var onB = await http.SendAsync(Request("""{"jsonrpc":"2.0","id":2,"method":"tools/list"}""", session, _host.ReplicaB));
        var listed = await onB.Content.ReadAsStringAsync();
        using var ping = await http.SendAsync(Request("""{"jsonrpc":"2.0","id":3,"method":"ping"}""", session, _host.ReplicaB));
        using var delete = new HttpRequestMessage(HttpMethod.Delete, new Uri(_host.ReplicaB, "mcp"));
        delete.Headers.Authorization = new("Bearer", _host.Key);
        delete.Headers.Add("Mcp-Session-Id", session);
        using var deleted = await http.SendAsync(delete);
        using var afterOnA = await http.SendAsync(Request("""{"jsonrpc":"2.0","id":4,"method":"tools/list"}""", session, _host.ReplicaA));
        using var afterOnB = await http.SendAsync(Request("""{"jsonrpc":"2.0","id":5,"method":"tools/list"}""", session, _host.ReplicaB));

        Assert.That(onB.StatusCode, Is.EqualTo(HttpStatusCode.OK), listed);
        Assert.That(JsonRpcResult(listed).GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()!).Count(Base), Is.EqualTo(9));
        Assert.That(ping.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(deleted.IsSuccessStatusCode, Is.True);
        Assert.That((afterOnA.StatusCode, afterOnB.StatusCode), Is.EqualTo((HttpStatusCode.NotFound, HttpStatusCode.NotFound)));
    }

    [Test]
    public async Task An_unknown_session_is_404_and_another_users_session_is_not_theirs()
    {
        var session = await OpenSessionAsync(_host.ReplicaA);
        using var http = new HttpClient();
        using var unknown = await http.SendAsync(Request("""{"jsonrpc":"2.0","id":2,"method":"tools/list"}""", "no-such-session", _host.ReplicaA));
        var stranger = Request("""{"jsonrpc":"2.0","id":2,"method":"tools/list"}""", session, _host.ReplicaB);
        stranger.Headers.Authorization = new("Bearer", ConsoleTokens.Issue(Roles.Developer));
        using var stolen = await http.SendAsync(stranger);

        Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((int)stolen.StatusCode, Is.AnyOf(403, 404), "a session belongs to the user who opened it");
    }

    [Test]
    public async Task Callers_without_a_valid_mcp_credential_or_from_a_foreign_origin_are_refused()
    {
        var (aiOnly, _, _) = await _host.CreateKeyAsync(["ai_gateway"]);
        using var http = new HttpClient { BaseAddress = _host.Gateway };

        using var none = await http.SendAsync(Initialize("2025-11-25", bearer: null));
        using var unknown = await http.SendAsync(Initialize("2025-11-25", bearer: "tw-" + new string('x', 44)));
        using var wrongSurface = await http.SendAsync(Initialize("2025-11-25", bearer: aiOnly));
        var foreign = Initialize("2025-11-25");
        foreign.Headers.Add("Origin", "https://evil.example");
        using var fromEvil = await http.SendAsync(foreign);
        var console = Initialize("2025-11-25");
        console.Headers.Add("Origin", "https://console.example.com");
        console.Headers.Authorization = new("Bearer", ConsoleTokens.Issue(Roles.Developer));
        using var fromConsole = await http.SendAsync(console);

        Assert.That(none.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(none.Headers.WwwAuthenticate.ToString(), Does.StartWith("Bearer"));
        Assert.That(await none.Content.ReadAsStringAsync(), Does.Contain("\"code\":-32001"));
        Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(wrongSurface.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(fromEvil.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(fromConsole.StatusCode, Is.EqualTo(HttpStatusCode.OK), "a console session token from an allowed origin");
    }

    private HttpRequestMessage Initialize(string version, string? bearer = "") =>
        Request("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"VERSION","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}""".Replace("VERSION", version),
            session: null, bearer: bearer == "" ? _host.Key : bearer);

    private HttpRequestMessage Request(string json, string? session, Uri? replica = null, string? protocolVersion = null, string? bearer = "")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(replica ?? _host.Gateway, "mcp")) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Accept.ParseAdd("text/event-stream");
        if ((bearer == "" ? _host.Key : bearer) is { } token)
        {
            request.Headers.Authorization = new("Bearer", token);
        }
        if (session is not null)
        {
            request.Headers.Add("Mcp-Session-Id", session);
            request.Headers.Add("MCP-Protocol-Version", protocolVersion ?? "2025-11-25");
        }
        return request;
    }

    private async Task<string> OpenSessionAsync(Uri replica)
    {
        using var http = new HttpClient();
        var request = Initialize("2025-11-25");
        request.RequestUri = new Uri(replica, "mcp");
        using var response = await http.SendAsync(request);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        return response.Headers.GetValues("Mcp-Session-Id").Single();
    }

    /// <summary>The result of a JSON-RPC answer sent as JSON or as one SSE event.</summary>
    private static JsonElement JsonRpcResult(string body)
    {
        var json = body.TrimStart().StartsWith('{') ? body : string.Join("", body.Split('\n').Where(l => l.StartsWith("data:", StringComparison.Ordinal)).Select(l => l[5..]));
        return JsonDocument.Parse(json).RootElement.GetProperty("result");
    }
}
