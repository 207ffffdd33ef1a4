using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using ThinkWatch.Contracts.Identity.V1;
using ThinkWatch.Integrations;
using ThinkWatch.Security;

namespace ThinkWatch.McpGateway.Mcp;

/// <summary>Claims of a /mcp caller beyond the console token's (sub, role).</summary>
public static class McpClaims
{
    public const string KeyId = "key_id";
    public const string AllowedTool = "allowed_mcp_tool";
    public const string AccountLabel = "mcp_account_label";
    public const string LimitSubject = "limit_subject";
}

/// <summary>
/// /mcp callers: a `tw-` key with the mcp_gateway surface (checked with Identity) or a console
/// session token. Either way the principal's "sub" is the user, which is also what the MCP SDK
/// binds a session to, so a session cannot be used with another user's credentials.
/// </summary>
public sealed class McpKeyHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyValidator keys,
    Accounting.CallLog log)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "tw-key";
    public const string Selector = "mcp";
    private const string FailureKey = "mcp-auth-failure";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (ApiKeyValidator.Presented(Request) is not { } presented)
        {
            return AuthenticateResult.NoResult();
        }
        ValidateKeyResponse answer;
        try
        {
            answer = await keys.ValidateAsync(presented, Context.RequestAborted);
        }
        catch (Grpc.Core.RpcException ex) when (ex.StatusCode != Grpc.Core.StatusCode.Cancelled)
        {
            return Fail(StatusCodes.Status503ServiceUnavailable, "The gateway cannot check API keys right now; try again shortly.");
        }
        if (answer.Principal is not { } principal)
        {
            log.Unauthenticated(answer.Rejection.Reason == RejectionReason.WrongSurface ? "permission" : "authentication", answer.Rejection.Message,
                Context.Connection.RemoteIpAddress?.ToString());
            return Fail(answer.Rejection.Reason == RejectionReason.WrongSurface ? StatusCodes.Status403Forbidden : StatusCodes.Status401Unauthorized,
                answer.Rejection.Message);
        }
        var claims = new List<Claim>
        {
            new(ConsoleClaims.UserId, principal.UserId),
            new(ConsoleClaims.Role, principal.Role),
            new(McpClaims.KeyId, principal.KeyId),
        };
        claims.AddRange(principal.AllowedMcpTools.Select(t => new Claim(McpClaims.AllowedTool, t)));
        claims.AddRange(principal.LimitSubjects.Select(s => new Claim(McpClaims.LimitSubject, McpCaller.FormatSubject(s))));
        if (principal.McpAccountLabel is { Length: > 0 } label)
        {
            claims.Add(new Claim(McpClaims.AccountLabel, label));
        }
        return AuthenticateResult.Success(new AuthenticationTicket(
            new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName, ConsoleClaims.UserId, ConsoleClaims.Role)), SchemeName));
    }

    private AuthenticateResult Fail(int status, string message)
    {
        Context.Items[FailureKey] = (status, message);
        return AuthenticateResult.Fail(message);
    }

    /// <summary>
    /// 401 (403 for a key without the MCP surface, 503 when Identity is away) with a JSON-RPC error body an MCP client can show — for
    /// console tokens too, whose own handler would answer with an empty body (made ProblemDetails by the status code pages).
    /// </summary>
    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var (status, message) = Context.Items[FailureKey] as (int, string)? ?? UnusableConsoleToken();
        Response.StatusCode = status;
        if (status == StatusCodes.Status401Unauthorized)
        {
            Response.Headers.WWWAuthenticate = "Bearer realm=\"thinkwatch\"";
        }
        return Response.WriteAsJsonAsync(JsonRpcErrors.Body(JsonRpcErrors.Unauthorized, message));
    }

    /// <summary>A caller whose role lacks mcp:connect: 403, whether it came with a console token or a key of such a user.</summary>
    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var caller = McpCaller.From(Context.User);
        var message = $"The role '{caller.Role}' may not use MCP servers (it lacks the {Permissions.McpConnect} permission).";
        log.Refused(caller, "permission", null, message, Context.Connection.RemoteIpAddress?.ToString());
        Response.StatusCode = StatusCodes.Status403Forbidden;
        return Response.WriteAsJsonAsync(JsonRpcErrors.Body(JsonRpcErrors.Forbidden, message));
    }

    private (int, string) UnusableConsoleToken()
    {
        if (ApiKeyValidator.Presented(Request) is null)
        {
            return (StatusCodes.Status401Unauthorized,
                "Missing credentials: send 'Authorization: Bearer tw-…' (a key for the MCP gateway) or a console session token.");
        }
        const string message = "The console token is invalid or has expired: sign in again, or use a tw- key for the MCP gateway.";
        log.Unauthenticated("authentication", message, Context.Connection.RemoteIpAddress?.ToString());
        return (StatusCodes.Status401Unauthorized, message);
    }
}

public static class McpAuthenticationExtensions
{
    /// <summary>The "mcp" scheme: `tw-` keys to <see cref="McpKeyHandler"/>, anything else to the console token (JWT) handler; refusals always in JSON-RPC.</summary>
    public static AuthenticationBuilder AddMcpAuthentication(this AuthenticationBuilder builder) => builder
        .AddScheme<AuthenticationSchemeOptions, McpKeyHandler>(McpKeyHandler.SchemeName, null)
        .AddPolicyScheme(McpKeyHandler.Selector, null, o =>
        {
            o.ForwardDefaultSelector = context =>
                ApiKeyValidator.Presented(context.Request) is { } presented && !presented.StartsWith("tw-", StringComparison.Ordinal)
                    ? JwtBearerDefaults.AuthenticationScheme
                    : McpKeyHandler.SchemeName;
            // Refusals are answered in /mcp's shape (JSON-RPC) whichever handler authenticated the caller.
            o.ForwardChallenge = McpKeyHandler.SchemeName;
            o.ForwardForbid = McpKeyHandler.SchemeName;
        });
}
