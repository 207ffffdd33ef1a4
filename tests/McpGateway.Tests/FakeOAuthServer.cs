using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Protocol;
using ThinkWatch.Testing;

namespace ThinkWatch.McpGateway.Tests;

/// <summary>
/// An MCP server protected by its own OAuth authorization server, in one loopback app, the way remote MCP servers are deployed:
/// RFC 9728 protected resource metadata (path-aware, announced in the 401's WWW-Authenticate), RFC 8414 metadata for an issuer
/// with a path, RFC 7591 registration (unless turned off), an authorization endpoint that plays the user's consent (the test
/// says who logs in with <c>&amp;user=</c>), PKCE S256 and RFC 8707 resource checks at the token endpoint, rotating refresh
/// tokens, RFC 7009 revocation and userinfo. The MCP server lists `whoami` (read-only) and a tool only its user sees (`private_{user}`).
/// </summary>
public sealed class FakeOAuthServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly State _state;

    private FakeOAuthServer(WebApplication app, State state, Uri baseAddress) => (_app, _state, BaseAddress) = (app, state, baseAddress);

    public Uri BaseAddress { get; }
    public Uri McpUrl => new(BaseAddress, "mcp");
    public int Registrations => _state.Registrations;
    public int Refreshes => _state.Refreshes;
    public int Revocations => _state.Revocations;
    /// <summary>The query of the last authorization request.</summary>
    public IReadOnlyDictionary<string, string> LastAuthorization => _state.LastAuthorization;

    /// <summary>A client registered by hand (for servers without dynamic registration).</summary>
    public void Preregister(string clientId, string redirectUri) => _state.Clients[clientId] = redirectUri;

    /// <summary>The next access token issued to <paramref name="user"/> expires after <paramref name="lifetime"/> (later ones last an hour).</summary>
    public void ShortLivedNext(string user, TimeSpan lifetime) => _state.NextLifetime[user] = lifetime;

    /// <summary>Every access token of the user stops working (the upstream answers 401).</summary>
    public void ExpireAccessTokens(string user)
    {
        foreach (var token in _state.Access.Where(a => a.Value.User == user).Select(a => a.Key).ToList())
        {
            _state.Access.TryRemove(token, out _);
        }
    }

    /// <summary>Every refresh token of the user is refused from now on (invalid_grant).</summary>
    public void RevokeRefreshTokens(string user)
    {
        foreach (var token in _state.Refresh.Where(r => r.Value == user).Select(r => r.Key).ToList())
        {
            _state.Refresh.TryRemove(token, out _);
        }
    }

    public static async Task<FakeOAuthServer> StartAsync(bool dynamicRegistration = true)
    {
        var state = new State();
        Uri? self = null;
        var (app, address) = await LoopbackServer.StartAsync(app =>
        {
            string Base() => self!.ToString();
            app.MapGet("/.well-known/oauth-protected-resource/mcp", () => Results.Json(new
            {
                resource = Base() + "mcp", authorization_servers = new[] { Base() + "oauth" }, scopes_supported = new[] { "notes:read" },
            }));
            app.MapGet("/.well-known/oauth-authorization-server/oauth", () => Results.Json(new
            {
                issuer = Base() + "oauth",
                authorization_endpoint = Base() + "oauth/authorize",
                token_endpoint = Base() + "oauth/token",
                registration_endpoint = dynamicRegistration ? Base() + "oauth/register" : null,
                revocation_endpoint = Base() + "oauth/revoke",
                userinfo_endpoint = Base() + "oauth/userinfo",
                code_challenge_methods_supported = new[] { "S256" },
                token_endpoint_auth_methods_supported = new[] { "none" },
            }));
            app.MapPost("/oauth/register", async (HttpContext context) =>
            {
                var request = await context.Request.ReadFromJsonAsync<JsonElement>();
                if (request.GetProperty("token_endpoint_auth_method").GetString() != "none")
                {
                    return Results.BadRequest(new { error = "invalid_client_metadata" });
                }
                var clientId = "dyn-" + Guid.NewGuid().ToString("N");
                state.Clients[clientId] = request.GetProperty("redirect_uris")[0].GetString()!;
                Interlocked.Increment(ref state.Registrations);
                return Results.Json(new { client_id = clientId, redirect_uris = new[] { state.Clients[clientId] } }, statusCode: 201);
            });
            app.MapGet("/oauth/authorize", (HttpContext context) =>
            {
                var q = context.Request.Query.ToDictionary(p => p.Key, p => p.Value.ToString());
                state.LastAuthorization = q;
                if (!state.Clients.TryGetValue(q.GetValueOrDefault("client_id", ""), out var redirect) || redirect != q.GetValueOrDefault("redirect_uri")
                    || q.GetValueOrDefault("response_type") != "code" || q.GetValueOrDefault("code_challenge_method") != "S256"
                    || q.GetValueOrDefault("resource") != Base() + "mcp" || !q.TryGetValue("user", out var user))
                {
                    return Results.BadRequest(new { error = "invalid_request" });
                }
                var code = Guid.NewGuid().ToString("N");
                state.Codes[code] = (q["client_id"], redirect, q["code_challenge"], user);
                return Results.Redirect($"{redirect}?code={code}&state={Uri.EscapeDataString(q["state"])}");
            });
            app.MapPost("/oauth/token", async (HttpContext context) =>
            {
                var form = await context.Request.ReadFormAsync();
                if (form["resource"] != Base() + "mcp")
                {
                    return Results.BadRequest(new { error = "invalid_target" });
                }
                string user;
                if (form["grant_type"] == "authorization_code")
                {
                    if (!state.Codes.TryRemove(form["code"].ToString(), out var issued) || issued.ClientId != form["client_id"] || issued.Redirect != form["redirect_uri"]
                        || Convert.ToBase64String(SHA256.HashData(Encoding.ASCII.GetBytes(form["code_verifier"].ToString()))).TrimEnd('=').Replace('+', '-').Replace('/', '_')
                            != issued.Challenge)
                    {
                        return Results.BadRequest(new { error = "invalid_grant" });
                    }
                    user = issued.User;
                }
                else if (form["grant_type"] == "refresh_token")
                {
                    // Slow enough that concurrent refreshes would overlap.
                    await Task.Delay(200);
                    if (!state.Refresh.TryRemove(form["refresh_token"].ToString(), out var owner))
                    {
                        return Results.BadRequest(new { error = "invalid_grant" });
                    }
                    Interlocked.Increment(ref state.Refreshes);
                    user = owner;
                }
                else
                {
                    return Results.BadRequest(new { error = "unsupported_grant_type" });
                }
                var lifetime = state.NextLifetime.TryRemove(user, out var shortLived) ? shortLived : TimeSpan.FromHours(1);
                var (access, refresh) = ("at-" + Guid.NewGuid().ToString("N"), "rt-" + Guid.NewGuid().ToString("N"));
                state.Access[access] = (user, DateTimeOffset.UtcNow + lifetime);
                state.Refresh[refresh] = user;
                return Results.Json(new { access_token = access, token_type = "Bearer", expires_in = (long)lifetime.TotalSeconds, refresh_token = refresh });
            });
            app.MapPost("/oauth/revoke", async (HttpContext context) =>
            {
                var form = await context.Request.ReadFormAsync();
                state.Access.TryRemove(form["token"].ToString(), out _);
                state.Refresh.TryRemove(form["token"].ToString(), out _);
                Interlocked.Increment(ref state.Revocations);
                return Results.Ok();
            });
            app.MapGet("/oauth/userinfo", (HttpContext context) =>
                state.UserOf(context) is { } user ? Results.Json(new { sub = user + "-id", preferred_username = user }) : Results.Unauthorized());
            app.Use(async (context, next) =>
            {
                if (context.Request.Path.StartsWithSegments("/mcp"))
                {
                    if (state.UserOf(context) is not { } user)
                    {
                        context.Response.StatusCode = 401;
                        context.Response.Headers.WWWAuthenticate = $"Bearer resource_metadata=\"{Base()}.well-known/oauth-protected-resource/mcp\", scope=\"notes:read\"";
                        return;
                    }
                    context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, user)], "oauth"));
                }
                await next();
            });
            app.MapMcp("/mcp");
        }, services => services.AddMcpServer(o => o.ServerInfo = new Implementation { Name = "oauth-notes", Version = "1.0" })
            .WithHttpTransport()
            .WithListToolsHandler((context, _) => ValueTask.FromResult(new ListToolsResult
            {
                Tools = [Tool("whoami", readOnly: true), Tool("private_" + context.User!.FindFirstValue(ClaimTypes.NameIdentifier), readOnly: false)],
            }))
            .WithCallToolHandler((context, _) => ValueTask.FromResult(new CallToolResult
            {
                Content = [new TextContentBlock { Text = $"oauth: {context.User!.FindFirstValue(ClaimTypes.NameIdentifier)} called {context.Params!.Name}" }],
            })));
        self = address;
        return new FakeOAuthServer(app, state, address);
    }

    private static Tool Tool(string name, bool readOnly) => new()
    {
        Name = name,
        Annotations = new ToolAnnotations { ReadOnlyHint = readOnly },
        Description = $"The {name} tool.",
        InputSchema = JsonSerializer.SerializeToElement(new { type = "object", properties = new { } }),
    };

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private sealed class State
    {
        public int Registrations;
        public int Refreshes;
        public int Revocations;
        public IReadOnlyDictionary<string, string> LastAuthorization = new Dictionary<string, string>();
        public readonly ConcurrentDictionary<string, string> Clients = new();
        public readonly ConcurrentDictionary<string, (string ClientId, string Redirect, string Challenge, string User)> Codes = new();
        public readonly ConcurrentDictionary<string, (string User, DateTimeOffset ExpiresAt)> Access = new();
        public readonly ConcurrentDictionary<string, string> Refresh = new();
        public readonly ConcurrentDictionary<string, TimeSpan> NextLifetime = new();

        public string? UserOf(HttpContext context)
        {
            var header = context.Request.Headers.Authorization.ToString();
            return header.StartsWith("Bearer ", StringComparison.Ordinal) && Access.TryGetValue(header["Bearer ".Length..], out var access)
                && access.ExpiresAt > DateTimeOffset.UtcNow ? access.User : null;
        }
    }
}
