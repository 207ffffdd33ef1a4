using ThinkWatch.Security;
using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using ThinkWatch.Identity.Auth;

namespace ThinkWatch.Identity.Sso;

public static class SsoApi
{
    public sealed record SsoProviderView(string Name, string DisplayName, string StartUrl);

    public static RouteGroupBuilder MapSsoApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/auth/sso").WithTags("Sessions");
        group.MapGet("/", (SsoService sso) => TypedResults.Ok(sso.Providers.Select(p => new SsoProviderView(p.Name, p.DisplayName, $"/api/auth/sso/{p.Name}/start"))));
        group.MapGet("/{provider}/start", Start);
        group.MapGet("/{provider}/callback", Callback);
        return group;
    }

    public static async Task<Results<RedirectHttpResult, NotFound>> Start(string provider, SsoService sso, HttpContext http, CancellationToken cancellationToken) =>
        await sso.StartAsync(provider, http.Connection.RemoteIpAddress, cancellationToken) is { } url
            ? TypedResults.Redirect(url.ToString())
            : TypedResults.NotFound();

    public static async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> Callback(
        string provider, string? code, string? state, string? error, SsoService sso, HttpContext http, CancellationToken cancellationToken) =>
        await sso.CallbackAsync(provider, code, state, error, http.Connection.RemoteIpAddress, http.Request.Headers.UserAgent.ToString(), cancellationToken) switch
        {
            SignInOutcome.Success success => TypedResults.Ok(success.Tokens),
            SignInOutcome.Refused refused => TypedResults.Problem(refused.Message, statusCode: StatusCodes.Status401Unauthorized, title: "Not signed in"),
            var other => TypedResults.Problem(other.ToString(), statusCode: StatusCodes.Status500InternalServerError),
        };
}
