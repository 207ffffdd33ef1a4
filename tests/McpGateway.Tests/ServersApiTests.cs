using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
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
