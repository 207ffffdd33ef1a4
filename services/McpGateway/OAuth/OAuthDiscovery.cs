using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using ThinkWatch.McpGateway.Servers;
using ThinkWatch.McpGateway.Upstream;

namespace ThinkWatch.McpGateway.OAuth;

/// <summary>RFC 9728 protected resource metadata (the fields the gateway uses).</summary>
public sealed record ProtectedResourceMetadata(
    [property: JsonPropertyName("resource")] string? Resource,
    [property: JsonPropertyName("authorization_servers")] string[]? AuthorizationServers,
    [property: JsonPropertyName("scopes_supported")] string[]? ScopesSupported);

/// <summary>RFC 8414 / OpenID Connect discovery metadata (the fields the gateway uses).</summary>
public sealed record AuthorizationServerMetadata(
    [property: JsonPropertyName("issuer")] string? Issuer,
    [property: JsonPropertyName("authorization_endpoint")] string? AuthorizationEndpoint,
    [property: JsonPropertyName("token_endpoint")] string? TokenEndpoint,
    [property: JsonPropertyName("registration_endpoint")] string? RegistrationEndpoint,
    [property: JsonPropertyName("revocation_endpoint")] string? RevocationEndpoint,
    [property: JsonPropertyName("userinfo_endpoint")] string? UserinfoEndpoint,
    [property: JsonPropertyName("code_challenge_methods_supported")] string[]? CodeChallengeMethodsSupported,
    [property: JsonPropertyName("token_endpoint_auth_methods_supported")] string[]? TokenEndpointAuthMethodsSupported,
    [property: JsonPropertyName("scopes_supported")] string[]? ScopesSupported);

/// <summary>What discovery found: the authorization server, the resource to ask tokens for (RFC 8707), the scopes to ask.</summary>
public sealed record Discovered(AuthorizationServerMetadata Server, string Resource, string? Scopes)
{
    /// <summary>
    /// The gateway's client of this authorization server for <paramref name="server"/>; where the metadata names no scopes or
    /// userinfo endpoint, the server's own (from its template) stand in.
    /// </summary>
    public OAuthClient ClientFor(McpServer server, string clientId, string? clientSecret, string registeredVia, DateTimeOffset at) => new(
        server.Id, Server.Issuer!, new Uri(Server.AuthorizationEndpoint!), new Uri(Server.TokenEndpoint!), Optional(Server.RevocationEndpoint),
        Optional(Server.UserinfoEndpoint) ?? server.UserinfoEndpoint, Resource, Scopes ?? server.Scopes, clientId, clientSecret, registeredVia, at);

    private static Uri? Optional(string? url) => url is null ? null : new Uri(url);
}

public sealed class OAuthDiscoveryException(string message) : Exception(message);

