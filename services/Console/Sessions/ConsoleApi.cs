using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Components.Authorization;
using ThinkWatch.Console.Forwarding;

namespace ThinkWatch.Console.Sessions;

/// <summary>
/// What pages use to read and write: the same public /api areas scripts use, sent straight to the owning service
/// with the signed-in session's access token (refreshed server-side). Errors come back as values with the API's
/// field errors, for the page to show next to its fields.
/// </summary>
public sealed class ConsoleApi(IHttpClientFactory clients, ServiceAddresses addresses, ConsoleTokens tokens, AuthenticationStateProvider authentication)
{
    public const string ClientName = "console-api";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public Task<ApiResult<T>> GetAsync<T>(string path, CancellationToken cancellationToken = default) =>
        SendAsync<T>(HttpMethod.Get, path, null, signedIn: true, cancellationToken);

    public Task<ApiResult<T>> PostAsync<T>(string path, object? body, CancellationToken cancellationToken = default) =>
        SendAsync<T>(HttpMethod.Post, path, body, signedIn: true, cancellationToken);

    /// <summary>A call without a session (setup, sign-in).</summary>
    public Task<ApiResult<T>> PostAnonymousAsync<T>(string path, object? body, CancellationToken cancellationToken = default) =>
        SendAsync<T>(HttpMethod.Post, path, body, signedIn: false, cancellationToken);

    public Task<ApiResult<T>> GetAnonymousAsync<T>(string path, CancellationToken cancellationToken = default) =>
        SendAsync<T>(HttpMethod.Get, path, null, signedIn: false, cancellationToken);

    private async Task<ApiResult<T>> SendAsync<T>(HttpMethod method, string path, object? body, bool signedIn, CancellationToken cancellationToken)
    {
        if (ApiAreas.OwnerOf(path.Split('?')[0]) is not { } service || addresses.Of(service) is not { } address)
        {
            return ApiResult<T>.Failed(HttpStatusCode.ServiceUnavailable, $"The service behind {path} is not configured here.");
        }
        using var request = new HttpRequestMessage(method, address + path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, options: Json);
        }
        if (signedIn)
        {
            var user = (await authentication.GetAuthenticationStateAsync()).User;
            if (user.FindFirst(BrowserSessionStore.SessionKeyClaim)?.Value is not { } key
                || await tokens.AccessTokenAsync(key, cancellationToken) is not { } token)
            {
                return ApiResult<T>.Failed(HttpStatusCode.Unauthorized, "Your session has ended; sign in again.");
            }
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        try
        {
            using var http = clients.CreateClient(ClientName);
            using var response = await http.SendAsync(request, cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                var value = response.StatusCode == HttpStatusCode.NoContent || typeof(T) == typeof(NoBody)
                    ? default
                    : await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken);
                return ApiResult<T>.Ok(value!, response.StatusCode);
            }
            return await ApiResult<T>.FromProblemAsync(response, cancellationToken);
        }
        catch (HttpRequestException)
        {
            return ApiResult<T>.Failed(HttpStatusCode.BadGateway, $"The {service} service could not be reached.");
        }
    }
}

/// <summary>For calls whose answer has no body worth reading.</summary>
public sealed record NoBody;

/// <summary>An API answer: the value, or the problem with its field errors (keys as the API names them, e.g. "apiKey.name").</summary>
public sealed class ApiResult<T>
{
    public T? Value { get; private init; }
    public HttpStatusCode Status { get; private init; }
    public string? Problem { get; private init; }
    public IReadOnlyDictionary<string, string[]> FieldErrors { get; private init; } = new Dictionary<string, string[]>();
    public bool Succeeded => (int)Status is >= 200 and < 300;

    public static ApiResult<T> Ok(T value, HttpStatusCode status) => new() { Value = value, Status = status };

    public static ApiResult<T> Failed(HttpStatusCode status, string problem) => new() { Status = status, Problem = problem };

    /// <summary>The first error the API gave for <paramref name="field"/> (case-insensitive), if any.</summary>
    public string? ErrorFor(string field) => FieldErrors.TryGetValue(field, out var messages) && messages.Length > 0 ? string.Join(" ", messages) : null;

    public static async Task<ApiResult<T>> FromProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        string? problem = null;
        try
        {
            var document = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
            if (document.ValueKind == JsonValueKind.Object)
            {
                problem = document.TryGetProperty("detail", out var detail) && detail.ValueKind == JsonValueKind.String ? detail.GetString()
                    : document.TryGetProperty("title", out var title) && title.ValueKind == JsonValueKind.String ? title.GetString() : null;
                if (document.TryGetProperty("errors", out var fields) && fields.ValueKind == JsonValueKind.Object)
                {
                    foreach (var field in fields.EnumerateObject())
                    {
                        errors[field.Name] = [.. field.Value.EnumerateArray().Select(m => m.GetString() ?? "")];
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Not a problem document: the status says enough.
        }
        return new ApiResult<T> { Status = response.StatusCode, Problem = problem ?? response.ReasonPhrase, FieldErrors = errors };
    }
}
