using System.Text.Json.Nodes;
using static ThinkWatch.AiGateway.Conversion.JsonRead;

namespace ThinkWatch.AiGateway.Conversion;

/// <summary>
/// AWS Bedrock Converse ⇄ the canonical conversation. Cache hints become cachePoint blocks,
/// signed reasoning travels as reasoningContent, and top_k and thinking go in
/// additionalModelRequestFields (as Anthropic models on Bedrock read them).
/// </summary>
public static class BedrockConverse
{
    public const string Name = "AWS Bedrock Converse";

    public static JsonObject WriteRequest(ChatRequest request, string upstream, int defaultMaxTokens)
    {
        if (request.Format is { Kind: not OutputFormatKind.Text })
        {
            throw GatewayException.Unsupported("A JSON response format", upstream);
        }
        if (request.ParallelToolCalls == false)
        {
            throw GatewayException.Unsupported("'parallel_tool_calls: false'", upstream);
        }
        var messages = new JsonArray();
        foreach (var message in request.Messages)
        {
            var blocks = new JsonArray();
            foreach (var part in message.Parts.OrderBy(p => p is ToolResultPart ? 0 : 1))
            {
                if (part is TextPart { Text.Length: 0 } || part is ThinkingPart { Signature: null, Redacted: null })
                {
                    continue; // reasoning without a signature cannot be replayed
                }
                blocks.Add(Block(part, upstream));
                if (part is TextPart { Cache: true } or ImagePart { Cache: true } or DocumentPart { Cache: true } or ToolResultPart { Cache: true })
                {
                    blocks.Add(CachePoint());
                }
            }
            if (blocks.Count > 0)
            {
                messages.Add(new JsonObject { ["role"] = message.Role == Role.User ? "user" : "assistant", ["content"] = blocks });
            }
        }
        var body = new JsonObject { ["messages"] = messages };
        if (request.System.Count > 0)
        {
            var system = new JsonArray();
            foreach (var part in request.System)
            {
                system.Add(part is TextPart t ? new JsonObject { ["text"] = t.Text } : throw GatewayException.Unsupported("A system prompt other than text", upstream));
                if (part is TextPart { Cache: true })
                {
                    system.Add(CachePoint());
                }
            }
            body["system"] = system;
        }
        var inference = new JsonObject { ["maxTokens"] = request.MaxTokens ?? defaultMaxTokens };
        Mapping.Set(inference, "temperature", request.Temperature);
        Mapping.Set(inference, "topP", request.TopP);
        if (request.Stop.Count > 0)
        {
            inference["stopSequences"] = new JsonArray([.. request.Stop.Select(s => (JsonNode)s)]);
        }
        body["inferenceConfig"] = inference;
        if (request.Tools.Count > 0)
        {
            var tools = new JsonArray();
            foreach (var t in request.Tools)
            {
                var spec = new JsonObject { ["name"] = t.Name, ["inputSchema"] = new JsonObject { ["json"] = t.Schema.DeepClone() } };
                if (t.Description is not null)
                {
                    spec["description"] = t.Description;
                }
                tools.Add(new JsonObject { ["toolSpec"] = spec });
                if (t.Cache)
                {
                    tools.Add(CachePoint());
                }
            }
            var config = new JsonObject { ["tools"] = tools };
            if (request.ToolChoice is { } choice)
            {
                config["toolChoice"] = choice.Kind switch
                {
                    ToolChoiceKind.Auto => new JsonObject { ["auto"] = new JsonObject() },
                    ToolChoiceKind.Required => new JsonObject { ["any"] = new JsonObject() },
                    ToolChoiceKind.Named => new JsonObject { ["tool"] = new JsonObject { ["name"] = choice.Name } },
                    _ => throw GatewayException.Unsupported("'tool_choice: none'", upstream),
                };
            }
            body["toolConfig"] = config;
        }
        var additional = new JsonObject();
        if (request.TopK is { } topK)
        {
            additional["top_k"] = topK;
        }
        if (request.Reasoning is { } reasoning)
        {
            additional["thinking"] = new JsonObject { ["type"] = "enabled", ["budget_tokens"] = reasoning.BudgetTokens ?? Mapping.BudgetFor(reasoning.Effort ?? "medium") };
        }
        if (additional.Count > 0)
        {
            body["additionalModelRequestFields"] = additional;
        }
        return body;
    }

    private static JsonObject CachePoint() => new() { ["cachePoint"] = new JsonObject { ["type"] = "default" } };