/// <summary>
/// Finds a server's authorization server the way the MCP authorization spec has clients do it:
/// an unauthenticated `initialize` → 401 with `WWW-Authenticate: Bearer resource_metadata=…`
/// (else the RFC 9728 well-known URL, path-aware, then at the root) → the protected resource
/// metadata's authorization server → its RFC 8414 metadata (path-aware), else OpenID discovery.
/// Servers without protected resource metadata (2025-03-26) have their origin as issuer.
/// Every fetch goes through the SSRF guard; the metadata must name the issuer and resource asked for.
/// </summary>
public sealed partial class OAuthDiscovery(GuardedHttp http)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [GeneratedRegex("(\\w+)=\"([^\"]*)\"")]
    private static partial Regex AuthParam();

    public async Task<Discovered> DiscoverAsync(McpServer server, CancellationToken cancellationToken)
    {
        var challenge = await ChallengeAsync(server.Url, cancellationToken);
        var prm = await ProtectedResourceAsync(server.Url, challenge.GetValueOrDefault("resource_metadata"), cancellationToken);
        if (prm?.Resource is { } named && !SameResource(named, server.Url))
        {
            throw new OAuthDiscoveryException($"The protected resource metadata names '{named}', not this server ({server.Url}).");
        }
        var issuer = prm?.AuthorizationServers?.FirstOrDefault() is { } first ? new Uri(first) : new Uri(server.Url.GetLeftPart(UriPartial.Authority));
        var metadata = await AuthorizationServerAsync(issuer, cancellationToken)
            ?? throw new OAuthDiscoveryException($"No OAuth authorization server metadata at {issuer} (RFC 8414 or OpenID discovery).");
        if (metadata.AuthorizationEndpoint is null || metadata.TokenEndpoint is null)
        {
            throw new OAuthDiscoveryException($"The authorization server {issuer} names no authorization or token endpoint.");
        }
        if (metadata.CodeChallengeMethodsSupported is { } methods && !methods.Contains("S256"))
        {
            throw new OAuthDiscoveryException($"The authorization server {issuer} does not support PKCE with S256.");
        }
        var scopes = challenge.GetValueOrDefault("scope") ?? (prm?.ScopesSupported is { Length: > 0 } s ? string.Join(' ', s) : null);
        return new Discovered(metadata, prm?.Resource ?? server.Url.ToString(), scopes);
    }

    /// <summary>The parameters of the server's Bearer challenge to an unauthenticated initialize (empty when it sends none).</summary>
    private async Task<Dictionary<string, string>> ChallengeAsync(Uri url, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent(
                """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"thinkwatch-mcp-gateway","version":"1.0"}}}""",
                Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await SendAsync(request, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Unauthorized)
        {
            return [];
        }
        var bearer = response.Headers.WwwAuthenticate.FirstOrDefault(h => h.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))?.Parameter ?? "";
        return AuthParam().Matches(bearer).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value, StringComparer.OrdinalIgnoreCase);
    }

    private async Task<ProtectedResourceMetadata?> ProtectedResourceAsync(Uri server, string? announced, CancellationToken cancellationToken)
    {
        var candidates = new List<Uri>();
        if (announced is not null && Uri.TryCreate(announced, UriKind.Absolute, out var url) && url.Scheme is "https" or "http")
        {
            candidates.Add(url);
        }
        var path = server.AbsolutePath.TrimEnd('/');
        if (path.Length > 0)
        {
            candidates.Add(new Uri(server, "/.well-known/oauth-protected-resource" + path));
        }
        candidates.Add(new Uri(server, "/.well-known/oauth-protected-resource"));
        return await FirstAsync<ProtectedResourceMetadata>(candidates, _ => true, cancellationToken);
    }

    private async Task<AuthorizationServerMetadata?> AuthorizationServerAsync(Uri issuer, CancellationToken cancellationToken)
    {
        var path = issuer.AbsolutePath.TrimEnd('/');
        Uri[] candidates = path.Length > 0
            ? [
                new Uri(issuer, "/.well-known/oauth-authorization-server" + path),
                new Uri(issuer, "/.well-known/openid-configuration" + path),
                new Uri(issuer.GetLeftPart(UriPartial.Authority) + path + "/.well-known/openid-configuration"),
            ]
            : [new Uri(issuer, "/.well-known/oauth-authorization-server"), new Uri(issuer, "/.well-known/openid-configuration")];
        return await FirstAsync<AuthorizationServerMetadata>(candidates, m => m.Issuer is { } named && SameResource(named, issuer), cancellationToken);
    }

    /// <summary>The first candidate that answers 200 with metadata passing <paramref name="valid"/>.</summary>
    private async Task<T?> FirstAsync<T>(IEnumerable<Uri> candidates, Func<T, bool> valid, CancellationToken cancellationToken) where T : class
    {
        foreach (var candidate in candidates)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, candidate);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            using var response = await SendAsync(request, cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                try
                {
                    if (await response.Content.ReadFromJsonAsync<T>(cancellationToken) is { } found && valid(found))
                    {
                        return found;
                    }
                }
                catch (JsonException)
                {
                    // Not metadata: try the next place.
                }
            }
        }
        return null;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            return await http.Client.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new OAuthDiscoveryException($"{request.RequestUri} could not be fetched: {ex.Message}");
        }
    }

    /// <summary>URLs equal up to a trailing slash and the case of scheme and host.</summary>
    public static bool SameResource(string named, Uri expected) =>
        Uri.TryCreate(named, UriKind.Absolute, out var uri)
        && Uri.Compare(new Uri(uri.ToString().TrimEnd('/')), new Uri(expected.ToString().TrimEnd('/')), UriComponents.SchemeAndServer | UriComponents.PathAndQuery,
            UriFormat.Unescaped, StringComparison.Ordinal) == 0;
}
