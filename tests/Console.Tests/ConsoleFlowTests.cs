using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace ThinkWatch.Console.Tests;

/// <summary>
/// The first-run path in a real browser against real services: setup wizard → sign in → create a key → its plaintext
/// shown once → revoke it → sign out; with a screenshot of each page for docs/console.md.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed partial class ConsoleFlowTests
{
    [Test]
    [CancelAfter(240_000)]
    public async Task Setup_sign_in_create_a_key_shown_once_revoke_it_and_sign_out()
    {
        await using var console = await ConsoleHost.StartAsync();
        await using var browser = await Browser.StartAsync(console.Address);
        var page = browser.Page;

        // While setup is required every page leads to the wizard.
        await page.GotoAsync("/keys");
        Assert.That(new Uri(page.Url).AbsolutePath, Is.EqualTo("/setup"));
        await browser.ScreenshotAsync("setup");

        // The API's field errors appear next to their fields.
        await page.FillAsync("#email", "root@example.com");
        await page.FillAsync("#displayName", "Root");
        await page.FillAsync("#password", "short");
        await page.ClickAsync("#setup-submit");
        await Assertions.Expect(page.Locator("#password-error")).ToBeVisibleAsync();
        await browser.ScreenshotAsync("setup-field-errors");

        await page.FillAsync("#password", "Root-password-1");
        await page.CheckAsync("#createKey");
        await page.FillAsync("#keyName", "first key");
        await page.ClickAsync("#setup-submit");
        var firstKey = (await page.Locator("#setup-key").TextContentAsync())!.Trim();
        Assert.That(firstKey, Does.StartWith("tw-"));
        await page.ClickAsync("#setup-key-copy");
        Assert.That(await page.EvaluateAsync<string>("navigator.clipboard.readText()"), Is.EqualTo(firstKey), "the copy button copies the plaintext");
        await browser.ScreenshotAsync("setup-done");

        // Sign in: a wrong password is refused with Identity's message, the right one opens the console.
        await page.ClickAsync("#continue-signin");
        await page.FillAsync("#email", "root@example.com");
        await page.FillAsync("#password", "Wrong-password-1");
        await page.ClickAsync("#signin");
        await Assertions.Expect(page.Locator("#signin-problem")).ToBeVisibleAsync();
        await page.FillAsync("#password", "Root-password-1");
        await browser.ScreenshotAsync("signin");
        await page.ClickAsync("#signin");
        await page.WaitForURLAsync("**/keys");
        await Assertions.Expect(page.Locator("#keys")).ToContainTextAsync("first key");
        await Assertions.Expect(page.Locator("#nav-keys")).ToBeVisibleAsync();
        await browser.ScreenshotAsync("keys");

        // A field error from the API next to the name field.
        await page.UncheckAsync("#surface-ai");
        await page.UncheckAsync("#surface-mcp");
        await page.FillAsync("#key-name", "ci key");
        await page.ClickAsync("#create-key");
        await Assertions.Expect(page.Locator("#key-surfaces-error")).ToBeVisibleAsync();
        await page.CheckAsync("#surface-ai");

        // Create: the plaintext once, with a copy button.
        await page.ClickAsync("#create-key");
        var secret = (await page.Locator("#new-key").TextContentAsync())!.Trim();
        Assert.That(secret, Does.StartWith("tw-"));
        await Assertions.Expect(page.Locator("#keys")).ToContainTextAsync("ci key");
        await browser.ScreenshotAsync("keys-created");

        // Never again: not after a reload, not anywhere in the page.
        await page.ReloadAsync();
        await Assertions.Expect(page.Locator("#keys")).ToContainTextAsync("ci key");
        Assert.That(await page.Locator("#new-key").CountAsync(), Is.Zero);
        Assert.That(await page.ContentAsync(), Does.Not.Contain(secret).And.Not.Contain(firstKey));

        // Revoke, with a confirmation first.
        var row = page.Locator("tr", new PageLocatorOptions { HasText = "ci key" });
        await row.Locator("[id^=revoke-]").ClickAsync();
        await Assertions.Expect(row.Locator("[role=alertdialog]")).ToBeVisibleAsync();
        await browser.ScreenshotAsync("keys-revoke-confirm");
        await row.Locator("[id^=confirm-revoke-]").ClickAsync();
        await Assertions.Expect(row.Locator("[data-status]")).ToHaveAttributeAsync("data-status", "revoked");
        Assert.That(await console.Identity.QueryAsync<long>("SELECT count(*) FROM api_keys WHERE name = 'ci key' AND revoked_at IS NOT NULL"), Is.EqualTo(1));

        // 简体中文: the labels change.
        await page.ClickAsync("#lang-zh");
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("API 密钥");
        await Assertions.Expect(page.Locator("#signout")).ToHaveTextAsync("退出登录");
        await browser.ScreenshotAsync("keys-zh");
        await page.ClickAsync("#lang-en");

        // Sign out ends the Identity session too, and the console's pages need a sign-in again.
        await page.ClickAsync("#signout");
        await page.WaitForURLAsync("**/signin");
        Assert.That(await console.Identity.QueryAsync<long>("SELECT count(*) FROM sessions WHERE revoked_at IS NULL"), Is.Zero);
        await page.GotoAsync("/keys");
        Assert.That(page.Url, Does.Match(SignInWithReturn()));

        Assert.That(browser.CspViolations, Is.Empty, "the pages run under their own policy");
    }

    [GeneratedRegex("/signin\\?returnUrl=%2Fkeys$")]
    private static partial Regex SignInWithReturn();
}
