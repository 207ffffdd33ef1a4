using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using ThinkWatch.McpGateway.Credentials;
using ThinkWatch.McpGateway.Servers;
using ThinkWatch.McpGateway.Upstream;
using ThinkWatch.Security;

namespace ThinkWatch.McpGateway.OAuth;

/// <summary>The server's authorization server offers no dynamic registration: an admin registers the gateway by hand.</summary>
public sealed class ManualRegistrationRequired(string issuer, string redirectUri) : Exception(
    $"{issuer} does not offer dynamic client registration. 1) Register an OAuth application there (a public client if it allows, "
    + $"redirect URI {redirectUri}); 2) PUT its client id (and secret, for a confidential client) to /api/mcp/servers/{{id}}/oauth-client; "
    + "3) connect again.")
{
    public string Issuer { get; } = issuer;
    public string RedirectUri { get; } = redirectUri;
}

/// <summary>An authorization attempt: who connects which account of which server, with which PKCE verifier, and where to send the browser.</summary>
public sealed record PendingAuthorization(Guid ServerId, string UserId, string Label, string Verifier, string AuthorizationUrl);

/// <summary>
/// Connecting users' accounts on OAuth servers: the gateway registers itself as a public client
/// (RFC 7591, `token_endpoint_auth_method: none`) or uses the client an admin entered, sends the
/// browser to the authorization endpoint with PKCE S256, `state` and the RFC 8707 `resource`, and
/// exchanges the code at the callback. Pending attempts live 10 minutes in Redis (sealed), so the
/// callback may reach any replica. Renewal uses the refresh token, once across replicas
/// (<see cref="CredentialStore.RenewAsync"/>); a refusal (invalid_grant) removes the credential.
/// </summary>
public sealed partial class OAuthFlow(
    OAuthDiscovery discovery, OAuthClientStore clients, CredentialStore credentials, UpstreamIdentity identities, GuardedHttp http, IConnectionMultiplexer redis,
    SecretBox box,
    IOptions<McpGatewayOptions> options, TimeProvider time, ILogger<OAuthFlow> logger)
{
    public static readonly TimeSpan PendingLifetime = TimeSpan.FromMinutes(10);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string RedirectUri => $"{options.Value.ConsoleUrl.TrimEnd('/')}/api/mcp/oauth/callback";

    /// <summary>A personal link that starts connecting: opened in any browser within 10 minutes, it leads to the authorization server.</summary>
    public string StartLink(string state) => $"{options.Value.ConsoleUrl.TrimEnd('/')}/api/mcp/oauth/start/{state}";

    /// <summary>The server's client: stored, else discovered and registered dynamically; <see cref="ManualRegistrationRequired"/> when that is not offered.</summary>
    public async Task<OAuthClient> ClientAsync(McpServer server, CancellationToken cancellationToken)
    {
        if (await clients.FindAsync(server.Id, cancellationToken) is { } known)
        {
            return known;
        }
        var found = await discovery.DiscoverAsync(server, cancellationToken);
        var issuer = found.Server.Issuer!;
        if (found.Server.RegistrationEndpoint is not { } registration)
        {
            throw new ManualRegistrationRequired(issuer, RedirectUri);
        }
        var clientId = await RegisterAsync(new Uri(registration), found, cancellationToken);
        var client = found.ClientFor(server, clientId, null, RegisteredVia.Dynamic, time.GetUtcNow());
        await clients.SaveAsync(client, null, cancellationToken);
        LogRegistered(logger, server.Name, issuer);
        return client;
    }

    /// <summary>Starts connecting <paramref name="userId"/>'s account <paramref name="label"/>: the state, whose link leads to the authorization server.</summary>
    public async Task<(string State, string AuthorizationUrl)> BeginAsync(McpServer server, string userId, string label, CancellationToken cancellationToken)
    {
        var client = await ClientAsync(server, cancellationToken);
        var state = Base64Url(RandomNumberGenerator.GetBytes(32));
        var verifier = Base64Url(RandomNumberGenerator.GetBytes(32));
        var query = new Dictionary<string, string?>
        {
            ["response_type"] = "code",
            ["client_id"] = client.ClientId,
            ["redirect_uri"] = RedirectUri,
            ["state"] = state,
            ["code_challenge"] = Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))),
            ["code_challenge_method"] = "S256",
            ["resource"] = client.Resource,
            ["scope"] = client.Scopes,
        };
        var url = Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(client.AuthorizationEndpoint.ToString(), query.Where(q => q.Value is not null));
        var pending = new PendingAuthorization(server.Id, userId, label, verifier, url);
        await redis.GetDatabase().StringSetAsync(PendingKey(state), box.Seal(JsonSerializer.Serialize(pending, Json), Encoding.UTF8.GetBytes(state)), PendingLifetime);
        return (state, url);
    }

    /// <summary>Where a start link leads, while its attempt is pending.</summary>
    public async Task<string?> AuthorizationUrlAsync(string state) => (await PendingAsync(state, remove: false))?.AuthorizationUrl;

    /// <summary>The callback: the code for tokens (once per state), stored as the user's account; the connection and the server.</summary>
    public async Task<(Connection Connection, Guid ServerId)> CompleteAsync(string state, string code, string? clientIp, CancellationToken cancellationToken)
    {
        var pending = await PendingAsync(state, remove: true) ?? throw new OAuthFlowException("This authorization is unknown or expired; start connecting again.");
        var client = await clients.FindAsync(pending.ServerId, cancellationToken) ?? throw new OAuthFlowException("The server's OAuth client is gone; connect again.");
        var tokens = await TokenAsync(client, new()
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = RedirectUri,
            ["code_verifier"] = pending.Verifier,
            ["resource"] = client.Resource,
        }, cancellationToken) ?? throw new OAuthFlowException("The authorization server refused the code.");
        var identity = await identities.OfAsync(tokens.AccessToken, client.UserinfoEndpoint, cancellationToken);
        var actor = new ConsoleActor(Guid.Parse(pending.UserId), "", clientIp);
        var saved = await credentials.SaveAsync(actor, pending.ServerId, pending.Label, CredentialKinds.OAuth, new CredentialSecret(tokens.AccessToken, tokens.RefreshToken),
            identity, ExpiresAt(tokens), makeDefault: false, cancellationToken);
        return (saved, pending.ServerId);
    }

    /// <summary>
    /// A current token for an OAuth credential: as it is while it is good for <see cref="McpGatewayOptions.TokenRefreshSkew"/> more
    /// (unless <paramref name="force"/>, after the server refused it), else renewed; null when the user must connect again.
    /// </summary>
    public async Task<UserCredential?> CurrentAsync(UserCredential credential, bool force, CancellationToken cancellationToken)
    {
        if (credential.Kind != CredentialKinds.OAuth || !force && (credential.ExpiresAt is not { } expires || expires - options.Value.TokenRefreshSkew > time.GetUtcNow()))
        {
            return credential;
        }
        return await credentials.RenewAsync(credential, async current =>
        {
            if (current.Secret.RefreshToken is not { } refresh || await clients.FindAsync(current.ServerId, cancellationToken) is not { } client)
            {
                return null;
            }
            var tokens = await TokenAsync(client, new() { ["grant_type"] = "refresh_token", ["refresh_token"] = refresh, ["resource"] = client.Resource },
                cancellationToken);
            LogRenewed(logger, current.ServerId, tokens is not null);
            return tokens is null ? null : (new CredentialSecret(tokens.AccessToken, tokens.RefreshToken ?? refresh), ExpiresAt(tokens));
        }, cancellationToken);
    }

    /// <summary>Tells the authorization server a removed account's tokens are no longer wanted (RFC 7009), if it listens; best effort.</summary>
    public async Task RevokeAsync(Guid serverId, CredentialSecret secret, CancellationToken cancellationToken)
    {
        if (await clients.FindAsync(serverId, cancellationToken) is not { RevocationEndpoint: { } endpoint } client)
        {
            return;
        }
        foreach (var (token, hint) in new[] { (secret.RefreshToken, "refresh_token"), (secret.AccessToken, "access_token") })
        {
            if (token is null)
            {
                continue;
            }
            try
            {
                using var response = await PostFormAsync(client, endpoint, new() { ["token"] = token, ["token_type_hint"] = hint }, cancellationToken);
            }
            catch (HttpRequestException ex)
            {
                LogRevokeFailed(logger, serverId, ex.Message);
            }
        }
    }

    private async Task<string> RegisterAsync(Uri endpoint, Discovered found, CancellationToken cancellationToken)
    {
        var request = new Dictionary<string, object?>
        {
            ["client_name"] = "ThinkWatch MCP gateway",
            ["redirect_uris"] = new[] { RedirectUri },
            ["grant_types"] = new[] { "authorization_code", "refresh_token" },
            ["response_types"] = new[] { "code" },
            ["token_endpoint_auth_method"] = "none",
            ["scope"] = found.Scopes,
        };
        using var response = await http.Client.PostAsJsonAsync(endpoint, request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode || JsonDocument.Parse(body).RootElement.TryGetProperty("client_id", out var id) is false || id.GetString() is not { Length: > 0 } clientId)
        {
            throw new OAuthDiscoveryException($"Dynamic client registration at {endpoint} failed (HTTP {(int)response.StatusCode}).");
        }
        return clientId;
    }

    /// <summary>A token request; null when the authorization server refused the grant (invalid_grant and other 4xx answers).</summary>
    private async Task<TokenResponse?> TokenAsync(OAuthClient client, Dictionary<string, string?> form, CancellationToken cancellationToken)
    {
        using var response = await PostFormAsync(client, client.TokenEndpoint, form, cancellationToken);
        if ((int)response.StatusCode is >= 400 and < 500)
        {
            return null;
        }
        response.EnsureSuccessStatusCode();
        var tokens = await response.Content.ReadFromJsonAsync<TokenResponse>(cancellationToken);
        return tokens is { AccessToken.Length: > 0 } ? tokens : throw new HttpRequestException("The token response carries no access_token.");
    }

    /// <summary>A form POST as this client: public clients send client_id, confidential ones authenticate with HTTP Basic (RFC 6749 §2.3.1).</summary>
    private async Task<HttpResponseMessage> PostFormAsync(OAuthClient client, Uri endpoint, Dictionary<string, string?> form, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint);
        if (client.ClientSecret is { } secret)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes($"{WebUtility.UrlEncode(client.ClientId)}:{WebUtility.UrlEncode(secret)}")));
        }
        else
        {
            form["client_id"] = client.ClientId;
        }
        request.Content = new FormUrlEncodedContent(form.Where(f => f.Value is not null)!);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(15));
        return await http.Client.SendAsync(request, timeout.Token);
    }

    private async Task<PendingAuthorization?> PendingAsync(string state, bool remove)
    {
        if (state.Length is 0 or > 100)
        {
            return null;
        }
        var db = redis.GetDatabase();
        var value = remove ? await db.StringGetDeleteAsync(PendingKey(state)) : await db.StringGetAsync(PendingKey(state));
        return value.IsNullOrEmpty ? null
            : JsonSerializer.Deserialize<PendingAuthorization>(box.Open((byte[])value!, box.CurrentVersion, Encoding.UTF8.GetBytes(state)), Json);
    }

    private DateTimeOffset? ExpiresAt(TokenResponse tokens) => tokens.ExpiresIn is > 0 and { } seconds ? time.GetUtcNow().AddSeconds(seconds) : null;

    private static RedisKey PendingKey(string state) => "mcp:oauth:pending:" + state;

    private static string Base64Url(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    private sealed record TokenResponse(
        [property: JsonPropertyName("access_token")] string AccessToken,
        [property: JsonPropertyName("refresh_token")] string? RefreshToken,
        [property: JsonPropertyName("expires_in")] long? ExpiresIn);

    [LoggerMessage(EventId = 7301, Level = LogLevel.Information, Message = "Registered the gateway as an OAuth client of {Issuer} for MCP server {Server}")]
    private static partial void LogRegistered(ILogger logger, string server, string issuer);

    [LoggerMessage(EventId = 7302, Level = LogLevel.Information, Message = "Renewing a user's token for MCP server {Server}: {Renewed}")]
    private static partial void LogRenewed(ILogger logger, Guid server, bool renewed);

    [LoggerMessage(EventId = 7303, Level = LogLevel.Warning, Message = "Revoking a removed account's token at the authorization server of MCP server {Server} failed: {Reason}")]
    private static partial void LogRevokeFailed(ILogger logger, Guid server, string reason);
}

public sealed class OAuthFlowException(string message) : Exception(message);
