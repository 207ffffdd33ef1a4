using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using ThinkWatch.AiGateway.Conversion;
using ThinkWatch.AiGateway.Keys;
using ThinkWatch.AiGateway.Routing;
using ThinkWatch.AiGateway.Streaming;
using ThinkWatch.Contracts.Identity.V1;
using ThinkWatch.Contracts.Providers;

namespace ThinkWatch.AiGateway.Proxy;

/// <summary>The API format a client speaks to the gateway.</summary>
public enum ClientFormat { OpenAiChat, Anthropic }

/// <summary>
/// One chat request from client to upstream and back: key, body, model, route, then either
/// pass-through (same format: bytes forwarded as they come, inspected only for usage) or
/// conversion through the canonical model, streaming or not.
/// </summary>
public sealed partial class ChatPipeline(
    KeyAuthenticator keys, ProviderCatalog catalog, UpstreamHttp http, IOptions<AiGatewayOptions> options, TimeProvider time, ILogger<ChatPipeline> logger)
{
    public async Task HandleAsync(HttpContext context, ClientFormat format)
    {
        try
        {
            await RunAsync(context, format);
        }
        catch (GatewayException ex) when (!context.Response.HasStarted)
        {
            await WriteErrorAsync(context, format, ex.Error);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            LogClientLeft(logger, context.Request.Path);
        }
    }

    private async Task RunAsync(HttpContext context, ClientFormat format)
    {
        var aborted = context.RequestAborted;
        var principal = await AuthenticateAsync(context.Request, aborted);
        var bytes = await RequestBody.ReadAsync(context.Request, options.Value.MaxRequestBodyBytes, aborted);
        var body = RequestBody.ParseObject(bytes);
        var model = JsonRead.RequiredString(body, "model", "");
        if (!ModelPatterns.Allows(principal.AllowedModels, model))
        {
            throw new GatewayException(new GatewayError(ErrorKind.Permission, $"This API key may not use the model '{model}'.", "model"));
        }
        var routes = ModelRouter.Resolve(model, await catalog.GetAsync(aborted));
        if (routes.Count == 0)
        {
            throw new GatewayException(new GatewayError(ErrorKind.NotFound, $"The model '{model}' does not exist or no provider serves it.", "model"));
        }
        var route = routes[0];
        var call = Prepare(format, route, model, body, bytes);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        timeout.CancelAfter(options.Value.UpstreamIdleTimeout);
        using var upstreamRequest = UpstreamRequests.Chat(route, call.Body, context.Request);
        using var upstream = await SendAsync(upstreamRequest, route, timeout.Token, aborted);
        if (!upstream.IsSuccessStatusCode)
        {
            throw new GatewayException(await UpstreamErrors.ReadAsync(upstream, route, timeout.Token));
        }
        if (call.Stream)
        {
            await StreamAsync(context, format, route, call, upstream, timeout);
        }
        else
        {
            await RespondAsync(context, format, route, call, upstream, timeout.Token);
        }
    }

    private async Task<Principal> AuthenticateAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var presented = request.Headers.Authorization.ToString() is { } auth && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? auth[7..].Trim()
            : request.Headers["x-api-key"].ToString();
        if (string.IsNullOrEmpty(presented))
        {
            throw new GatewayException(new GatewayError(ErrorKind.Authentication, "Missing API key: send 'Authorization: Bearer tw-…' or 'x-api-key: tw-…'."));
        }
        ValidateKeyResponse answer;
        try
        {
            answer = await keys.AuthenticateAsync(presented, cancellationToken);
        }
        catch (Grpc.Core.RpcException ex) when (ex.StatusCode != Grpc.Core.StatusCode.Cancelled)
        {
            throw new GatewayException(new GatewayError(ErrorKind.Overloaded, "The gateway cannot check API keys right now; try again shortly."));
        }
        return answer.Principal ?? throw new GatewayException(new GatewayError(
            answer.Rejection.Reason == RejectionReason.WrongSurface ? ErrorKind.Permission : ErrorKind.Authentication, answer.Rejection.Message));
    }

    /// <summary>What goes upstream, and how to read what comes back.</summary>
    private sealed record Call(byte[] Body, bool Stream, bool ClientWantsUsage, bool PassThrough, string ClientModel);

    private Call Prepare(ClientFormat format, UpstreamRoute route, string model, JsonObject body, byte[] original)
    {
        var passThrough = (format, route.Format) is (ClientFormat.OpenAiChat, UpstreamFormat.OpenAiChat) or (ClientFormat.Anthropic, UpstreamFormat.Anthropic);
        if (passThrough)
        {
            var stream = JsonRead.Bool(body, "stream", "") ?? false;
            var changed = false;
            var wantsUsage = stream;
            if (format == ClientFormat.OpenAiChat && stream)
            {
                // Usage is needed for accounting: asked for upstream, and removed again if the client did not ask.
                wantsUsage = JsonRead.Object(body, "stream_options", "") is { } so && JsonRead.Bool(so, "include_usage", "stream_options") == true;
                if (!wantsUsage)
                {
                    body["stream_options"] = new JsonObject { ["include_usage"] = true };
                    changed = true;
                }
            }
            if (route.UpstreamModel != model)
            {
                body["model"] = route.UpstreamModel;
                changed = true;
            }
            return new Call(changed ? JsonWire.Bytes(body) : original, stream, wantsUsage, true, model);
        }
        var target = $"{UpstreamName(route.Format)} (provider '{route.Provider.Name}')";
        var request = format switch
        {
            ClientFormat.Anthropic => AnthropicMessages.ParseRequest(body, target),
            _ => OpenAiChat.ParseRequest(body, target),
        };
        var upstreamBody = route.Format switch
        {
            UpstreamFormat.Anthropic => AnthropicMessages.WriteRequest(request, route.UpstreamModel, target, options.Value.DefaultMaxTokens),
            _ => OpenAiChat.WriteRequest(request, route.UpstreamModel, target, legacyMaxTokens: route.Provider.Kind == ProviderKinds.OpenAiCompatible),
        };
        return new Call(JsonWire.Bytes(upstreamBody), request.Stream, request.StreamUsage, false, model);
    }

    private static string UpstreamName(UpstreamFormat format) => format == UpstreamFormat.Anthropic ? AnthropicMessages.Name : OpenAiChat.Name;

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, UpstreamRoute route, CancellationToken timeout, CancellationToken aborted)
    {
        try
        {
            return await http.SendAsync(request, timeout);
        }
        catch (HttpRequestException ex)
        {
            LogUpstreamUnreachable(logger, route.Provider.Name, ex.HttpRequestError);
            throw new GatewayException(new GatewayError(ErrorKind.Api, $"The provider '{route.Provider.Name}' could not be reached."));
        }
        catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
        {
            throw new GatewayException(new GatewayError(ErrorKind.UpstreamTimeout, $"The provider '{route.Provider.Name}' did not answer in time."));
        }
    }

    private async Task RespondAsync(HttpContext context, ClientFormat format, UpstreamRoute route, Call call, HttpResponseMessage upstream, CancellationToken cancellationToken)
    {
        var bytes = await upstream.Content.ReadAsByteArrayAsync(cancellationToken);
        if (!call.PassThrough)
        {
            JsonObject body;
            try
            {
                body = JsonNode.Parse(bytes) as JsonObject ?? throw new JsonException("not an object");
            }
            catch (JsonException)
            {
                throw new GatewayException(new GatewayError(ErrorKind.Api, $"The provider '{route.Provider.Name}' answered with something that is not JSON."));
            }
            var response = route.Format == UpstreamFormat.Anthropic ? AnthropicMessages.ParseResponse(body) : OpenAiChat.ParseResponse(body);
            var converted = format == ClientFormat.Anthropic
                ? AnthropicMessages.WriteResponse(response, call.ClientModel)
                : OpenAiChat.WriteResponse(response, call.ClientModel, time.GetUtcNow().ToUnixTimeSeconds());
            bytes = JsonWire.Bytes(converted);
        }
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted);
    }

    private async Task StreamAsync(HttpContext context, ClientFormat format, UpstreamRoute route, Call call, HttpResponseMessage upstream, CancellationTokenSource timeout)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.StartAsync(context.RequestAborted);

        StreamDecoder decoder = route.Format == UpstreamFormat.Anthropic ? new AnthropicDecoder() : new OpenAiChatDecoder();
        StreamEncoder? encoder = call.PassThrough ? null
            : format == ClientFormat.Anthropic ? new AnthropicEncoder(call.ClientModel)
            : new OpenAiChatEncoder(call.ClientModel, time.GetUtcNow().ToUnixTimeSeconds(), call.ClientWantsUsage);
        var events = new List<StreamEvent>();
        var writer = response.BodyWriter;
        var idle = options.Value.UpstreamIdleTimeout;
        await using var upstreamBody = await upstream.Content.ReadAsStreamAsync(timeout.Token);
        var reader = PipeReader.Create(upstreamBody, new StreamPipeReaderOptions(bufferSize: 16 * 1024, minimumReadSize: 4 * 1024));
        var completed = false;
        try
        {
            while (true)
            {
                timeout.CancelAfter(idle);
                var result = await reader.ReadAsync(timeout.Token);
                var buffer = result.Buffer;
                while (Sse.TryReadEvent(ref buffer, out var raw))
                {
                    if (encoder is null)
                    {
                        var skip = false;
                        if (CarriesUsageOrEnd(raw, format))
                        {
                            var (name, data) = Sse.Parse(raw);
                            decoder.Decode(name, data, events);
                            // The usage-only chunk the gateway asked for on the client's behalf.
                            skip = !call.ClientWantsUsage && format == ClientFormat.OpenAiChat && data.Contains("\"choices\":[]", StringComparison.Ordinal);
                        }
                        if (!skip)
                        {
                            foreach (var segment in raw)
                            {
                                writer.Write(segment.Span);
                            }
                        }
                    }
                    else
                    {
                        var (name, data) = Sse.Parse(raw);
                        decoder.Decode(name, data, events);
                    }
                    completed |= Drain(events, encoder, writer);
                }
                reader.AdvanceTo(buffer.Start, buffer.End);
                await writer.FlushAsync(context.RequestAborted);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException || (ex is OperationCanceledException && !context.RequestAborted.IsCancellationRequested))
        {
            LogStreamBroken(logger, route.Provider.Name, ex.GetType().Name);
        }
        finally
        {
            await reader.CompleteAsync();
        }
        if (!completed)
        {
            // Cut short: a converted stream says so in the client's format; a forwarded one is aborted so the client cannot mistake it for a whole answer.
            if (encoder is null)
            {
                context.Abort();
                return;
            }
            encoder.Encode(new StreamFailed("api_error", $"The provider '{route.Provider.Name}' ended the stream early."), writer);
            await writer.FlushAsync(context.RequestAborted);
        }
    }

    /// <summary>Whether a forwarded event must be decoded: it may carry usage, or it ends the stream.</summary>
    private static bool CarriesUsageOrEnd(in ReadOnlySequence<byte> raw, ClientFormat format) => format == ClientFormat.Anthropic
        ? Sse.Contains(raw, "\"message_"u8)
        : Sse.Contains(raw, "\"usage\":{"u8) || Sse.Contains(raw, "[DONE]"u8);

    /// <summary>Encodes decoded events (conversion) and reports whether the upstream finished its stream.</summary>
    private static bool Drain(List<StreamEvent> events, StreamEncoder? encoder, IBufferWriter<byte> writer)
    {
        var completed = false;
        foreach (var e in events)
        {
            completed |= e is StreamCompleted;
            encoder?.Encode(e, writer);
        }
        events.Clear();
        return completed;
    }

    private static async Task WriteErrorAsync(HttpContext context, ClientFormat format, GatewayError error)
    {
        context.Response.StatusCode = error.Status;
        if (error.RetryAfter is { } retryAfter)
        {
            context.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        var body = format == ClientFormat.Anthropic ? AnthropicMessages.Error(error) : OpenAiChat.Error(error);
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(JsonWire.Bytes(body), context.RequestAborted);
    }

    [LoggerMessage(EventId = 4201, Level = LogLevel.Information, Message = "Client left before {Path} completed; the upstream call was cancelled")]
    private static partial void LogClientLeft(ILogger logger, PathString path);

    [LoggerMessage(EventId = 4202, Level = LogLevel.Warning, Message = "Provider {Provider} could not be reached ({Error})")]
    private static partial void LogUpstreamUnreachable(ILogger logger, string provider, HttpRequestError error);

    [LoggerMessage(EventId = 4203, Level = LogLevel.Warning, Message = "Stream from provider {Provider} broke off ({Reason})")]
    private static partial void LogStreamBroken(ILogger logger, string provider, string reason);
}
