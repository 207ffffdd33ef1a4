using System.Text.Json;
using System.Text.Json.Nodes;
using ThinkWatch.AiGateway.Conversion;
using ThinkWatch.AiGateway.Routing;

namespace ThinkWatch.AiGateway.Proxy;

/// <summary>An upstream's error, told to the client in its own format with a status that means the same.</summary>
public static class UpstreamErrors
{
    private const int MaxErrorBody = 64 * 1024;

    public static async Task<GatewayError> ReadAsync(HttpResponseMessage upstream, UpstreamRoute route, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var status = (int)upstream.StatusCode;
        var message = await MessageAsync(upstream, cancellationToken);
        var provider = route.Provider.Name;
        var retryAfter = RetryAfter(upstream, now);
        return status switch
        {
            400 or 422 => new GatewayError(ErrorKind.InvalidRequest, message ?? "The provider refused the request.", UpstreamStatus: 400),
            401 or 403 => new GatewayError(ErrorKind.Api, $"The provider '{provider}' refused the gateway's credentials; an administrator must fix the provider."),
            404 => new GatewayError(ErrorKind.NotFound, message ?? $"The provider '{provider}' does not know this model."),
            413 => new GatewayError(ErrorKind.RequestTooLarge, message ?? "The provider found the request too large."),
            429 => new GatewayError(ErrorKind.RateLimited, message ?? $"The provider '{provider}' is rate limiting.", RetryAfter: retryAfter),
            503 or 529 => new GatewayError(ErrorKind.Overloaded, message ?? $"The provider '{provider}' is overloaded.", RetryAfter: retryAfter),
            504 => new GatewayError(ErrorKind.UpstreamTimeout, message ?? $"The provider '{provider}' timed out."),
            _ => new GatewayError(ErrorKind.Api, $"The provider '{provider}' failed ({status}){(message is null ? "." : ": " + message)}"),
        };
    }

    /// <summary>How long the upstream asked to wait (Retry-After as seconds or as a date), if it did.</summary>
    public static TimeSpan? RetryAfter(HttpResponseMessage upstream, DateTimeOffset now) => upstream.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - now,
        _ => null,
    };

    /// <summary>The message of an OpenAI- or Anthropic-shaped error body, if there is one.</summary>
    private static async Task<string?> MessageAsync(HttpResponseMessage upstream, CancellationToken cancellationToken)
    {
        await using var stream = await upstream.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[MaxErrorBody];
        var length = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
        try
        {
            // OpenAI, Anthropic and Gemini: {"error": {"message": …}}; Bedrock: {"message": …}.
            var body = JsonNode.Parse(buffer.AsSpan(0, length)) as JsonObject;
            return body?["error"] switch
            {
                JsonObject o => (string?)o["message"],
                JsonValue v => (string?)v,
                _ => (string?)body?["message"] ?? (string?)body?["Message"],
            };
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return null;
        }
    }
}
