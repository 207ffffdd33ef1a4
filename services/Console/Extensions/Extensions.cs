using System.Globalization;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.FluentUI.AspNetCore.Components;
using ThinkWatch.Console.Forwarding;
using ThinkWatch.Console.Localization;
using ThinkWatch.Console.Sessions;
using ThinkWatch.Security;

namespace ThinkWatch.Console.Extensions;

public static class Extensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ConsoleOptions>()
            .BindConfiguration(ConsoleOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);

        // /api/*: CORS for configured origins, body limits and headers, forwarded to the owning services.
        builder.AddConsoleApi();
        builder.Services.AddApiForwarding();

        // Pages: Blazor with interactive server rendering, Fluent UI, English and 简体中文.
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddFluentUIComponents();
        builder.Services.AddLocalization();
        builder.Services.Configure<RequestLocalizationOptions>(o =>
        {
            o.SetDefaultCulture(ConsoleCultures.Supported[0]);
            o.AddSupportedCultures(ConsoleCultures.Supported);
            o.AddSupportedUICultures(ConsoleCultures.Supported);
            o.FallBackToParentUICultures = true;
        });

        // Browser sessions: a cookie with a key, Identity's tokens on the server.
        builder.Services.AddSingleton<BrowserSessionStore>();
        builder.Services.AddSingleton<IPostConfigureOptions<CookieAuthenticationOptions>, BrowserCookieSetup>();
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie();
        builder.Services.AddAuthorization();
        builder.Services.AddCascadingAuthenticationState();
        builder.Services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "tw_antiforgery";
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.SuppressXFrameOptionsHeader = true; // ConsoleHeaders sends DENY
        });
        builder.Services.AddHttpClient(ConsoleApi.ClientName, c => c.Timeout = TimeSpan.FromSeconds(30))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false, UseProxy = false });
        builder.Services.AddConsoleAuthOptions();
        builder.Services.AddSingleton<AccessTokenCheck>();
        builder.Services.AddSingleton<ConsoleTokens>();
        builder.Services.AddSingleton<SetupState>();
        builder.Services.AddScoped<ConsoleApi>();
        return builder;
    }

    /// <summary>Dates and numbers as the page's language writes them.</summary>
    public static string Format(this DateTimeOffset? value) => value?.ToLocalTime().ToString("g", CultureInfo.CurrentCulture) ?? "—";
}
