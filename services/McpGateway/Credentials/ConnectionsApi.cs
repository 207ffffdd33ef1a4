using Microsoft.AspNetCore.Http.HttpResults;
using ThinkWatch.McpGateway.OAuth;
using ThinkWatch.McpGateway.Servers;
using ThinkWatch.McpGateway.Upstream;
using ThinkWatch.Security;

namespace ThinkWatch.McpGateway.Credentials;

/// <summary>
/// /api/mcp/connections and /api/mcp/servers/{id}/connect: a user's own accounts on upstream
/// servers (mcp:connect; everyone acts only on their own). A pasted static token is tried against
/// the server before it is stored, so a typo is caught at once rather than at the first tool call.
/// </summary>
public static class ConnectionsApi
{
    public static IEndpointRouteBuilder MapConnectionsApi(this IEndpointRouteBuilder app)
    {
        var mine = app.MapGroup("/api/mcp/connections").WithTags("MCP connections").RequirePermission(Permissions.McpConnect);
        mine.MapGet("/", (CredentialStore s, HttpContext http, CancellationToken ct) => s.ListAsync(ConsoleActor.From(http).UserId.ToString(), ct));
        mine.MapPost("/{id:guid}/default", async (CredentialStore s, HttpContext http, Guid id, CancellationToken ct) =>
            OutcomeResults.Map(await s.MakeDefaultAsync(ConsoleActor.From(http), id, ct)));
        mine.MapDelete("/{id:guid}", async (CredentialStore s, UpstreamClients clients, OAuthFlow oauth, HttpContext http, Guid id, CancellationToken ct) =>
        {
            var actor = ConsoleActor.From(http);
            var credential = await s.FindByIdAsync(actor.UserId.ToString(), id, ct);
            var outcome = await s.DeleteAsync(actor, id, ct);
            if (outcome is Outcome<Connection>.Done done)
            {
                await clients.ForgetAsync(done.Value.ServerId, id);
                if (credential is { Kind: CredentialKinds.OAuth })
                {
                    await oauth.RevokeAsync(credential.ServerId, credential.Secret, ct);
                }
            }
            return OutcomeResults.Map(outcome);
        });

        var servers = app.MapGroup("/api/mcp/servers/{serverId:guid}").WithTags("MCP connections").RequirePermission(Permissions.McpConnect);
        servers.MapGet("/connect", ConnectAsync);
        servers.MapPost("/connections", PasteTokenAsync);
        return app;
    }

    /// <summary>
    /// Where `authorize_url` leads: how to connect an account (`?label=` names it) to this server. For an OAuth server, the
    /// authorization URL to open in a browser (discovering the authorization server and registering the gateway on first use).
    /// </summary>
    private static async Task<Results<Ok<ConnectInstructions>, ProblemHttpResult, NotFound>> ConnectAsync(ServerStore servers, OAuthFlow oauth, HttpContext http,
        Guid serverId, string? label, CancellationToken ct)
    {
        if (await servers.GetAsync(serverId, ct) is not Outcome<McpServer>.Done { Value: var server })
        {
            return TypedResults.NotFound();
        }
        label = label?.Trim() is { Length: > 0 } l ? l : CredentialStore.DefaultLabel;
        if (!CredentialStore.Label().IsMatch(label))
        {
            return TypedResults.Problem("label: 1–64 lower-case letters, digits, '.', '_' or '-'.", statusCode: StatusCodes.Status400BadRequest);
        }
        switch (server.AuthMode)
        {
            case AuthModes.Static:
                return TypedResults.Ok(new ConnectInstructions(server.Id, server.Name, server.AuthMode,
                    $"POST /api/mcp/servers/{server.Id}/connections with {{\"token\": \"…\", \"label\": \"{label}\"}}: the token is tried against the server, then stored encrypted.",
                    null));
            case AuthModes.OAuth:
                try
                {
                    var (_, url) = await oauth.BeginAsync(server, ConsoleActor.From(http).UserId.ToString(), label, ct);
                    return TypedResults.Ok(new ConnectInstructions(server.Id, server.Name, server.AuthMode,
                        $"Open authorizationUrl in a browser within {OAuthFlow.PendingLifetime.TotalMinutes:0} minutes and approve; the account '{label}' is connected when the authorization server sends you back.",
                        url));
                }
                catch (ManualRegistrationRequired ex)
                {
                    return TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status409Conflict, title: "The gateway must be registered by hand");
                }
                catch (OAuthDiscoveryException ex)
                {
                    return TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status502BadGateway, title: "OAuth discovery failed");
                }
            default:
                return TypedResults.Problem($"'{server.Name}' needs no account: every user reaches it as the gateway.", statusCode: StatusCodes.Status400BadRequest);
        }
    }

    private static async Task<Results<Created<Connection>, ValidationProblem, ProblemHttpResult, NotFound>> PasteTokenAsync(
        ServerStore servers, CredentialStore credentials, UpstreamClients clients, UpstreamIdentity identities, HttpContext http, Guid serverId,
        StaticTokenInput input, CancellationToken ct)
    {
        if (await servers.GetAsync(serverId, ct) is not Outcome<McpServer>.Done { Value: var server })
        {
            return TypedResults.NotFound();
        }
        if (server.AuthMode != AuthModes.Static)
        {
            return TypedResults.Problem($"'{server.Name}' does not take pasted tokens (its auth mode is {server.AuthMode}).", statusCode: StatusCodes.Status400BadRequest);
        }
        var label = input.Label?.Trim() is { Length: > 0 } l ? l : CredentialStore.DefaultLabel;
        var errors = new Dictionary<string, string[]>();
        if (!CredentialStore.Label().IsMatch(label))
        {
            errors["label"] = ["1–64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit."];
        }
        if (input.Token?.Trim() is not { Length: > 0 and <= 8192 } token || token.Any(char.IsControl))
        {
            errors["token"] = ["Required: the token as the server issued it (at most 8192 characters, one line)."];
        }
        else if (errors.Count == 0)
        {
            var verdict = await clients.ProbeAsync(server, UpstreamClients.BearerHeaders(token), ct);
            if (verdict.Status != ServerStatus.Up)
            {
                errors["token"] = [verdict.Status == ServerStatus.AuthRequired
                    ? $"'{server.Name}' did not accept this token ({verdict.Detail})."
                    : $"'{server.Name}' could not be reached to check the token ({verdict.Detail}); try again later."];
            }
            else
            {
                var identity = await identities.OfAsync(token, server.UserinfoEndpoint, ct);
                var saved = await credentials.SaveAsync(ConsoleActor.From(http), server.Id, label, CredentialKinds.Static, new CredentialSecret(token),
                    identity, null, input.MakeDefault ?? false, ct);
                await clients.ForgetAsync(server.Id, saved.Id);
                return TypedResults.Created($"/api/mcp/connections/{saved.Id}", saved);
            }
        }
        return TypedResults.ValidationProblem(errors);
    }
}

public sealed record ConnectInstructions(Guid ServerId, string Server, string AuthMode, string How, string? AuthorizationUrl);
