using Microsoft.Playwright;
using ThinkWatch.AppHost.Local;

namespace ThinkWatch.AppHost.Tests;

/// <summary>
/// The Aspire dashboard of a run, in headless Chromium from Debian (Playwright driving /usr/bin/chromium; nothing is
/// downloaded). Screenshots go to the test's output folder, and to docs/aspire/ when THINKWATCH_DOCS_SCREENSHOTS=1.
/// </summary>
internal sealed class DashboardPages : IAsyncDisposable
{
    public const string Chromium = "/usr/bin/chromium";
    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;
    private readonly Uri _dashboard;

    private DashboardPages(IPlaywright playwright, IBrowser browser, IPage page, Uri dashboard)
    {
        _playwright = playwright;
        _browser = browser;
        Page = page;
        _dashboard = dashboard;
    }

    public IPage Page { get; }

    public static async Task<DashboardPages> OpenAsync(Uri dashboard)
    {
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1600, Height = 900 } });
        return new DashboardPages(playwright, browser, page, dashboard);
    }

    public async Task GoToAsync(string path) =>
        await Page.GotoAsync(new Uri(_dashboard, path).ToString(), new PageGotoOptions { WaitUntil = WaitUntilState.NetworkIdle });

    /// <summary>Until <paramref name="texts"/> all show on the page at <paramref name="path"/> (reloading it, as telemetry arrives in batches).</summary>
    public async Task<string> WaitForTextsAsync(string path, IReadOnlyCollection<string> texts, TimeSpan limit)
    {
        var until = DateTime.UtcNow + limit;
        while (true)
        {
            await GoToAsync(path);
            var shown = await Page.Locator("body").InnerTextAsync();
            var missing = texts.Where(t => !shown.Contains(t, StringComparison.Ordinal)).ToList();
            if (missing.Count == 0)
            {
                return shown;
            }
            Assert.That(DateTime.UtcNow, Is.LessThan(until), $"{path} never showed {string.Join(", ", missing)}; it showed:\n{shown}");
            await Task.Delay(TimeSpan.FromSeconds(2));
        }
    }

    public async Task ScreenshotAsync(string name)
    {
        var file = Path.Combine(TestContext.CurrentContext.WorkDirectory, "screenshots", name);
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = file, FullPage = false });
        TestContext.AddTestAttachment(file);
        if (Environment.GetEnvironmentVariable("THINKWATCH_DOCS_SCREENSHOTS") is "1")
        {
            var docs = Path.Combine(LocalOptions.FindRepositoryRoot(), "docs", "aspire");
            Directory.CreateDirectory(docs);
            File.Copy(file, Path.Combine(docs, name), overwrite: true);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }
}
