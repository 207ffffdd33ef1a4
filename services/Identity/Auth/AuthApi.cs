using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using ThinkWatch.Identity.Users;
using ThinkWatch.Security;

namespace ThinkWatch.Identity.Auth;

public static class AuthApi
{
    public static RouteGroupBuilder MapAuthApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api").WithTags("Sessions");
        group.MapPost("/auth/login", Login);
        group.MapPost("/auth/refresh", Refresh);
        group.MapPost("/auth/logout", Logout).RequireAuthorization();
        group.MapGet("/me", Me).RequireAuthorization();
        return group;
    }

    public static async Task<Results<Ok<TokenResponse>, ValidationProblem, ProblemHttpResult>> Login(
        LoginRequest request, SessionService sessions, HttpContext http, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(request.Email) || request.Email.Length > 254)
        {
            errors["email"] = ["An email address is required."];
        }
        if (string.IsNullOrEmpty(request.Password) || request.Password.Length > 1024)
        {
            errors["password"] = ["A password is required."];
        }
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }
        var outcome = await sessions.LoginAsync(request.Email!, request.Password!, http.Connection.RemoteIpAddress,
            http.Request.Headers.UserAgent.ToString(), cancellationToken);
        return Answer(outcome, http);
    }

    public static async Task<Results<Ok<TokenResponse>, ValidationProblem, ProblemHttpResult>> Refresh(
        RefreshRequest request, SessionService sessions, HttpContext http, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(request.RefreshToken) || request.RefreshToken.Length > 200)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["refreshToken"] = ["A refresh token is required."] });
        }
        return Answer(await sessions.RefreshAsync(request.RefreshToken, http.Connection.RemoteIpAddress, cancellationToken), http);
    }

    public static async Task<NoContent> Logout(SessionService sessions, HttpContext http, CancellationToken cancellationToken)
    {
        if (http.User.SessionIdOf() is { } session)
        {
            await sessions.LogoutAsync(session, cancellationToken);
        }
        return TypedResults.NoContent();
    }

    public static async Task<Results<Ok<MeResponse>, UnauthorizedHttpResult>> Me(HttpContext http, UserStore users, CancellationToken cancellationToken)
    {
        if (http.User.UserIdOf() is not { } id || await users.FindAsync(id, cancellationToken) is not { } user)
        {
            return TypedResults.Unauthorized();
        }
        return TypedResults.Ok(new MeResponse(user, [.. Roles.PermissionsOf(user.Role).Order(StringComparer.Ordinal)]));
    }

    private static Results<Ok<TokenResponse>, ValidationProblem, ProblemHttpResult> Answer(SignInOutcome outcome, HttpContext http)
    {
        switch (outcome)
        {
            case SignInOutcome.Success success:
                return TypedResults.Ok(success.Tokens);
            case SignInOutcome.Throttled throttled:
                var seconds = Math.Max(1, (int)Math.Ceiling(throttled.RetryAfter.TotalSeconds));
                http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                return TypedResults.Problem($"Too many failed sign-ins; try again in {Math.Ceiling(seconds / 60.0)} minute(s).",
                    statusCode: StatusCodes.Status429TooManyRequests, title: "Too many attempts");
            case SignInOutcome.Refused refused:
                return TypedResults.Problem(refused.Message, statusCode: StatusCodes.Status401Unauthorized, title: "Not signed in");
            default:
                throw new InvalidOperationException(outcome.GetType().Name);
        }
    }
}
