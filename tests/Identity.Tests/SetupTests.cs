using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace ThinkWatch.Identity.Tests;

[TestFixture]
public sealed class SetupTests
{
    private IdentityHost _host = null!;

    [SetUp]
    public async Task Start() => _host = await IdentityHost.StartAsync();

    [TearDown]
    public async Task Stop() => await _host.DisposeAsync();

    private static object ValidSetup(object? apiKey = null) => new
    {
        email = "ada@example.com",
        displayName = "Ada Lovelace",
        password = "Analytical-Engine-1843",
        apiKey,
    };

    private Task<HttpResponseMessage> PostSetup(object body) => _host.Http.PostAsJsonAsync("/api/setup", body);

    private async Task<int> UserCount() => await _host.QueryAsync<int>("SELECT count(*)::int FROM users");

    [Test]
    public async Task Before_setup_only_setup_and_health_answer_and_afterwards_setup_is_closed()
    {
        var before = await _host.Http.GetFromJsonAsync<JsonElement>("/api/setup");
        using var gated = await _host.Http.GetAsync("/api/users");
        using var health = await _host.Http.GetAsync("/health/ready");

        using var first = await PostSetup(ValidSetup());
        using var second = await PostSetup(ValidSetup());
        var after = await _host.Http.GetFromJsonAsync<JsonElement>("/api/setup");
        using var ungated = await _host.Http.GetAsync("/api/users");

        Assert.That(before.GetProperty("required").GetBoolean(), Is.True);
        Assert.That(gated.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(await gated.Content.ReadAsStringAsync(), Does.Contain("setup_required").And.Contain("POST /api/setup"));
        Assert.That(health.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
        Assert.That(after.GetProperty("required").GetBoolean(), Is.False);
        Assert.That(ungated.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "past the gate once set up: now it wants a session");
        Assert.That(await _host.QueryAsync<string>("SELECT role FROM users"), Is.EqualTo("super_admin"));
    }

    [Test]
    public async Task Concurrent_setups_create_exactly_one_super_admin()
    {
        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => PostSetup(new
        {
            email = $"admin{i}@example.com", displayName = $"Admin {i}", password = "Sup3r-secret-pass",
        })));

        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.Created), Is.EqualTo(1));
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.Conflict), Is.EqualTo(5));
        Assert.That(await UserCount(), Is.EqualTo(1));
        foreach (var r in responses)
        {
            r.Dispose();
        }
    }

    [Test]
    public async Task The_first_key_is_shown_once_and_only_its_hash_is_stored()
    {
        using var response = await PostSetup(ValidSetup(new { name = "laptop", surfaces = new[] { "ai_gateway" }, allowedModels = new[] { "gpt-4o*", "claude-*" } }));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var key = body.GetProperty("apiKey").GetProperty("key").GetString()!;

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(key, Does.Match("^tw-[0-9A-Za-z]{44}$"));
        Assert.That(body.GetProperty("apiKey").GetProperty("keyHint").GetString(), Is.EqualTo(key[..9] + "…"));
        var storedHash = await _host.QueryAsync<byte[]>("SELECT key_hash FROM api_keys");
        Assert.That(storedHash, Is.EqualTo(SHA256.HashData(Encoding.UTF8.GetBytes(key))));
        var everything = await _host.QueryAsync<string>(
            "SELECT string_agg(t::text, ' ') FROM (SELECT row_to_json(k)::text AS t FROM api_keys k UNION ALL SELECT row_to_json(u)::text FROM users u) x");
        Assert.That(everything, Does.Not.Contain(key[3..]), "the plaintext key is nowhere in the database");
        Assert.That(everything, Does.Not.Contain("Analytical-Engine-1843"), "nor the password");
        Assert.That(everything, Does.Contain("$argon2id$v=19$"));
    }

    [Test]
    public async Task The_first_key_takes_every_field_a_key_created_later_takes()
    {
        using var response = await PostSetup(ValidSetup(new
        {
            name = "agent", surfaces = new[] { "ai_gateway", "mcp_gateway" }, allowedModels = new[] { "claude-*" },
            allowedMcpTools = new[] { "github__*", "jira__get_issue" }, mcpAccountLabel = "work", inactivityTimeoutDays = 30,
        }));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var key = body.GetProperty("apiKey");
        var validated = await _host.Keys.ValidateAsync(new ThinkWatch.Contracts.Identity.V1.ValidateKeyRequest
        {
            KeyHash = Google.Protobuf.ByteString.CopyFrom(SHA256.HashData(Encoding.UTF8.GetBytes(key.GetProperty("key").GetString()!))),
            Surface = ThinkWatch.Contracts.Common.V1.Surface.McpGateway,
        });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        Assert.That(key.GetProperty("allowedMcpTools").EnumerateArray().Select(t => t.GetString()), Is.EqualTo(new[] { "github__*", "jira__get_issue" }));
        Assert.That(key.GetProperty("mcpAccountLabel").GetString(), Is.EqualTo("work"));
        Assert.That(key.GetProperty("inactivityTimeoutDays").GetInt32(), Is.EqualTo(30));
        Assert.That(validated.Principal.AllowedMcpTools, Is.EqualTo(new[] { "github__*", "jira__get_issue" }), "the MCP gateway lets the key call these tools");
        Assert.That(validated.Principal.McpAccountLabel, Is.EqualTo("work"));
        Assert.That(await _host.QueryAsync<int>("SELECT extract(day FROM inactivity_timeout)::int FROM api_keys"), Is.EqualTo(30));
    }

    [Test]
    public async Task Setup_can_register_the_first_provider_in_the_same_step()
    {
        using var response = await PostSetup(new
        {
            email = "ada@example.com", displayName = "Ada", password = "Analytical-Engine-1843",
            provider = new { name = "OpenAI", kind = "openai", credentials = new { apiKey = "sk-setup-0123456789abcd" } },
        });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var vault = await new ThinkWatch.Contracts.Identity.V1.ProviderVault.ProviderVaultClient(_host.Channel)
            .ListProvidersAsync(new ThinkWatch.Contracts.Identity.V1.ListProvidersRequest());

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(body.GetProperty("providerId").GetString(), Is.EqualTo(vault.Providers.Single().Id));
        Assert.That(vault.Providers.Single().Credentials.ApiKey, Is.EqualTo("sk-setup-0123456789abcd"));
        Assert.That(body.ToString(), Does.Not.Contain("sk-setup"));
    }

    [Test]
    public async Task Hostile_text_is_stored_verbatim_not_executed()
    {
        const string name = "Robert'); DROP TABLE users;--";
        using var response = await PostSetup(new { email = "bobby@example.com", displayName = name, password = "Tables-R-us-2007" });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(await _host.QueryAsync<string>("SELECT display_name FROM users"), Is.EqualTo(name));
    }

    private static IEnumerable<TestCaseData> BadRequests()
    {
        yield return new TestCaseData("{}", new[] { "email", "displayName", "password" }).SetName("Missing fields are each named");
        yield return new TestCaseData("""{"email":"x'; DROP TABLE users;--","displayName":"A","password":"Abcdefg1"}""", new[] { "email" }).SetName("SQL-looking email is not an email");
        yield return new TestCaseData("""{"email":"a@example.com","displayName":"A","password":"short1A"}""", new[] { "password" }).SetName("Short password");
        yield return new TestCaseData("""{"email":"a@example.com","displayName":"A","password":"alllowercase1"}""", new[] { "password" }).SetName("Password without upper case");
        yield return new TestCaseData("""{"email":"a@example.com","displayName":"A","password":"Abcdefg1","apiKey":{"name":"k","surfaces":["everything"]}}""", new[] { "apiKey.surfaces" }).SetName("Unknown surface");
        yield return new TestCaseData("""{"email":"a@example.com","displayName":"A","password":"Abcdefg1","apiKey":{"name":"k","surfaces":["ai_gateway"],"allowedModels":["gpt-4o; DROP"]}}""", new[] { "apiKey.allowedModels" }).SetName("Bad model pattern");
        yield return new TestCaseData("""{"email":"a@example.com","displayName":"A","password":"Abcdefg1","apiKey":{"name":"k","surfaces":["ai_gateway"],"expiresAt":"2020-01-01T00:00:00Z"}}""", new[] { "apiKey.expiresAt" }).SetName("Expiry in the past");
        yield return new TestCaseData("""{"email":"a@example.com","displayName":"A","password":"Abcdefg1","provider":{"name":"p","kind":"skynet"}}""", new[] { "provider.kind" }).SetName("Unknown provider kind");
        yield return new TestCaseData("""{"email":"a@example.com","displayName":"A","password":"Abcdefg1","apiKey":{"name":"k","surfaces":["mcp_gateway"],"allowedMcpTools":["github; rm"],"mcpAccountLabel":"Work!","inactivityTimeoutDays":0}}""",
            new[] { "apiKey.allowedMcpTools", "apiKey.mcpAccountLabel", "apiKey.inactivityTimeoutDays" }).SetName("Key fields checked as on POST /api/keys");
        yield return new TestCaseData("""{"email":"a@example.com","displayName":"A","password":"Abcdefg1","apiKey":{"name":"k","surfaces":["ai_gateway"],"ownerUserId":"0190a5b4-0000-7000-8000-000000000001","teamId":"0190a5b4-0000-7000-8000-000000000002"}}""",
            new[] { "apiKey.ownerUserId", "apiKey.teamId" }).SetName("The first key has no other owner and no team");
    }

    [TestCaseSource(nameof(BadRequests))]
    public async Task Bad_input_is_refused_field_by_field_and_nothing_is_written(string json, string[] fields)
    {
        using var response = await _host.Http.PostAsync("/api/setup", new StringContent(json, Encoding.UTF8, "application/json"));
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(problem.GetProperty("errors").EnumerateObject().Select(p => p.Name), Is.EquivalentTo(fields));
        Assert.That(await UserCount(), Is.Zero);
        Assert.That((await _host.Http.GetFromJsonAsync<JsonElement>("/api/setup")).GetProperty("required").GetBoolean(), Is.True);
    }

    [Test]
    public async Task A_field_the_setup_contract_lacks_is_refused_by_name_and_nothing_is_written()
    {
        using var response = await PostSetup(ValidSetup(new { name = "agent", surfaces = new[] { "mcp_gateway" }, allowedMcpToolz = new[] { "github__*" } }));
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        Assert.That(problem.GetProperty("errors").ToString(), Is.EqualTo("""{"apiKey.allowedMcpToolz":["unknown field"]}"""));
        Assert.That(await UserCount(), Is.Zero);
    }

    [TestCase("{\"email\": ")]
    [TestCase("[1,2,3]")]
    [TestCase("{\"email\": 42, \"displayName\": \"A\", \"password\": \"Abcdefg1\"}")]
    public async Task Malformed_json_is_a_400_problem(string json)
    {
        using var response = await _host.Http.PostAsync("/api/setup", new StringContent(json, Encoding.UTF8, "application/json"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        Assert.That(await UserCount(), Is.Zero);
    }
}
