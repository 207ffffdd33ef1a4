using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using ThinkWatch.Security;
using ThinkWatch.Testing;

namespace ThinkWatch.McpGateway.Tests;

/// <summary>/api/mcp/servers on a running MCP gateway: validation, permissions, and deletion taking a server's tools out of /mcp.</summary>
[TestFixture]
public sealed class ServersApiTests
{
    private McpHost _host = null!;

    [OneTimeSetUp]
    public async Task Start() => _host = await McpHost.StartAsync(new Dictionary<string, string?> { ["McpGateway:UpstreamHealthProbeInterval"] = "00:00:05" });

    [OneTimeTearDown]
    public async Task Stop() => await _host.DisposeAsync();

    [TestCase("GitHub", "http://127.0.0.1:1/mcp", "name")]
    [TestCase("two__parts", "http://127.0.0.1:1/mcp", "name")]
    [TestCase("ok-name", "ftp://example.com/mcp", "url")]
    [TestCase("ok-name", "https://user:secret@example.com/mcp", "url")]
    [TestCase("ok-name", "not a url", "url")]
    public async Task Bad_input_is_refused_with_the_field_named(string name, string url, string field)
    {
        using var console = _host.Console();
        using var response = await console.PostAsJsonAsync("/api/mcp/servers", new { name, url });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(body.GetProperty("errors").TryGetProperty(field, out _), Is.True, body.ToString());
    }