    private static JsonObject Block(Part part, string upstream) => part switch
    {
        TextPart t => new JsonObject { ["text"] = t.Text },
        ImagePart { Data: { } data } i => new JsonObject
        {
            ["image"] = new JsonObject { ["format"] = Format(i.MediaType!, ImageFormats, "An image", upstream), ["source"] = new JsonObject { ["bytes"] = data } },
        },
        DocumentPart { Data: { } data } d => new JsonObject
        {
            ["document"] = new JsonObject
            {
                ["format"] = Format(d.MediaType ?? "application/pdf", DocumentFormats, "A document", upstream),
                ["name"] = DocumentName(d.Title),
                ["source"] = new JsonObject { ["bytes"] = data },
            },
        },
        ImagePart or DocumentPart => throw GatewayException.Unsupported("An image or document by URL (send it inline as base64)", upstream),
        ToolCallPart call => new JsonObject
        {
            ["toolUse"] = new JsonObject { ["toolUseId"] = call.Id, ["name"] = call.Name, ["input"] = Mapping.ToolArguments(call.Arguments) },
        },
        ToolResultPart result => new JsonObject
        {
            ["toolResult"] = new JsonObject
            {
                ["toolUseId"] = result.CallId,
                ["content"] = new JsonArray([.. result.Content.Select(c => (JsonNode)(c is TextPart or ImagePart or DocumentPart
                    ? Block(c, upstream) : throw GatewayException.Unsupported("A tool result other than text, images or documents", upstream)))]),
                ["status"] = result.IsError ? "error" : "success",
            },
        },
        ThinkingPart { Redacted: { } data } => new JsonObject { ["reasoningContent"] = new JsonObject { ["redactedContent"] = data } },
        ThinkingPart thinking => new JsonObject
        {
            ["reasoningContent"] = new JsonObject { ["reasoningText"] = new JsonObject { ["text"] = thinking.Text, ["signature"] = thinking.Signature } },
        },
        _ => throw GatewayException.Unsupported($"A {part.GetType().Name}", upstream),
    };

    private static readonly Dictionary<string, string> ImageFormats = new(StringComparer.OrdinalIgnoreCase)
    {
        ["image/png"] = "png", ["image/jpeg"] = "jpeg", ["image/gif"] = "gif", ["image/webp"] = "webp",
    };

    private static readonly Dictionary<string, string> DocumentFormats = new(StringComparer.OrdinalIgnoreCase)
    {
        ["application/pdf"] = "pdf", ["text/plain"] = "txt", ["text/csv"] = "csv", ["text/html"] = "html", ["text/markdown"] = "md",
    };

    private static string Format(string mediaType, Dictionary<string, string> formats, string what, string upstream) =>
        formats.TryGetValue(mediaType, out var format) ? format : throw GatewayException.Unsupported($"{what} of type '{mediaType}'", upstream);

    /// <summary>Bedrock allows letters, digits, spaces, hyphens, parentheses and brackets in a document's name.</summary>
    private static string DocumentName(string? title)
    {
        var name = new string((title ?? "document").Select(c => char.IsAsciiLetterOrDigit(c) || c is ' ' or '-' or '(' or ')' or '[' or ']' ? c : '-').ToArray()).Trim();
        return name.Length == 0 ? "document" : name[..Math.Min(name.Length, 200)];
    }

    // ---- responses ------------------------------------------------------------------------

    public static ChatResponse ParseResponse(JsonObject body)
    {
        var response = new ChatResponse
        {
            Id = Guid.NewGuid().ToString("N"),
            Model = "",
            StopReason = StopFrom((string?)Get(body, "stopReason")),
            Usage = UsageFrom(Get(body, "usage") as JsonObject) ?? Usage.None,
        };
        foreach (var block in (body["output"]?["message"]?["content"] as JsonArray ?? []).OfType<JsonObject>())
        {
            if ((string?)block["text"] is { } text)
            {
                response.Content.Add(new TextPart(text));
            }
            else if (block["toolUse"] is JsonObject use)
            {
                response.Content.Add(new ToolCallPart((string?)use["toolUseId"] ?? "", (string?)use["name"] ?? "", use["input"]?.ToJsonString() ?? "{}"));
            }
            else if (block["reasoningContent"] is JsonObject reasoning)
            {
                response.Content.Add(reasoning["reasoningText"] is JsonObject r
                    ? new ThinkingPart((string?)r["text"] ?? "", (string?)r["signature"])
                    : new ThinkingPart("", null, (string?)reasoning["redactedContent"] ?? ""));
            }
            else
            {
                throw new GatewayException(new GatewayError(ErrorKind.Api, $"The upstream answered with a block ({string.Join(", ", block.Select(p => p.Key))}) the gateway cannot carry."));
            }
        }
        return response;
    }

    internal static StopReason StopFrom(string? reason) => reason switch
    {
        "max_tokens" or "model_context_window_exceeded" => StopReason.MaxTokens,
        "stop_sequence" => StopReason.StopSequence,
        "tool_use" => StopReason.ToolUse,
        "guardrail_intervened" or "content_filtered" => StopReason.ContentFilter,
        _ => StopReason.EndTurn,
    };

    public static Usage? UsageFrom(JsonObject? usage) => usage is null ? null : new Usage(
        (long?)usage["inputTokens"] ?? 0,
        (long?)usage["outputTokens"] ?? 0,
        (long?)usage["cacheReadInputTokens"] ?? 0,
        (long?)usage["cacheWriteInputTokens"] ?? 0);
}
