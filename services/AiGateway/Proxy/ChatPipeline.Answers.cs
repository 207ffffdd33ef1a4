using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;
using ThinkWatch.AiGateway.Accounting;
using ThinkWatch.AiGateway.Conversion;
using ThinkWatch.AiGateway.Routing;
using ThinkWatch.AiGateway.Streaming;

namespace ThinkWatch.AiGateway.Proxy;

public sealed partial class ChatPipeline
{
    private static async Task StartEventStreamAsync(HttpContext context)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.StartAsync(context.RequestAborted);
    }

    /// <summary>A whole JSON answer (never a stream's body: those are read as they come).</summary>
    private static async Task<(byte[] Bytes, JsonObject Body)> ReadAnswerAsync(UpstreamRoute route, HttpResponseMessage upstream, CancellationToken cancellationToken)
    {
        var bytes = await upstream.Content.ReadAsByteArrayAsync(cancellationToken);
        try
        {
            return (bytes, JsonNode.Parse(bytes) as JsonObject ?? throw new JsonException("not an object"));
        }
        catch (JsonException)
        {
            throw new GatewayException(new GatewayError(ErrorKind.Api, $"The provider '{route.Provider.Name}' answered with something that is not JSON."));
        }
    }

    /// <summary>Streams come as server-sent events (or Bedrock's event stream); some OpenAI-compatible servers ignore "stream" and answer in JSON.</summary>
    private static bool AnsweredWithJson(HttpResponseMessage upstream) =>
        upstream.Content.Headers.ContentType?.MediaType is { } type
        && (type.Equals("application/json", StringComparison.OrdinalIgnoreCase) || type.EndsWith("+json", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// A streaming request the upstream answered with one JSON body: the client still gets the stream
    /// it asked for, in its API's event sequence, replayed from the whole answer.
    /// </summary>
    private async Task ReplayAsStreamAsync(HttpContext context, ClientFormat format, UpstreamRoute route, Call call, HttpResponseMessage upstream,
        CancellationToken cancellationToken, UsageMeter meter)
    {
        var (_, body) = await ReadAnswerAsync(route, upstream, cancellationToken);
        meter.Reported = route.Codec.UsageOf(body);
        // Whole before the first byte goes out: an answer that cannot be streamed is still a clean 502.
        var events = ResponseEvents.Of(route.Codec.ParseResponse(body)).ToList();
        LogAnsweredWithJson(logger, route.Provider.Name);
        await StartEventStreamAsync(context);
        var encoder = ClientCodecOf(format).CreateEncoder(call.ClientModel, time.GetUtcNow().ToUnixTimeSeconds(), call.ClientWantsUsage);
        meter.FirstToken();
        Drain(events, encoder, context.Response.BodyWriter, meter);
        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    [LoggerMessage(EventId = 4208, Level = LogLevel.Information, Message = "Provider {Provider} answered a streaming request with plain JSON; replayed to the client as a stream")]
    private static partial void LogAnsweredWithJson(ILogger logger, string provider);
}
