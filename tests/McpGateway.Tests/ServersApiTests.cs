using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ThinkWatch.Security;

namespace ThinkWatch.McpGateway.Tests;

/// <summary>/api/mcp/servers on a running MCP gateway: validation, permissions, and deletion taking a server's tools out of /mcp.</summary>
[TestFixture]
public sealed class ServersApiTests
{
    private McpHost _host = null!;

    [OneTimeSetUp]
    public async Task Start() => _host = await McpHost.StartAsync();

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
        await using var client = await McpHost.ConnectAsync(_host.Gateway, _host.Key);
        await WaitForAsync(async () => (await client.ListToolsAsync()).Any(t => t.Name == "extra__echo"));

        using var admin = _host.Console();
        using var deleted = await admin.DeleteAsync($"/api/mcp/servers/{registered.GetProperty("id").GetString()}");

        Assert.That(deleted.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await WaitForAsync(async () => !(await client.ListToolsAsync()).Any(t => t.Name.StartsWith("extra__", StringComparison.Ordinal))), Is.True);
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
