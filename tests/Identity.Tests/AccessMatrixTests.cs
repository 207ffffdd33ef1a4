using System.Net;
using System.Net.Http.Json;

namespace ThinkWatch.Identity.Tests;

/// <summary>Each role against each management endpoint: the permission matrix, as the API enforces it.</summary>
[TestFixture]
public sealed class AccessMatrixTests
{
    private IdentityHost _host = null!;
    private readonly Dictionary<string, HttpClient> _as = [];
    private Guid _rootId;

    [OneTimeSetUp]
    public async Task Start()
    {
        _host = await IdentityHost.StartAsync();
        _as["super_admin"] = await _host.SetUpAsync();
        _rootId = await _host.QueryAsync<Guid>("SELECT id FROM users WHERE role = 'super_admin'");
        foreach (var role in new[] { "admin", "team_manager", "developer", "viewer" })
        {
            _as[role] = (await _host.CreateUserAsync(role)).Client;
        }
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        foreach (var client in _as.Values)
        {
            client.Dispose();
        }
        await _host.DisposeAsync();
    }

    // Expected status for super_admin, admin, team_manager, developer, viewer.
    private static readonly (string Method, string Path, Func<object>? Body, int[] Expected)[] Matrix =
    [
        ("GET", "/api/me", null, [200, 200, 200, 200, 200]),
        ("GET", "/api/users", null, [200, 200, 200, 403, 403]),
        ("POST", "/api/users", () => NewUser("viewer"), [201, 201, 403, 403, 403]),
        ("POST", "/api/users", () => NewUser("admin"), [201, 400, 403, 403, 403]),
        ("GET", "/api/teams", null, [200, 200, 200, 403, 403]),
        ("POST", "/api/teams", () => new { name = "team-" + Guid.NewGuid().ToString("N")[..8] }, [201, 201, 403, 403, 403]),
        ("GET", "/api/keys", null, [200, 200, 200, 200, 403]),
        ("POST", "/api/keys", () => new { name = "k", surfaces = new[] { "ai_gateway" } }, [201, 201, 201, 201, 403]),
        ("GET", "/api/providers", null, [200, 200, 403, 403, 403]),
        ("POST", "/api/providers", () => new { name = "p-" + Guid.NewGuid().ToString("N")[..8], kind = "openai", credentials = new { apiKey = "sk-matrix-0123456789" } }, [201, 201, 403, 403, 403]),
        ("PATCH", "/api/users/{root}", () => new { displayName = "Root" }, [200, 403, 403, 403, 403]),
    ];

    private static readonly string[] RoleOrder = ["super_admin", "admin", "team_manager", "developer", "viewer"];

    private static object NewUser(string role) => new { email = $"{Guid.NewGuid():N}@example.com", displayName = "New", role, password = "New-user-pass-1" };

    private static IEnumerable<TestCaseData> Cases() =>
        from row in Matrix
        from i in Enumerable.Range(0, RoleOrder.Length)
        select new TestCaseData(RoleOrder[i], row.Method, row.Path, row.Body, row.Expected[i])
            .SetName($"{RoleOrder[i]} {row.Method} {row.Path} -> {row.Expected[i]}{(row.Body is null ? "" : " #" + Array.IndexOf(Matrix, row))}");

    [TestCaseSource(nameof(Cases))]
    public async Task Role_gets_the_expected_answer(string role, string method, string path, Func<object>? body, int expected)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path.Replace("{root}", _rootId.ToString()))
        {
            Content = body is null ? null : JsonContent.Create(body()),
        };
        using var response = await _as[role].SendAsync(request);

        Assert.That((int)response.StatusCode, Is.EqualTo(expected), await response.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task Anonymous_callers_get_401_everywhere_but_setup_and_sign_in()
    {
        using var anonymous = _host.ClientFrom("10.9.9.9");
        foreach (var path in new[] { "/api/me", "/api/users", "/api/teams", "/api/keys" })
        {
            using var response = await anonymous.GetAsync(path);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), path);
        }
    }
}
