using System.Net.Http.Headers;
using Microsoft.Extensions.Options;
using ThinkWatch.Security;

namespace ThinkWatch.Testing;

/// <summary>Console tokens as Identity issues them (same signing key), for calling a service's /api directly.</summary>
public static class ConsoleTokens
{
    public static string Issue(string role, Guid? userId = null, TimeProvider? time = null) =>
        new ConsoleTokenIssuer(Options.Create(new ConsoleAuthOptions { SigningKey = TestSecrets.SigningKey }), time ?? TimeProvider.System)
            .Issue(userId ?? Guid.NewGuid(), $"{role}@example.com", role, Guid.NewGuid()).Token;

    /// <summary>Sets a console token for <paramref name="role"/> on <paramref name="http"/> and returns it.</summary>
    public static HttpClient SignedIn(this HttpClient http, string role, Guid? userId = null, TimeProvider? time = null)
    {
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Issue(role, userId, time));
        return http;
    }
}
