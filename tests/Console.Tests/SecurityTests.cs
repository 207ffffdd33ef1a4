using System.Net;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ThinkWatch.Console.Security;
using ThinkWatch.Console.Sessions;

namespace ThinkWatch.Console.Tests;

/// <summary>Browser sessions and the UI's headers: what a browser (or an attacker's page) can see and do.</summary>
[TestFixture]
[NonParallelizable]
public sealed class SecurityTests
{
    private ConsoleHost _console = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _console = await ConsoleHost.StartAsync();
        (await _console.Identity.SetUpAsync()).Dispose();
    }

    [OneTimeTearDown]
    public async Task Stop() => await _console.DisposeAsync();

    [Test]
    public async Task The_session_cookie_is_http_only_and_same_site_strict_and_no_token_reaches_the_page()
    {
        await using var browser = await Browser.StartAsync(_console.Address);
        var page = browser.Page;
        await page.GotoAsync("/signin");
        await page.FillAsync("#email", "root@example.com");
        await page.FillAsync("#password", "Root-password-1");
        await page.ClickAsync("#signin");
        await page.WaitForURLAsync("**/keys");
        await Microsoft.Playwright.Assertions.Expect(page.Locator("#keys, #no-keys")).ToBeVisibleAsync();

        var session = (await browser.Context.CookiesAsync()).Single(c => c.Name == BrowserCookieSetup.CookieName);
        Assert.That(session.HttpOnly, Is.True);
        Assert.That(session.SameSite, Is.EqualTo(Microsoft.Playwright.SameSiteAttribute.Strict));
        Assert.That(session.Secure, Is.False, "plain http here; over https it is Secure (SameAsRequest)");
        Assert.That(session.Expires, Is.EqualTo(-1), "a browser-session cookie, not written to disk");
        Assert.That(_console.Services.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>()
            .Get(CookieAuthenticationDefaults.AuthenticationScheme).Cookie.SecurePolicy, Is.EqualTo(Microsoft.AspNetCore.Http.CookieSecurePolicy.SameAsRequest));

        // Tokens stay on the server: not in the cookie, the page, scripts' reach or storage.
        Assert.That(session.Value, Does.Not.Contain("eyJ"), "no JWT in the cookie");
        Assert.That(await page.EvaluateAsync<string>("document.cookie"), Does.Not.Contain(BrowserCookieSetup.CookieName));
        Assert.That(await page.EvaluateAsync<int>("localStorage.length + sessionStorage.length"), Is.Zero);
        Assert.That(await page.ContentAsync(), Does.Not.Contain("eyJ"));
        foreach (var script in await page.EvaluateAsync<string[]>("[...document.scripts].map(s => s.src)"))
        {
            Assert.That(new Uri(script).Authority, Is.EqualTo(_console.Address.Authority), "every script from this origin");
            Assert.That(await page.EvaluateAsync<string>($"fetch('{script}').then(r => r.text())"), Does.Not.Contain("eyJ"));
        }
        Assert.That(browser.CspViolations, Is.Empty);
    }

    [TestCase("/signin")]
    [TestCase("/setup")]
    [TestCase("/keys")]
    [TestCase("/health/ready")]
    [TestCase("/no/such/page")]
    public async Task Every_page_of_the_console_origin_carries_its_policy(string path)
    {
        using var client = _console.Client();
        using var response = await client.GetAsync(path);

        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.That(csp, Is.EqualTo(ConsoleHeaders.UiPolicy));
        Assert.That(csp, Does.Contain("frame-ancestors 'none'").And.Contain("script-src 'self';").And.Not.Contain("unsafe-eval"));
        Assert.That(response.Headers.GetValues("X-Frame-Options").Single(), Is.EqualTo("DENY"));
        Assert.That(response.Headers.GetValues("X-Content-Type-Options").Single(), Is.EqualTo("nosniff"));
        Assert.That(response.Headers.GetValues("Referrer-Policy").Single(), Is.EqualTo("no-referrer"));
    }

    [Test]
    public async Task The_api_keeps_the_owning_services_deny_all_policy()
    {
        using var client = _console.Client();
        using var response = await client.GetAsync("/api/setup");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Headers.GetValues("Content-Security-Policy").Single(), Does.StartWith("default-src 'none'"));
    }

    [Test]
    public async Task A_cross_site_form_post_is_refused()
    {
        using var client = _console.Client();
        // What another site's page could post: right fields, no antiforgery token (nor this origin's cookies).
        using var signIn = new HttpRequestMessage(HttpMethod.Post, "/signin")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["_handler"] = "signin",
                ["Input.Email"] = "root@example.com",
                ["Input.Password"] = "Root-password-1",
            }),
        };
        signIn.Headers.Add("Origin", "https://evil.example.com");
        using var signOut = new HttpRequestMessage(HttpMethod.Post, "/signout") { Content = new FormUrlEncodedContent([]) };
        signOut.Headers.Add("Origin", "https://evil.example.com");

        using var signInAnswer = await client.SendAsync(signIn);
        using var signOutAnswer = await client.SendAsync(signOut);

        Assert.That(signInAnswer.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(signInAnswer.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies : [], Has.None.Contains(BrowserCookieSetup.CookieName));
        Assert.That(signOutAnswer.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [Test]
    public async Task Pages_need_a_session_and_send_the_browser_to_sign_in()
    {
        using var client = _console.Client();
        using var response = await client.GetAsync("/keys");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(response.Headers.Location!.OriginalString, Does.Contain("/signin?returnUrl=%2Fkeys"));
    }
}
