using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using ThinkWatch.Console.Forwarding;

namespace ThinkWatch.Console.Sessions;

/// <summary>Identity's answer to a sign-in or refresh (the fields the console keeps).</summary>
public sealed record TokenAnswer(string AccessToken, DateTimeOffset ExpiresAt, string RefreshToken, SignedInUser User);

public sealed record SignedInUser(Guid Id, string Email, string DisplayName, string Role);

/// <summary>
/// The tokens of a browser session, read from its server-side ticket and refreshed there before they run out (the
/// browser never sees them). A refresh Identity refuses ends the browser session too.
/// </summary>
public sealed partial class ConsoleTokens(BrowserSessionStore store, IHttpClientFactory clients, ServiceAddresses addresses, TimeProvider time,
    IOptions<ConsoleOptions> options, ILogger<ConsoleTokens> logger)
{
    public const string AccessToken = "access_token";
    public const string RefreshToken = "refresh_token";
    public const string ExpiresAt = "expires_at";

    public static void Keep(AuthenticationProperties properties, TokenAnswer tokens) => properties.StoreTokens(
    [
        new AuthenticationToken { Name = AccessToken, Value = tokens.AccessToken },
        new AuthenticationToken { Name = RefreshToken, Value = tokens.RefreshToken },
        new AuthenticationToken { Name = ExpiresAt, Value = tokens.ExpiresAt.ToString("o", CultureInfo.InvariantCulture) },
    ]);

    /// <summary>A current access token of the session <paramref name="sessionKey"/>, or null when the session has ended.</summary>
    public async Task<string?> AccessTokenAsync(string sessionKey, CancellationToken cancellationToken)
    {
        var gate = store.LockOf(sessionKey);
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (await store.RetrieveAsync(sessionKey) is not { } ticket || ticket.Properties.GetTokenValue(AccessToken) is not { } access)
            {
                return null;
            }
            var expires = DateTimeOffset.Parse(ticket.Properties.GetTokenValue(ExpiresAt) ?? "0001-01-01T00:00:00Z", CultureInfo.InvariantCulture);
            if (expires - time.GetUtcNow() > options.Value.RefreshAhead)
            {
                return access;
            }
            if (await RefreshAsync(ticket.Properties.GetTokenValue(RefreshToken), cancellationToken) is not { } fresh)
            {
                await store.RemoveAsync(sessionKey);
                return null;
            }
            Keep(ticket.Properties, fresh);
            await store.RenewAsync(sessionKey, ticket);
            return fresh.AccessToken;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>The access token a session holds now (for sign-out), without refreshing it.</summary>
    public async Task<string?> CurrentAccessTokenAsync(string sessionKey) =>
        (await store.RetrieveAsync(sessionKey))?.Properties.GetTokenValue(AccessToken);

    private async Task<TokenAnswer?> RefreshAsync(string? refreshToken, CancellationToken cancellationToken)
    {
        if (refreshToken is null || addresses.Of("identity") is not { } identity)
        {
            return null;
        }
        using var http = clients.CreateClient(ConsoleApi.ClientName);
        using var response = await http.PostAsJsonAsync($"{identity}/api/auth/refresh", new { refreshToken }, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            LogRefreshRefused(logger, (int)response.StatusCode);
            return null;
        }
        return await response.Content.ReadFromJsonAsync<TokenAnswer>(ConsoleApi.Json, cancellationToken);
    }

    [LoggerMessage(EventId = 1901, Level = LogLevel.Information, Message = "Identity refused to refresh a browser session ({Status}); the session ends")]
    private static partial void LogRefreshRefused(ILogger logger, int status);
}
