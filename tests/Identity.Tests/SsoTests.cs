using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ThinkWatch.Testing;

namespace ThinkWatch.Identity.Tests;

/// <summary>OIDC authorization code + PKCE against an in-process provider that signs real tokens.</summary>
[TestFixture]
public sealed class SsoTests
{
    private FakeOidcProvider _idp = null!;
    private IdentityHost _host = null!;
    private HttpClient _browser = null!;

    [SetUp]
    public async Task Start()
    {
        IdentityHost? host = null;
        _idp = await FakeOidcProvider.StartAsync(() => host!.Time.GetUtcNow());
        host = _host = await IdentityHost.StartAsync(new Dictionary<string, string?>
        {
            ["Identity:Sso:Providers:corp:Authority"] = _idp.Issuer.ToString(),
            ["Identity:Sso:Providers:corp:ClientId"] = FakeOidcProvider.ClientId,
            ["Identity:Sso:Providers:corp:ClientSecret"] = FakeOidcProvider.ClientSecret,
            ["Identity:Sso:Providers:corp:RedirectUri"] = "https://console.example.com/api/auth/sso/corp/callback",
            ["Identity:Sso:Providers:corp:DisplayName"] = "Corp SSO",
            ["Identity:Sso:Providers:corp:AllowHttp"] = "true",
            ["Identity:Sso:Providers:corp:AllowedEmailDomains:0"] = "corp.example",
        });
        (await _host.SetUpAsync()).Dispose();
        _browser = _host.ClientFrom("10.0.0.7");
    }

    [TearDown]
    public async Task Stop()
    {
        _browser.Dispose();
        await _host.DisposeAsync();
        await _idp.DisposeAsync();
    }

    /// <summary>What a browser does: start at the console, sign in at the provider, come back to the callback.</summary>
    private async Task<(string CallbackPathAndQuery, HttpResponseMessage Response)> SignIn(HttpClient? callbackClient = null)
    {
        using var start = await _browser.GetAsync("/api/auth/sso/corp/start");
        Assert.That(start.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        using var idp = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var authorize = await idp.GetAsync(start.Headers.Location);
        Assert.That(authorize.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await authorize.Content.ReadAsStringAsync());
        var callback = authorize.Headers.Location!.PathAndQuery;
        return (callback, await (callbackClient ?? _browser).GetAsync(callback));
    }

    [Test]
    public async Task A_first_sign_in_provisions_the_user_and_later_ones_find_them()
    {
        var providers = await _browser.GetFromJsonAsync<JsonElement>("/api/auth/sso");
        var (_, first) = await SignIn();
        var tokens = await first.Content.ReadFromJsonAsync<JsonElement>();
        var (_, second) = await SignIn();

        Assert.That(providers[0].GetProperty("displayName").GetString(), Is.EqualTo("Corp SSO"));
        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK), await first.Content.ReadAsStringAsync());
        Assert.That(tokens.GetProperty("user").GetProperty("email").GetString(), Is.EqualTo("ada@corp.example"));
        Assert.That(tokens.GetProperty("user").GetProperty("role").GetString(), Is.EqualTo("developer"), "the configured default role");
        Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await _host.QueryAsync<long>("SELECT count(*) FROM users WHERE email = 'ada@corp.example'"), Is.EqualTo(1));
        Assert.That(await _host.QueryAsync<string>("SELECT subject FROM user_identities"), Is.EqualTo("user-1"));
        Assert.That(await _host.QueryAsync<string?>("SELECT password_hash FROM users WHERE email = 'ada@corp.example'"), Is.Null);
        using var me = new HttpRequestMessage(HttpMethod.Get, "/api/me");
        me.Headers.Authorization = new("Bearer", tokens.GetProperty("accessToken").GetString());
        Assert.That((await _browser.SendAsync(me)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task A_callback_works_once_and_only_from_the_browser_that_started()
    {
        var (callback, first) = await SignIn();
        using var replay = await _browser.GetAsync(callback);
        var (_, elsewhere) = await SignIn(_host.ClientFrom("198.51.100.1"));

        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(replay.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(elsewhere.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task Tokens_signed_by_an_unknown_key_or_for_another_nonce_are_refused()
    {
        _idp.SignWithUnknownKey = true;
        var (_, forged) = await SignIn();
        _idp.SignWithUnknownKey = false;
        _idp.WrongNonce = true;
        var (_, replayed) = await SignIn();

        Assert.That(forged.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(replayed.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(_idp.TokenRequests, Is.EqualTo(2), "both got as far as the code exchange");
        Assert.That(await _host.QueryAsync<long>("SELECT count(*) FROM users"), Is.EqualTo(1), "only the setup admin");
    }

    [TestCase("mallory@elsewhere.example", true)]
    [TestCase("ada@corp.example", false)]
    public async Task Accounts_outside_the_allowed_domains_or_unverified_are_refused(string email, bool verified)
    {
        _idp.User = new() { ["sub"] = "user-2", ["email"] = email, ["email_verified"] = verified, ["name"] = "X" };

        var (_, response) = await SignIn();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(await _host.QueryAsync<long>("SELECT count(*) FROM users"), Is.EqualTo(1));
    }

    [Test]
    public async Task Unknown_providers_and_provider_errors_are_handled()
    {
        using var unknown = await _browser.GetAsync("/api/auth/sso/nope/start");
        using var denied = await _browser.GetAsync("/api/auth/sso/corp/callback?error=access_denied&state=x");

        Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(denied.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(await denied.Content.ReadAsStringAsync(), Does.Contain("access_denied"));
    }
}
