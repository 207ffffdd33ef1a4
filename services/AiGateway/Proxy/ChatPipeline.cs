using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Polly.Timeout;
using ThinkWatch.AiGateway.Conversion;
using ThinkWatch.AiGateway.Keys;
using ThinkWatch.AiGateway.Models;
using ThinkWatch.AiGateway.Routing;
using ThinkWatch.AiGateway.Streaming;
using ThinkWatch.AiGateway.Accounting;
using ThinkWatch.Contracts.Identity.V1;
using ThinkWatch.Contracts.Providers;
using ThinkWatch.Security;

namespace ThinkWatch.AiGateway.Proxy;

/// <summary>The API a client calls on the gateway (errors are written in its shape: Anthropic's, or OpenAI's for the rest).</summary>
public enum ClientFormat { OpenAiChat, Anthropic, OpenAiResponses, OpenAiEmbeddings, AnthropicCountTokens }

/// <summary>
/// One chat request from client to upstream and back: key, body, model, route, then either
/// pass-through (same format: bytes forwarded as they come, inspected only for usage) or
/// conversion through the canonical model, streaming or not.
/// </summary>
public sealed partial class ChatPipeline(
    KeyAuthenticator keys, ProviderCatalog catalog, ModelCatalog models, UpstreamHttp http, UpstreamResilience resilience, IUsageSink usage, IQuotaGate quota, AccessLog access,
    IOptions<AiGatewayOptions> options, TimeProvider time, ILogger<ChatPipeline> logger)
{
    public async Task HandleAsync(HttpContext context, ClientFormat format)
    {
        var meter = new UsageMeter(time, context.Request.Path.Value ?? "");
        var status = StatusCodes.Status200OK;
        try
        {
            await RunAsync(context, format, meter);
            status = context.Response.StatusCode;
        }
        catch (GatewayException ex) when (!context.Response.HasStarted)
        {
            status = ex.Error.Status;
            access.Refused(context, ex.Error, meter.Principal);
            await ClientErrors.WriteAsync(context, format, ex.Error);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            status = 499; // client closed the request
            LogClientLeft(logger, context.Request.Path);
        }
        catch (Exception ex)
        {
            // A fault of ours: the client gets a 500 in its own shape (or a cut stream), the usage record says 500.
            status = StatusCodes.Status500InternalServerError;
            LogFailed(logger, ex, context.Request.Path);
            if (context.Response.HasStarted)
            {
                context.Abort();
            }
            else
            {
                await ClientErrors.WriteAsync(context, format, GatewayError.Fault());
            }
        }
        finally
        {
            if (meter.Build(status) is { } record)
            {
                usage.Record(record, meter.Ticket);
            }
        }
    }

    private async Task RunAsync(HttpContext context, ClientFormat format, UsageMeter meter)
    {
        var aborted = context.RequestAborted;
        var principal = meter.Principal = await keys.AuthenticateAsync(context.Request, aborted);
        meter.TagFrom(context.Request);
        var bytes = await RequestBody.ReadAsync(context.Request, options.Value.MaxRequestBodyBytes, aborted);
        meter.RequestBytes = bytes.Length;
        var body = RequestBody.ParseObject(bytes);
        meter.TagFrom(body);
        var model = meter.Model = RequestChecks.Check(format, body);
        if (!NamePatterns.Allows(principal.AllowedModels, model))
        {
            throw new GatewayException(new GatewayError(ErrorKind.Permission, $"This API key may not use the model '{model}'.", "model"));
        }
        var routes = ModelRouter.Resolve(model, await catalog.GetAsync(aborted), await models.GetAsync(aborted), Random.Shared);
        if (routes.Count == 0)
        {
            throw new GatewayException(new GatewayError(ErrorKind.NotFound, $"The model '{model}' does not exist or no provider serves it.", "model"));
        }
        if (Explainer.Wants(context))
        {
            meter.Billable = false; // nothing goes upstream
            await ExplainAsync(context, format, principal, model, body, bytes, routes);
            return;
        }
        if (format == ClientFormat.AnthropicCountTokens)
        {
            // Counting is free and uses no model: nothing to account. Only Anthropic counts; elsewhere the gateway estimates.
            meter.Billable = false;
            routes = [.. routes.Where(r => r.Format == UpstreamFormat.Anthropic)];
            if (routes.Count == 0)
            {
                await CountLocallyAsync(context, body);
                return;
            }
        }
        meter.Quota = await quota.AdmitAsync(principal, routes[0].Provider.Name, routes[0].UpstreamModel, bytes.Length / 4, MaxOutputTokens(body), context.Response, aborted);
        // Upstreams in order until one answers; nothing has reached the client until then, so failing over is safe.
        GatewayError? failure = null;
        foreach (var route in routes)
        {
            var call = Prepare(format, route, model, body, bytes);
            var (upstream, error) = await SendAsync(context, format, route, call);
            if (upstream is null)
            {
                failure = error;
                continue;
            }
            meter.Route = route;
            meter.Stream = call.Stream;
            using (upstream)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(aborted);
                timeout.CancelAfter(options.Value.UpstreamIdleTimeout);
                if (!upstream.IsSuccessStatusCode)
                {
                    failure = await UpstreamErrors.ReadAsync(upstream, route, time.GetUtcNow(), timeout.Token);
                    if (UpstreamResilience.IsRetryable(upstream))
                    {
                        LogFailover(logger, route.Provider.Name, (int)upstream.StatusCode);
                        continue;
                    }
                    throw new GatewayException(failure);
                }
                if (call.Stream && AnsweredWithJson(upstream))
                {
                    await ReplayAsStreamAsync(context, format, route, call, upstream, timeout.Token, meter);
                }
                else if (call.Stream)
                {
                    await StreamAsync(context, format, route, call, upstream, timeout, meter);
                }
                else
                {
                    await RespondAsync(context, format, route, call, upstream, timeout.Token, meter);
                }
                return;
            }
        }
        throw new GatewayException(failure!);
    }

    /// <summary>
    /// One upstream through its resilience pipeline (retries, breaker, time to first byte):
    /// its answer, or why there is none.
    /// </summary>
    private async Task<(HttpResponseMessage? Response, GatewayError? Error)> SendAsync(HttpContext context, ClientFormat format, UpstreamRoute route, Call call)
    {
        var aborted = context.RequestAborted;
        var health = resilience.For(route.Provider);
        var provider = route.Provider.Name;
        try
        {
            var response = await health.Pipeline.ExecuteAsync(async cancellationToken =>
            {
                using var request = UpstreamRequests.Create(route, OperationOf(format), call.Body, call.Stream, context.Request, time.GetUtcNow());
                var started = time.GetTimestamp();
                try
                {
                    var answer = await http.SendAsync(request, cancellationToken);
                    health.Record(time.GetElapsedTime(started), UpstreamResilience.IsFailure(Polly.Outcome.FromResult(answer)) ? $"HTTP {(int)answer.StatusCode}" : null, time.GetUtcNow());
                    return answer;
                }
                catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !aborted.IsCancellationRequested))
                {
                    health.Record(time.GetElapsedTime(started), ex is HttpRequestException h ? $"unreachable ({h.HttpRequestError})" : "no answer in time", time.GetUtcNow());
                    throw;
                }
            }, aborted);
            return (response, null);
        }
        catch (BrokenCircuitException)
        {
            LogSkippedOpen(logger, provider);
            return (null, new GatewayError(ErrorKind.Overloaded, $"The provider '{provider}' is failing and temporarily taken out of service; try again shortly."));
        }
        catch (HttpRequestException ex)
        {
            LogUpstreamUnreachable(logger, provider, ex.HttpRequestError);
            return (null, new GatewayError(ErrorKind.Api, $"The provider '{provider}' could not be reached."));
        }
        catch (TimeoutRejectedException)
        {
            LogUpstreamSilent(logger, provider);
            return (null, new GatewayError(ErrorKind.UpstreamTimeout, $"The provider '{provider}' did not answer in time."));
        }
    }

    /// <summary>What goes upstream, and how to read what comes back.</summary>
    private sealed record Call(byte[] Body, bool Stream, bool ClientWantsUsage, bool PassThrough, string ClientModel)
    {
        /// <summary>A forwarded answer names the upstream's model; the client asked for another name (an alias).</summary>
        public JsonEncodedText? Rename { get; init; }
    }

    private Call Prepare(ClientFormat format, UpstreamRoute route, string model, JsonObject body, byte[] original)
    {
        if (format == ClientFormat.OpenAiEmbeddings && route.Format != UpstreamFormat.OpenAiChat)
        {
            throw GatewayException.Unsupported("Embeddings", $"{route.Provider.Kind} (provider '{route.Provider.Name}')");
        }
        var passThrough = (format, route.Format) is (ClientFormat.OpenAiChat or ClientFormat.OpenAiEmbeddings, UpstreamFormat.OpenAiChat)
            or (ClientFormat.Anthropic or ClientFormat.AnthropicCountTokens, UpstreamFormat.Anthropic);
        if (passThrough)
        {
            var stream = JsonRead.Bool(body, "stream", "") ?? false;
            var wantsUsage = stream && (format == ClientFormat.Anthropic
                || (JsonRead.Object(body, "stream_options", "") is { } so && JsonRead.Bool(so, "include_usage", "stream_options") == true));
            // Usage is needed for accounting: asked for upstream, and removed again if the client did not ask.
            var addUsage = stream && !wantsUsage;
            if (!addUsage && route.UpstreamModel == model)
            {
                return new Call(original, stream, wantsUsage, true, model);
            }
            // A copy: the next upstream, if this one fails, starts from the client's request again.
            var changed = (JsonObject)body.DeepClone();
            if (addUsage)
            {
                changed["stream_options"] = new JsonObject { ["include_usage"] = true };
            }
            changed["model"] = route.UpstreamModel;
            return new Call(JsonWire.Bytes(changed), stream, wantsUsage, true, model)
            {
                Rename = route.UpstreamModel == model ? null : JsonEncodedText.Encode(model),
            };
        }
        var target = $"{route.Codec.Name} (provider '{route.Provider.Name}')";
        var request = ClientCodecOf(format).ParseRequest(body, target);
        var upstreamBody = route.Codec.WriteRequest(request, route.UpstreamModel, new UpstreamTarget(target, route.Provider.Kind, options.Value.DefaultMaxTokens));
        return new Call(JsonWire.Bytes(upstreamBody), request.Stream, request.StreamUsage, false, model);
    }

    /// <summary>The output cap the client set, in whichever API's name (0: none; Quota reserves its default).</summary>
    private static long MaxOutputTokens(JsonObject body) =>
        JsonRead.Integer(body, "max_tokens", "") ?? JsonRead.Integer(body, "max_completion_tokens", "") ?? JsonRead.Integer(body, "max_output_tokens", "") ?? 0;

    private static UpstreamOperation OperationOf(ClientFormat format) => format switch
    {
        ClientFormat.OpenAiEmbeddings => UpstreamOperation.Embeddings,
        ClientFormat.AnthropicCountTokens => UpstreamOperation.CountTokens,
        _ => UpstreamOperation.Chat,
    };

    /// <summary>count_tokens for a model no Anthropic upstream serves: the request is checked as a Messages request and its size estimated.</summary>
    private static async Task CountLocallyAsync(HttpContext context, JsonObject body)
    {
        var request = (JsonObject)body.DeepClone();
        request["max_tokens"] ??= 1; // count_tokens has none; the Messages parser insists
        var parsed = AnthropicMessages.ParseRequest(request, "the gateway's token estimate");
        context.Response.ContentType = "application/json";
        context.Response.Headers["X-ThinkWatch-Estimated"] = "true";
        await context.Response.Body.WriteAsync(JsonWire.Bytes(new JsonObject { ["input_tokens"] = TokenEstimate.Of(parsed) }), context.RequestAborted);
    }

    private static IClientCodec ClientCodecOf(ClientFormat format) => format switch
    {
        ClientFormat.Anthropic or ClientFormat.AnthropicCountTokens => AnthropicCodec.Instance,
        ClientFormat.OpenAiResponses => OpenAiResponsesCodec.Instance,
        _ => OpenAiChatCodec.Instance,
    };

    private async Task RespondAsync(HttpContext context, ClientFormat format, UpstreamRoute route, Call call, HttpResponseMessage upstream, CancellationToken cancellationToken, UsageMeter meter)
    {
        var (bytes, body) = await ReadAnswerAsync(route, upstream, cancellationToken);
        meter.Reported = route.Codec.UsageOf(body);
        if (!call.PassThrough)
        {
            var response = route.Codec.ParseResponse(body);
            bytes = JsonWire.Bytes(ClientCodecOf(format).WriteResponse(response, call.ClientModel, time.GetUtcNow().ToUnixTimeSeconds()));
        }
        else if (call.Rename is not null && body.ContainsKey("model"))
        {
            body["model"] = call.ClientModel;
            bytes = JsonWire.Bytes(body);
        }
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = bytes.Length;
        meter.OutputChars = bytes.Length / 2; // JSON framing discounted; only used when the upstream reports no usage
        meter.FirstToken();
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted);
    }

    private async Task StreamAsync(HttpContext context, ClientFormat format, UpstreamRoute route, Call call, HttpResponseMessage upstream, CancellationTokenSource timeout, UsageMeter meter)
    {
        var response = context.Response;
        await StartEventStreamAsync(context);

        var decoder = route.Codec.CreateDecoder();
        var encoder = call.PassThrough ? null : ClientCodecOf(format).CreateEncoder(call.ClientModel, time.GetUtcNow().ToUnixTimeSeconds(), call.ClientWantsUsage);
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
                if (encoder is null)
                {
                    while (Sse.TryReadEvent(ref buffer, out var raw))
                    {
                        Forward(raw, format, call, decoder, events, writer);
                        completed |= Drain(events, null, writer, meter);
                    }
                }
                else
                {
                    while (decoder.TryRead(ref buffer, events))
                    {
                        completed |= Drain(events, encoder, writer, meter);
                    }
                    if (result.IsCompleted)
                    {
                        decoder.EndOfStream(events);
                        completed |= Drain(events, encoder, writer, meter);
                    }
                }
                reader.AdvanceTo(buffer.Start, buffer.End);
                if (writer.CanGetUnflushedBytes && writer.UnflushedBytes > 0)
                {
                    meter.FirstToken();
                    if (encoder is null)
                    {
                        // Forwarded events are not decoded: SSE and JSON framing discounted, for an estimate only.
                        meter.OutputChars += writer.UnflushedBytes / 8;
                    }
                }
                await writer.FlushAsync(context.RequestAborted);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or JsonException || (ex is OperationCanceledException && !context.RequestAborted.IsCancellationRequested))
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

    /// <summary>
    /// A same-format event goes to the client as it came, decoded only when it may carry usage or
    /// end the stream; the usage-only chunk the gateway asked for on the client's behalf is dropped.
    /// </summary>
    private static void Forward(in ReadOnlySequence<byte> raw, ClientFormat format, Call call, StreamDecoder decoder, List<StreamEvent> events, IBufferWriter<byte> writer)
    {
        if (CarriesUsageOrEnd(raw, format))
        {
            var (name, data) = Sse.Parse(raw);
            decoder.Decode(name, data, events);
            if (!call.ClientWantsUsage && format == ClientFormat.OpenAiChat && data.Contains("\"choices\":[]", StringComparison.Ordinal))
            {
                return;
            }
        }
        if (call.Rename is { } rename && Sse.Contains(raw, "\"model\""u8) && ModelName.TryWriteRenamed(raw.IsSingleSegment ? raw.FirstSpan : raw.ToArray(), rename, writer))
        {
            return;
        }
        foreach (var segment in raw)
        {
            writer.Write(segment.Span);
        }
    }

    /// <summary>Whether a forwarded event must be decoded: it may carry usage, or it ends the stream.</summary>
    private static bool CarriesUsageOrEnd(in ReadOnlySequence<byte> raw, ClientFormat format) => format == ClientFormat.Anthropic
        ? Sse.Contains(raw, "\"message_"u8)
        : Sse.Contains(raw, "\"usage\":{"u8) || Sse.Contains(raw, "[DONE]"u8);

    /// <summary>Encodes decoded events (conversion), notes usage, and reports whether the upstream finished its stream.</summary>
    private static bool Drain(List<StreamEvent> events, StreamEncoder? encoder, IBufferWriter<byte> writer, UsageMeter meter)
    {
        var completed = false;
        foreach (var e in events)
        {
            switch (e)
            {
                case StreamCompleted:
                    completed = true;
                    break;
                case UsageReported reported:
                    meter.Reported = reported.Usage;
                    break;
                case StreamStarted { Usage: { } started }:
                    meter.Reported = started;
                    break;
                case BlockDelta delta:
                    meter.OutputChars += delta.Value.Length;
                    break;
            }
            encoder?.Encode(e, writer);
        }
        events.Clear();
        return completed;
    }

    [LoggerMessage(EventId = 4201, Level = LogLevel.Information, Message = "Client left before {Path} completed; the upstream call was cancelled")]
    private static partial void LogClientLeft(ILogger logger, PathString path);

    [LoggerMessage(EventId = 4202, Level = LogLevel.Warning, Message = "Provider {Provider} could not be reached ({Error})")]
    private static partial void LogUpstreamUnreachable(ILogger logger, string provider, HttpRequestError error);

    [LoggerMessage(EventId = 4204, Level = LogLevel.Warning, Message = "Provider {Provider} answered {Status}; trying the next upstream")]
    private static partial void LogFailover(ILogger logger, string provider, int status);

    [LoggerMessage(EventId = 4205, Level = LogLevel.Warning, Message = "Provider {Provider} skipped: its circuit breaker is open")]
    private static partial void LogSkippedOpen(ILogger logger, string provider);

    [LoggerMessage(EventId = 4206, Level = LogLevel.Warning, Message = "Provider {Provider} sent no answer in time")]
    private static partial void LogUpstreamSilent(ILogger logger, string provider);

    [LoggerMessage(EventId = 4207, Level = LogLevel.Error, Message = "Request to {Path} failed inside the gateway")]
    private static partial void LogFailed(ILogger logger, Exception exception, PathString path);

    [LoggerMessage(EventId = 4203, Level = LogLevel.Warning, Message = "Stream from provider {Provider} broke off ({Reason})")]
    private static partial void LogStreamBroken(ILogger logger, string provider, string reason);
}
