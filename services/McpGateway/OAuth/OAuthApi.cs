using Microsoft.AspNetCore.Http.HttpResults;
using ThinkWatch.McpGateway.Credentials;
using ThinkWatch.McpGateway.Servers;
using ThinkWatch.McpGateway.Upstream;
using ThinkWatch.Security;

namespace ThinkWatch.McpGateway.OAuth;

/// <summary>What an admin enters when the authorization server offers no dynamic registration (endpoints left out are discovered).</summary>
public sealed record OAuthClientInput(string? ClientId, string? ClientSecret, string? Scopes, string? Issuer, string? AuthorizationEndpoint, string? TokenEndpoint,
    string? RevocationEndpoint, string? Resource);

/// <summary>Connected account, as the callback reports it.</summary>
public sealed record Connected(Guid ServerId, string Label, string? UpstreamIdentity, bool IsDefault, DateTimeOffset? ExpiresAt);

/// <summary>
/// The browser side of connecting OAuth accounts — /api/mcp/oauth/start/{state} (a personal link
/// from -32050 answers, to the authorization server) and /api/mcp/oauth/callback — which carry no
/// console token (the state is the proof), and /api/mcp/servers/{id}/oauth-client for admins.
/// </summary>
public static class OAuthApi
{
    public static IEndpointRouteBuilder MapOAuthApi(this IEndpointRouteBuilder app)
    {
        var browser = app.MapGroup("/api/mcp/oauth").WithTags("MCP OAuth").AllowAnonymous();
        browser.MapGet("/start/{state}", async Task<Results<RedirectHttpResult, ProblemHttpResult>> (OAuthFlow oauth, string state) =>
            await oauth.AuthorizationUrlAsync(state) is { } url
                ? TypedResults.Redirect(url)
                : TypedResults.Problem("This link is unknown or expired; ask for a new one (call the tool again).", statusCode: StatusCodes.Status404NotFound));
        browser.MapGet("/callback", CallbackAsync);

        var admin = app.MapGroup("/api/mcp/servers/{serverId:guid}/oauth-client").WithTags("MCP OAuth").RequirePermission(Permissions.McpManage);
        admin.MapGet("/", async Task<Results<Ok<OAuthClientView>, NotFound>> (OAuthClientStore store, OAuthFlow oauth, Guid serverId, CancellationToken ct) =>
            await store.FindAsync(serverId, ct) is { } client ? TypedResults.Ok(client.View(oauth.RedirectUri)) : TypedResults.NotFound());
        admin.MapPut("/", RegisterByHandAsync);
        admin.MapDelete("/", async Task<Results<NoContent, NotFound>> (OAuthClientStore store, HttpContext http, Guid serverId, CancellationToken ct) =>
            await store.DeleteAsync(ConsoleActor.From(http), serverId, ct) ? TypedResults.NoContent() : TypedResults.NotFound());
        return app;
    }

    private static async Task<Results<Ok<Connected>, ProblemHttpResult>> CallbackAsync(OAuthFlow oauth, UpstreamClients clients, HttpContext http, string? state,
        string? code, string? error, string? error_description, CancellationToken ct)
    {
        if (error is not null)
        {
            return TypedResults.Problem($"The authorization server did not authorize the connection: {error} {error_description}".TrimEnd(),
                statusCode: StatusCodes.Status400BadRequest);
        }
        if (state is null || code is null)
        {
            return TypedResults.Problem("state and code are required.", statusCode: StatusCodes.Status400BadRequest);
        }
        try
        {
            var (connection, serverId) = await oauth.CompleteAsync(state, code, http.Connection.RemoteIpAddress?.ToString(), ct);
            await clients.ForgetAsync(serverId, connection.Id);
            return TypedResults.Ok(new Connected(serverId, connection.Label, connection.UpstreamIdentity, connection.IsDefault, connection.ExpiresAt));
        }
        catch (OAuthFlowException ex)
        {
            return TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status400BadRequest);
        }
        catch (HttpRequestException ex)
        {
            return TypedResults.Problem($"The authorization server could not be reached: {ex.Message}", statusCode: StatusCodes.Status502BadGateway);
        }
    }

    private static async Task<Results<Ok<OAuthClientView>, ValidationProblem, ProblemHttpResult, NotFound>> RegisterByHandAsync(
        ServerStore servers, OAuthClientStore store, OAuthDiscovery discovery, OAuthFlow oauth, TimeProvider time, HttpContext http, Guid serverId, OAuthClientInput input,
        CancellationToken ct)
    {
        if (await servers.GetAsync(serverId, ct) is not Outcome<McpServer>.Done { Value: var server })
        {
            return TypedResults.NotFound();
        }
        var errors = new Dictionary<string, string[]>();
        if (input.ClientId?.Trim() is not { Length: > 0 and <= 500 })
        {
            errors["clientId"] = ["Required: the client id the authorization server gave the gateway's registration."];
        }
        foreach (var (field, value) in new[] { ("authorizationEndpoint", input.AuthorizationEndpoint), ("tokenEndpoint", input.TokenEndpoint),
                     ("revocationEndpoint", input.RevocationEndpoint), ("issuer", input.Issuer), ("resource", input.Resource) })
        {
            if (value is not null && !(Uri.TryCreate(value, UriKind.Absolute, out var url) && url.Scheme is "https" or "http"))
            {
                errors[field] = ["An absolute http(s) URL."];
            }
        }
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }
        Discovered found;
        if (input.AuthorizationEndpoint is { } authorize && input.TokenEndpoint is { } token)
        {
            found = new Discovered(new AuthorizationServerMetadata(input.Issuer ?? new Uri(authorize).GetLeftPart(UriPartial.Authority), authorize, token, null, null,
                null, null, null, null), server.Url.ToString(), null);
        }
        else
        {
            try
            {
                found = await discovery.DiscoverAsync(server, ct);
            }
            catch (OAuthDiscoveryException ex)
            {
                return TypedResults.Problem($"{ex.Message} Give authorizationEndpoint and tokenEndpoint explicitly.", statusCode: StatusCodes.Status502BadGateway);
            }
        }
        // What the admin entered wins over what was discovered.
        var discovered = found.ClientFor(server, input.ClientId!.Trim(), input.ClientSecret is { Length: > 0 } secret ? secret : null, RegisteredVia.Manual,
            time.GetUtcNow());
        var client = discovered with
        {
            RevocationEndpoint = input.RevocationEndpoint is { } revoke ? new Uri(revoke) : discovered.RevocationEndpoint,
            Resource = input.Resource ?? discovered.Resource,
            Scopes = input.Scopes ?? discovered.Scopes,
        };
        await store.SaveAsync(client, ConsoleActor.From(http), ct);
        return TypedResults.Ok(client.View(oauth.RedirectUri));
    }
}