    // Private networks are allowed on this host (McpHost), which must not open the way to metadata and credential endpoints.
    [TestCase("http://169.254.169.254/latest/meta-data/", "metadata")]
    [TestCase("http://0xa9fea9fe/latest/meta-data/", "metadata")]
    [TestCase("http://2852039166/latest/meta-data/", "metadata")]
    [TestCase("http://0251.0376.0251.0376/", "metadata")]
    [TestCase("http://[::ffff:169.254.169.254]/", "metadata")]
    [TestCase("http://[::ffff:a9fe:a9fe]/", "metadata")]
    [TestCase("http://[::a9fe:a9fe]/", "metadata")]
    [TestCase("http://[64:ff9b::a9fe:a9fe]/", "metadata")]
    [TestCase("http://169.254.170.2/v2/credentials", "container credentials")]
    [TestCase("http://[fd00:ec2::254]/latest/meta-data/", "metadata")]
    [TestCase("http://100.100.100.200/latest/meta-data/", "Alibaba")]
    [TestCase("http://192.0.0.192/opc/v2/instance/", "Oracle")]
    [TestCase("http://169.254.1.1/mcp", "link-local")]
    [TestCase("http://[fe80::1]/mcp", "link-local")]
    public async Task Metadata_and_link_local_destinations_are_refused_whatever_the_private_network_setting(string url, string why)
    {
        using var console = _host.Console();

        using var registered = await console.PostAsJsonAsync("/api/mcp/servers", new { name = "meta", url });
        var body = await registered.Content.ReadFromJsonAsync<JsonElement>();
        using var installed = await console.PostAsJsonAsync("/api/mcp/templates/gitlab/install", new { name = "meta-gitlab", url });
        var installBody = await installed.Content.ReadFromJsonAsync<JsonElement>();
        using var userinfo = await console.PostAsJsonAsync("/api/mcp/servers",
            new { name = "meta-userinfo", url = _host.Notes.Url, authMode = "static", userinfoEndpoint = url });
        var userinfoBody = await userinfo.Content.ReadFromJsonAsync<JsonElement>();
        var listed = await console.GetFromJsonAsync<JsonElement>("/api/mcp/servers");

        Assert.That(registered.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body.ToString());
        Assert.That(body.GetProperty("errors").GetProperty("url")[0].GetString(), Does.Contain(why), "the refusal says why");
        Assert.That(installed.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), installBody.ToString());
        Assert.That(installBody.GetProperty("errors").GetProperty("url")[0].GetString(), Does.Contain(why));
        Assert.That(userinfo.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), userinfoBody.ToString());
        Assert.That(userinfoBody.GetProperty("errors").TryGetProperty("userinfoEndpoint", out _), Is.True, userinfoBody.ToString());
        Assert.That(listed.EnumerateArray().Select(s => s.GetProperty("name").GetString()), Has.None.StartsWith("meta"));
    }

    [TestCase("http://127.0.0.1:1/mcp\r\nX-Injected: 1")]
    [TestCase("http://127.0.0.1:1/mcp%0d%0aX-Injected:%201")]
    [TestCase("http://127.0.0.1:1/mcp%0AX")]
    [TestCase("http://127.0.0.1:1/mcp%00")]
    [TestCase("http://127.0.0.1:1/m\tcp")]
    public async Task Urls_with_control_characters_raw_or_percent_encoded_are_refused(string escaped)
    {
        var url = escaped.Replace("\\r", "\r", StringComparison.Ordinal).Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\t", "\t", StringComparison.Ordinal);
        using var console = _host.Console();

        using var response = await console.PostAsJsonAsync("/api/mcp/servers", new { name = "crlf", url });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body.ToString());
        Assert.That(body.GetProperty("errors").GetProperty("url")[0].GetString(), Does.Contain("control characters"));
    }

    [Test]
    public async Task A_metadata_address_stored_before_these_checks_is_never_connected_to_by_the_health_prober()
    {
        // As if registered by an older version: the connect-time guard, not the API, is what stands in the way.
        var id = Guid.NewGuid();
        await using (var db = new NpgsqlConnection(_host.Database))
        {
            await db.OpenAsync();
            await using var insert = new NpgsqlCommand(
                "INSERT INTO mcp.servers (id, name, display_name, url, transport, auth_mode) VALUES (@id, 'legacy-meta', 'legacy', 'http://[::ffff:a9fe:a9fe]/', 'streamable_http', 'none')",
                db);
            insert.Parameters.AddWithValue("id", id);
            await insert.ExecuteNonQueryAsync();
        }
        using var console = _host.Console();

        async Task<JsonElement?> ServerAsync() => (await console.GetFromJsonAsync<JsonElement>("/api/mcp/servers")).EnumerateArray()
            .Cast<JsonElement?>().SingleOrDefault(s => s!.Value.GetProperty("id").GetGuid() == id);

        Assert.That(await WaitForAsync(async () => (await ServerAsync())?.GetProperty("status").GetString() == "down"), Is.True);
        Assert.That((await ServerAsync())!.Value.GetProperty("statusDetail").GetString(), Does.Contain("metadata"),
            "refused before connecting, not a timeout of a connection attempt");
    }

    [Test]
    public async Task A_field_the_contract_lacks_is_refused_by_name_and_nothing_is_registered()
    {
        using var console = _host.Console();
        using var response = await console.PostAsJsonAsync("/api/mcp/servers", new { name = "strict", url = "http://127.0.0.1:1/mcp", transprot = "streamable_http" });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(body.GetProperty("errors").ToString(), Is.EqualTo("""{"transprot":["unknown field"]}"""));
        Assert.That((await console.GetFromJsonAsync<JsonElement>("/api/mcp/servers")).EnumerateArray().Select(s => s.GetProperty("name").GetString()), Does.Not.Contain("strict"));
    }

    [Test]
    public async Task A_second_server_with_a_taken_name_is_refused_and_developers_may_read_but_not_register()
    {
        using var admin = _host.Console();
        using var developer = _host.Console(Roles.Developer);

        using var duplicate = await admin.PostAsJsonAsync("/api/mcp/servers", new { name = "github", url = "http://127.0.0.1:1/mcp" });
        using var byDeveloper = await developer.PostAsJsonAsync("/api/mcp/servers", new { name = "mine", url = "http://127.0.0.1:1/mcp" });
        var listed = await developer.GetFromJsonAsync<JsonElement>("/api/mcp/servers");

        Assert.That(duplicate.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(byDeveloper.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(listed.EnumerateArray().Select(s => s.GetProperty("name").GetString()), Is.SupersetOf(new[] { "github", "notes" }));
    }

    [Test]
    public async Task A_deleted_server_disappears_from_the_catalog()
    {
        await using var extra = await FakeMcpServer.StartAsync("extra");
        var registered = await _host.RegisterAsync("extra", extra.Url);
        await _host.GrantAsync(Roles.SuperAdmin, _host.Servers["extra"], "*");
        await using var client = await McpHost.ConnectAsync(_host.Gateway, _host.Key);
        await WaitForAsync(async () => (await client.ListToolsAsync()).Any(t => t.Name == "extra__echo"));

        using var admin = _host.Console();
        using var deleted = await admin.DeleteAsync($"/api/mcp/servers/{registered.GetProperty("id").GetString()}");

        Assert.That(deleted.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await WaitForAsync(async () => !(await client.ListToolsAsync()).Any(t => t.Name.StartsWith("extra__", StringComparison.Ordinal))), Is.True);
    }

    [Test]
    public async Task Health_probes_tell_up_from_down_from_needing_each_users_account()
    {
        await _host.RegisterAsync("gone", new Uri($"http://127.0.0.1:{LoopbackPorts.Closed()}/mcp"));
        using var console = _host.Console(Roles.Developer);

        async Task<Dictionary<string, string>> StatusesAsync() =>
            (await console.GetFromJsonAsync<JsonElement>("/api/mcp/servers")).EnumerateArray()
                .ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("status").GetString()!);

        Assert.That(await WaitForAsync(async () => (await StatusesAsync()).GetValueOrDefault("gone") == "down"), Is.True, "a closed port");
        var statuses = await StatusesAsync();
        Assert.That(statuses["github"], Is.EqualTo("up"));
        Assert.That(statuses["vault"], Is.EqualTo("auth_required"), "401 to an anonymous probe is not down");
        var gone = (await console.GetFromJsonAsync<JsonElement>("/api/mcp/servers")).EnumerateArray().Single(s => s.GetProperty("name").GetString() == "gone");
        Assert.That(gone.GetProperty("statusDetail").GetString(), Is.Not.Empty);
        Assert.That(gone.GetProperty("checkedAt").ValueKind, Is.EqualTo(JsonValueKind.String));
    }

    [Test]
    public async Task Curated_templates_are_listed_and_installed_in_one_call()
    {
        using var admin = _host.Console();
        using var developer = _host.Console(Roles.Developer);

        var templates = (await developer.GetFromJsonAsync<JsonElement>("/api/mcp/templates")).EnumerateArray().ToList();
        using var sentry = await admin.PostAsync("/api/mcp/templates/sentry/install", null);
        var installed = await sentry.Content.ReadFromJsonAsync<JsonElement>();
        using var gitlab = await admin.PostAsJsonAsync("/api/mcp/templates/gitlab/install", new { name = "gitlab-internal", url = "https://gitlab.example.com/api/v4/mcp" });
        var selfHosted = await gitlab.Content.ReadFromJsonAsync<JsonElement>();
        using var unknown = await admin.PostAsync("/api/mcp/templates/nosuch/install", null);
        using var byDeveloper = await developer.PostAsync("/api/mcp/templates/linear/install", null);

        Assert.That(templates.Select(t => t.GetProperty("id").GetString()),
            Is.SupersetOf(new[] { "github", "notion", "linear", "slack", "atlassian", "gitlab", "cloudflare-docs", "sentry" }));
        var github = templates.Single(t => t.GetProperty("id").GetString() == "github");
        Assert.That(github.GetProperty("authMode").GetString(), Is.EqualTo("oauth"));
        Assert.That(github.GetProperty("userinfoEndpoint").GetString(), Is.EqualTo("https://api.github.com/user"));
        Assert.That(sentry.StatusCode, Is.EqualTo(HttpStatusCode.Created), installed.ToString());
        Assert.That((installed.GetProperty("name").GetString(), installed.GetProperty("url").GetString(), installed.GetProperty("authMode").GetString(),
            installed.GetProperty("template").GetString()), Is.EqualTo(("sentry", "https://mcp.sentry.dev/mcp", "oauth", "sentry")));
        Assert.That(gitlab.StatusCode, Is.EqualTo(HttpStatusCode.Created), selfHosted.ToString());
        Assert.That((selfHosted.GetProperty("url").GetString(), selfHosted.GetProperty("scopes").GetString()),
            Is.EqualTo(("https://gitlab.example.com/api/v4/mcp", "mcp")));
        Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(byDeveloper.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    [Test]
    public async Task The_openapi_document_describes_the_mcp_management_api()
    {
        using var http = new HttpClient { BaseAddress = _host.ReplicaA };
        using var response = await http.GetAsync("/api/openapi/v1.json");
        var paths = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("paths");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(paths.EnumerateObject().Select(p => p.Name), Is.SupersetOf(new[]
        {
            "/api/mcp/servers", "/api/mcp/servers/{id}", "/api/mcp/templates", "/api/mcp/templates/{id}/install", "/api/mcp/grants", "/api/mcp/grants/{id}",
            "/api/mcp/connections", "/api/mcp/connections/{id}", "/api/mcp/connections/{id}/default", "/api/mcp/servers/{serverId}/connect",
            "/api/mcp/servers/{serverId}/connections", "/api/mcp/servers/{serverId}/oauth-client", "/api/mcp/oauth/callback",
        }));
        var install = paths.GetProperty("/api/mcp/servers").GetProperty("post");
        Assert.That(install.GetProperty("tags")[0].GetString(), Is.EqualTo("MCP servers"));
        Assert.That(install.TryGetProperty("requestBody", out _), Is.True, "request bodies are described");
    }

    private static async Task<bool> WaitForAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            await Task.Delay(200);
        }
        return true;
    }
}
