using Microsoft.Net.Http.Headers;

namespace ThinkWatch.Console.Security;

/// <summary>
/// The UI's own security headers. /api answers keep the owning service's (deny-all) policy; everything else served
/// here gets this one:
/// - script-src 'self': blazor.web.js, the Fluent UI module and console.js are files served from here; no inline script
///   (no import map is rendered, so none is needed).
/// - style-src 'self' 'unsafe-inline': Fluent UI components render style="" attributes and Blazor applies them from the
///   circuit; without it their layout breaks. No script can come in through it.
/// - connect-src 'self': the circuit's WebSocket (/_blazor) goes back to this origin.
/// - frame-ancestors 'none' (and X-Frame-Options: DENY), form-action 'self', base-uri 'self', object-src 'none'.
/// </summary>
public static class ConsoleHeaders
{
    public const string UiPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
        + "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

    public static IApplicationBuilder UseConsoleHeaders(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        if (!context.Request.Path.StartsWithSegments("/api"))
        {
            context.Response.OnStarting(static state =>
            {
                var headers = ((HttpContext)state).Response.Headers;
                // Set, not added: antiforgery writes its own weaker frame policy on pages with forms.
                headers.ContentSecurityPolicy = UiPolicy;
                headers.XFrameOptions = "DENY";
                headers.TryAdd(HeaderNames.XContentTypeOptions, "nosniff");
                headers.TryAdd("Referrer-Policy", "no-referrer");
                headers.TryAdd("Cross-Origin-Opener-Policy", "same-origin");
                // Pages may carry a key's plaintext once; static assets set their own caching before this runs.
                headers.TryAdd(HeaderNames.CacheControl, "no-store");
                return Task.CompletedTask;
            }, context);
        }
        return next(context);
    });
}
