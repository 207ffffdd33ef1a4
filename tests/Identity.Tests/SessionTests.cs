using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace ThinkWatch.Identity.Tests;

[TestFixture]
public sealed class SessionTests
{
    private const string Email = "ada@example.com";
    private const string Password = "Analytical-Engine-1843";
    private IdentityHost _host = null!;
    private HttpClient _office = null!;

    [SetUp]
    public async Task Start()
    {
        _host = await IdentityHost.StartAsync();
        using var setup = await _host.Http.PostAsJsonAsync("/api/setup", new { email = Email, displayName = "Ada", password = Password });
        Assert.That(setup.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        _office = _host.ClientFrom("10.0.0.5");
    }

    [TearDown]
    public async Task Stop()
    {
        _office.Dispose();
        await _host.DisposeAsync();
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> Post(HttpClient client, string path, object body)
    {
        var response = await client.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length > 0 ? JsonDocument.Parse(text).RootElement.Clone() : default, response);
    }

    private static Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> Login(HttpClient client, string email = Email, string password = Password) =>
        Post(client, "/api/auth/login", new { email, password });

    private static async Task<HttpStatusCode> Me(HttpClient client, string accessToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/me");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    [Test]
    public async Task Sign_in_gives_an_access_token_that_opens_the_console_until_it_expires()
    {
        var (status, body, _) = await Login(_office);
        var token = body.GetProperty("accessToken").GetString()!;

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/me");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var me = await _office.SendAsync(request);
        var meBody = await me.Content.ReadFromJsonAsync<JsonElement>();
        using var anonymous = await _office.GetAsync("/api/me");
        _host.Time.Advance(TimeSpan.FromMinutes(16));
        var afterExpiry = await Me(_office, token);

        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(body.GetProperty("expiresIn").GetInt32(), Is.EqualTo(900));
        Assert.That(me.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(meBody.GetProperty("user").GetProperty("role").GetString(), Is.EqualTo("super_admin"));
        Assert.That(meBody.GetProperty("permissions").EnumerateArray().Select(p => p.GetString()), Does.Contain("settings:manage"));
        Assert.That(anonymous.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(afterExpiry, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task A_wrong_password_and_an_unknown_account_look_the_same()
    {
        var wrong = await Login(_office, password: "Wrong-password-1");
        var unknown = await Login(_office, email: "nobody@example.com");

        Assert.That(wrong.Status, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(unknown.Status, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(wrong.Body.GetProperty("detail").GetString(), Is.EqualTo(unknown.Body.GetProperty("detail").GetString()));
    }

    [Test]
    public async Task Repeated_failures_lock_the_account_even_against_the_right_password_until_the_lockout_ends()
    {
        for (var i = 0; i < 5; i++)
        {
            Assert.That((await Login(_host.ClientFrom($"10.1.0.{i}"), password: "Wrong-password-1")).Status, Is.EqualTo(HttpStatusCode.Unauthorized));
        }

        var locked = await Login(_office);
        _host.Time.Advance(TimeSpan.FromMinutes(16));
        var unlocked = await Login(_office);

        Assert.That(locked.Status, Is.EqualTo(HttpStatusCode.TooManyRequests));
        Assert.That(locked.Response.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromMinutes(15)));
        Assert.That(unlocked.Status, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Unknown_accounts_lock_too_so_locking_reveals_nothing()
    {
        for (var i = 0; i < 5; i++)
        {
            await Login(_host.ClientFrom($"10.2.0.{i}"), email: "ghost@example.com");
        }

        Assert.That((await Login(_office, email: "ghost@example.com")).Status, Is.EqualTo(HttpStatusCode.TooManyRequests));
    }

    [Test]
    public async Task One_ip_failing_on_many_accounts_is_throttled_while_others_are_not()
    {
        var attacker = _host.ClientFrom("203.0.113.9");
        for (var i = 0; i < 20; i++)
        {
            await Login(attacker, email: $"guess{i}@example.com");
        }

        var fromAttacker = await Login(attacker);
        var fromOffice = await Login(_office);

        Assert.That(fromAttacker.Status, Is.EqualTo(HttpStatusCode.TooManyRequests));
        Assert.That(fromOffice.Status, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task A_refresh_token_works_once_from_the_same_ip_and_its_reuse_ends_the_session()
    {
        var login = await Login(_office);
        var first = login.Body.GetProperty("refreshToken").GetString()!;

        var refreshed = await Post(_office, "/api/auth/refresh", new { refreshToken = first });
        var second = refreshed.Body.GetProperty("refreshToken").GetString()!;
        var replay = await Post(_office, "/api/auth/refresh", new { refreshToken = first });
        var afterReplay = await Post(_office, "/api/auth/refresh", new { refreshToken = second });

        Assert.That(refreshed.Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(second, Is.Not.EqualTo(first));
        Assert.That(replay.Status, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(afterReplay.Status, Is.EqualTo(HttpStatusCode.Unauthorized), "a replay revokes the whole session");
        Assert.That(await Me(_office, refreshed.Body.GetProperty("accessToken").GetString()!), Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(await _host.QueryAsync<string>("SELECT revoke_reason FROM sessions"), Is.EqualTo("refresh token reused"));
    }

    [Test]
    public async Task A_refresh_token_replayed_from_another_ip_is_refused_and_ends_the_session()
    {
        var login = await Login(_office);
        var token = login.Body.GetProperty("refreshToken").GetString()!;

        var stolen = await Post(_host.ClientFrom("198.51.100.7"), "/api/auth/refresh", new { refreshToken = token });
        var owner = await Post(_office, "/api/auth/refresh", new { refreshToken = token });

        Assert.That(stolen.Status, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(owner.Status, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(await _host.QueryAsync<string>("SELECT revoke_reason FROM sessions"), Does.StartWith("refresh from another IP"));
    }

    [Test]
    public async Task Sign_out_ends_the_session_for_its_tokens()
    {
        var login = await Login(_office);
        var access = login.Body.GetProperty("accessToken").GetString()!;
        using var logout = new HttpRequestMessage(HttpMethod.Post, "/api/auth/logout");
        logout.Headers.Authorization = new AuthenticationHeaderValue("Bearer", access);

        using var loggedOut = await _office.SendAsync(logout);
        var refresh = await Post(_office, "/api/auth/refresh", new { refreshToken = login.Body.GetProperty("refreshToken").GetString() });

        Assert.That(loggedOut.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        Assert.That(refresh.Status, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(await Me(_office, access), Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task Tokens_signed_with_another_key_or_tampered_are_refused()
    {
        var access = (await Login(_office)).Body.GetProperty("accessToken").GetString()!;
        var parts = access.Split('.');
        var payload = JsonDocument.Parse(Base64UrlDecode(parts[1])).RootElement;
        var elevated = payload.GetRawText().Replace("\"super_admin\"", "\"viewer\"", StringComparison.Ordinal);
        var tampered = $"{parts[0]}.{Base64UrlEncode(elevated)}.{parts[2]}";

        Assert.That(await Me(_office, tampered), Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(await Me(_office, $"{parts[0]}.{parts[1]}."), Is.EqualTo(HttpStatusCode.Unauthorized), "unsigned");
    }

    private static string Base64UrlDecode(string s) =>
        System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(s.Replace('-', '+').Replace('_', '/').PadRight(s.Length + (4 - s.Length % 4) % 4, '=')));

    private static string Base64UrlEncode(string s) =>
        Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(s)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
