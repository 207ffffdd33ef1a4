using System.Text.Json.Nodes;
using Microsoft.Extensions.Primitives;
using ThinkWatch.AiGateway.Conversion;
using ThinkWatch.AiGateway.Routing;
using ThinkWatch.Contracts.Identity.V1;

namespace ThinkWatch.AiGateway.Proxy;

/// <summary>When a request asks to be explained instead of sent.</summary>
public static class Explainer
{
    public const string Header = "X-ThinkWatch-Explain";

    /// <summary>POST /v1/explain, or any model endpoint with X-ThinkWatch-Explain: true.</summary>
    public static bool Wants(HttpContext context) =>
        context.Request.Path.StartsWithSegments("/v1/explain") || context.Request.Headers[Header] == "true";

    /// <summary>/v1/explain reads the body in the format ?api= names: chat (default), messages or responses.</summary>
    public static async Task HandleAsync(HttpContext context, ChatPipeline pipeline)
    {
        StringValues api = context.Request.Query["api"];
        ClientFormat? format = api.ToString() switch
        {
            "" or "chat" => ClientFormat.OpenAiChat,
            "messages" => ClientFormat.Anthropic,
            "responses" => ClientFormat.OpenAiResponses,
            _ => null,
        };
        if (format is null)
        {
            await ClientErrors.WriteAsync(context, ClientFormat.OpenAiChat, GatewayError.Invalid("'api' must be chat, messages or responses.", "api"));
            return;
        }
        await pipeline.HandleAsync(context, format.Value);
    }
}

public sealed partial class ChatPipeline
{
    /// <summary>
    /// How the request would go, without calling upstream: each route in the order it would be
    /// tried, with its breaker state, address, and the body it would receive (or why it would be refused).
    /// </summary>
    private async Task ExplainAsync(HttpContext context, ClientFormat format, Principal principal, string model, JsonObject body, byte[] bytes, IReadOnlyList<UpstreamRoute> routes)
    {
        var explained = new JsonArray();
        foreach (var route in routes)
        {
            var entry = new JsonObject
            {
                ["provider"] = route.Provider.Name,
                ["kind"] = route.Provider.Kind,
                ["upstream_model"] = route.UpstreamModel,
                ["upstream_format"] = route.Codec.Name,
                ["circuit"] = resilience.For(route.Provider).BreakerName,
            };
            try
            {
                var call = Prepare(format, route, model, body, bytes);
                entry["mode"] = call.PassThrough ? "forwarded" : "converted";
                entry["url"] = UpstreamRequests.UriOf(route, OperationOf(format), call.Stream).ToString();
                entry["request"] = JsonNode.Parse(call.Body);
            }
            catch (GatewayException ex)
            {
                entry["mode"] = "refused";
                entry["reason"] = ex.Error.Message;
            }
            explained.Add(entry);
        }
        long estimate;
        try
        {
            estimate = TokenEstimate.Of(ClientCodecOf(format).ParseRequest(body, "the gateway's token estimate"));
        }
        catch (GatewayException)
        {
            estimate = bytes.Length / 4;
        }
        var (limits, pricing) = await quota.ExplainAsync(principal, routes[0].Provider.Name, routes[0].UpstreamModel, estimate,
            MaxOutputTokens(body) is > 0 and var max ? max : options.Value.DefaultMaxTokens, context.RequestAborted);
        var answer = new JsonObject
        {
            ["object"] = "explanation",
            ["model"] = model,
            ["routes"] = explained,
            ["limits"] = limits,
            ["pricing"] = pricing,
        };
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(JsonWire.Bytes(answer), context.RequestAborted);
    }
}
