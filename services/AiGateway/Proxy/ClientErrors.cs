using ThinkWatch.AiGateway.Conversion;

namespace ThinkWatch.AiGateway.Proxy;

/// <summary>Errors in the shape the client's API uses, with the status and Retry-After that go with them.</summary>
public static class ClientErrors
{
    public static async Task WriteAsync(HttpContext context, ClientFormat format, GatewayError error)
    {
        context.Response.StatusCode = error.Status;
        if (error.RetryAfter is { } retryAfter)
        {
            context.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        var body = format is ClientFormat.Anthropic or ClientFormat.AnthropicCountTokens ? AnthropicMessages.Error(error) : OpenAiChat.Error(error);
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(JsonWire.Bytes(body), context.RequestAborted);
    }
}
