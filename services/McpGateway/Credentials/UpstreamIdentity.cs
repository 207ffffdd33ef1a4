using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using ThinkWatch.McpGateway.Upstream;

namespace ThinkWatch.McpGateway.Credentials;

/// <summary>
/// Who a user's upstream token belongs to, for display (`@octocat`): the token itself when it is a JWT naming its user, else the
/// userinfo endpoint (OpenID's, or a provider's "current user" URL such as GitHub's /user) through the SSRF-guarded client.
/// Nothing is decided on it. Used for pasted tokens and OAuth tokens alike.
/// </summary>
public sealed class UpstreamIdentity(GuardedHttp http)
{
    public async Task<string?> OfAsync(string token, Uri? userinfoEndpoint, CancellationToken cancellationToken) =>
        FromJwt(token) ?? await FromUserinfoAsync(userinfoEndpoint, token, cancellationToken);

    /// <summary>Who the token says it is (`@octocat`), when it is a JWT naming its user; nothing is verified or trusted beyond display.</summary>
    private static string? FromJwt(string token)
    {
        if (token.Count(c => c == '.') != 2)
        {
            return null;
        }
        try
        {
            var jwt = new JsonWebToken(token);
            foreach (var claim in new[] { "preferred_username", "login", "username", "email", "sub" })
            {
                if (jwt.TryGetPayloadValue<string>(claim, out var value) && value is { Length: > 0 })
                {
                    return claim is "email" or "sub" ? value : "@" + value;
                }
            }
        }
        catch (ArgumentException)
        {
            // Not a JWT after all: opaque tokens name nobody.
        }
        return null;
    }

    /// <summary>
    /// Who a token belongs to upstream (`@octocat`), from an OpenID userinfo endpoint or a provider's "current user" URL (GitHub's
    /// /user); null when there is none or it says nothing usable. Display only: nothing is decided on it.
    /// </summary>
    private async Task<string?> FromUserinfoAsync(Uri? endpoint, string accessToken, CancellationToken cancellationToken)
    {
        if (endpoint is null)
        {
            return null;
        }
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, endpoint);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
            using var response = await http.Client.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return null;
            }
            var info = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
            foreach (var claim in new[] { "preferred_username", "login", "username" })
            {
                if (info.TryGetProperty(claim, out var value) && value.GetString() is { Length: > 0 } name)
                {
                    return "@" + name;
                }
            }
            foreach (var claim in new[] { "email", "name", "sub" })
            {
                if (info.TryGetProperty(claim, out var value) && value.ValueKind is JsonValueKind.String or JsonValueKind.Number)
                {
                    return value.ToString();
                }
            }
            return null;
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or InvalidOperationException)
        {
            return null;
        }
    }
}
