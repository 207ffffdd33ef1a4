using Microsoft.Playwright;
using ThinkWatch.Testing;

namespace ThinkWatch.Console.Tests;

/// <summary>
/// Headless Chromium from Debian (/usr/bin/chromium, installed by infra/infra.sh install) driven by Playwright; Playwright
/// never downloads a browser here. Every page's console is watched for Content-Security-Policy violations.
/// </summary>
public sealed class Browser : IAsyncDisposable
{
    public const string Chromium = "/usr/bin/chromium";

    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;

    private Browser(IPlaywright playwright, IBrowser browser, IBrowserContext context, IPage page) =>
        (_playwright, _browser, Context, Page) = (playwright, browser, context, page);

    public IBrowserContext Context { get; }
    public IPage Page { get; }
    public List<string> CspViolations { get; } = [];

    public static async Task<Browser> StartAsync(Uri baseUrl, string locale = "en-US")
    {
        Assert.That(File.Exists(Chromium), Is.True, "Debian's chromium is missing: run infra/infra.sh install");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        });
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseUrl.ToString().TrimEnd('/'),
            Locale = locale,
            ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
        });
        await context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"]);
        context.SetDefaultTimeout(20_000);
        var page = await context.NewPageAsync();
        var session = new Browser(playwright, browser, context, page);
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase))
            {
                session.CspViolations.Add(message.Text);
            }
        };
        return session;
    }

    /// <summary>A PNG of the page under docs/console/ for docs/console.md.</summary>
    public Task ScreenshotAsync(string name) => Page.ScreenshotAsync(new PageScreenshotOptions
    {
        Path = Path.Combine(Repository.Root, "docs", "console", name + ".png"),
        FullPage = true,
    });

    public async ValueTask DisposeAsync()
    {
        await Context.DisposeAsync();
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }
}
