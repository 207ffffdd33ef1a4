using System.Text.Json;
using System.Text.Json.Nodes;
using static ThinkWatch.AiGateway.Conversion.JsonRead;

namespace ThinkWatch.AiGateway.Conversion;

/// <summary>Anthropic Messages ⇄ the canonical conversation.</summary>
public static class AnthropicMessages
{
    public const string Name = "Anthropic Messages";

    private static readonly HashSet<string> KnownFields =
    [
        "model", "max_tokens", "system", "messages", "tools", "tool_choice", "stop_sequences", "temperature", "top_p", "top_k", "stream", "metadata", "thinking",
    ];

    private static readonly HashSet<string> KnownBlockFields =
        ["type", "text", "cache_control", "citations", "source", "title", "context", "id", "name", "input", "tool_use_id", "content", "is_error", "thinking", "signature", "data"];

    // ---- requests -------------------------------------------------------------------------

    public static ChatRequest ParseRequest(JsonObject body, string target)
    {
        OnlyKnown(body, KnownFields, "", target);
        var request = new ChatRequest
        {
            Model = RequiredString(body, "model", ""),
            MaxTokens = Integer(body, "max_tokens", "") ?? throw GatewayException.Invalid("'max_tokens' is required.", "max_tokens"),
            Temperature = Number(body, "temperature", ""),
            TopP = Number(body, "top_p", ""),
            TopK = Integer(body, "top_k", ""),
            Stream = Bool(body, "stream", "") ?? false,
            Stop = Strings(body, "stop_sequences", ""),
            User = Object(body, "metadata", "") is { } metadata ? String(metadata, "user_id", "metadata") : null,
        };
        request.StreamUsage = request.Stream;
        switch (Get(body, "system"))
        {
            case null:
                break;
            case JsonValue v when v.TryGetValue<string>(out var text):
                request.System.Add(new TextPart(text));
                break;
            case JsonArray blocks:
                request.System.AddRange(Blocks(blocks, "system", target));
                break;
            default:
                throw GatewayException.Invalid("'system' must be a string or an array of text blocks.", "system");
        }
        var messages = Array(body, "messages", "") ?? throw GatewayException.Invalid("'messages' is required.", "messages");
        for (var i = 0; i < messages.Count; i++)
        {
            var path = $"messages[{i}]";
            var m = Item(messages[i], path);
            var role = RequiredString(m, "role", path) switch
            {
                "user" => Role.User,
                "assistant" => Role.Assistant,
                var other => throw GatewayException.Invalid($"'{path}.role' must be user or assistant, not '{other}'.", $"{path}.role"),
            };
            request.Messages.Add(new Message(role, ContentOf(m, path, target)));
        }
        foreach (var (node, i) in (Array(body, "tools", "") ?? []).Select((n, i) => (n, i)))
        {
            var path = $"tools[{i}]";
            var tool = Item(node, path);
            if (String(tool, "type", path) is { } type && type != "custom")
            {
                throw GatewayException.Unsupported($"The server tool '{type}' ({path})", target);
            }
            request.Tools.Add(new ToolDefinition(RequiredString(tool, "name", path), String(tool, "description", path),
                Get(tool, "input_schema")?.DeepClone() ?? throw GatewayException.Invalid($"'{path}.input_schema' is required.", $"{path}.input_schema"),
                null, Get(tool, "cache_control") is not null));
        }
        if (Object(body, "tool_choice", "") is { } choice)
        {
            request.ToolChoice = RequiredString(choice, "type", "tool_choice") switch
            {
                "auto" => new ToolChoice(ToolChoiceKind.Auto),
                "any" => new ToolChoice(ToolChoiceKind.Required),
                "none" => new ToolChoice(ToolChoiceKind.None),
                "tool" => new ToolChoice(ToolChoiceKind.Named, RequiredString(choice, "name", "tool_choice")),
                _ => throw GatewayException.Invalid("'tool_choice.type' must be auto, any, tool or none.", "tool_choice.type"),
            };
            if (Bool(choice, "disable_parallel_tool_use", "tool_choice") == true)
            {
                request.ParallelToolCalls = false;
            }
        }
        if (Object(body, "thinking", "") is { } thinking && RequiredString(thinking, "type", "thinking") == "enabled")
        {
            request.Reasoning = new ReasoningRequest(Integer(thinking, "budget_tokens", "thinking")
                ?? throw GatewayException.Invalid("'thinking.budget_tokens' is required.", "thinking.budget_tokens"), null);
        }
        return request;
    }

    private static List<Part> ContentOf(JsonObject m, string path, string target) => Get(m, "content") switch
    {
        JsonValue v when v.TryGetValue<string>(out var text) => [new TextPart(text)],
        JsonArray blocks => Blocks(blocks, $"{path}.content", target),
        _ => throw GatewayException.Invalid($"'{path}.content' must be a string or an array of content blocks.", $"{path}.content"),
    };

    private static List<Part> Blocks(JsonArray blocks, string path, string target)
    {
        var parts = new List<Part>(blocks.Count);
        for (var i = 0; i < blocks.Count; i++)
        {
            var bpath = $"{path}[{i}]";
            var b = Item(blocks[i], bpath);
            OnlyKnown(b, KnownBlockFields, bpath, target);
            var cache = Get(b, "cache_control") is not null;
            parts.Add(RequiredString(b, "type", bpath) switch
            {
                "text" => new TextPart(RequiredString(b, "text", bpath), cache),
                "image" => Source(b, bpath, target) switch { var (url, mediaType, data) => new ImagePart(url, mediaType, data, cache) },
                "document" => Source(b, bpath, target) switch { var (url, mediaType, data) => new DocumentPart(url, mediaType, data, String(b, "title", bpath), cache) },
                "tool_use" => new ToolCallPart(RequiredString(b, "id", bpath), RequiredString(b, "name", bpath), (Get(b, "input") ?? new JsonObject()).ToJsonString()),
                "tool_result" => new ToolResultPart(RequiredString(b, "tool_use_id", bpath), Get(b, "content") switch
                {
                    null => [],
                    JsonValue v when v.TryGetValue<string>(out var text) => [new TextPart(text)],
                    JsonArray inner => Blocks(inner, $"{bpath}.content", target),
                    _ => throw GatewayException.Invalid($"'{bpath}.content' must be a string or an array.", $"{bpath}.content"),
                }, Bool(b, "is_error", bpath) ?? false, cache),
                "thinking" => new ThinkingPart(RequiredString(b, "thinking", bpath), String(b, "signature", bpath)),
                "redacted_thinking" => new ThinkingPart("", null, RequiredString(b, "data", bpath)),
                var type => throw GatewayException.Unsupported($"A content block of type '{type}' ({bpath})", target),
            });
        }
        return parts;
    }

    private static (string? Url, string? MediaType, string? Data) Source(JsonObject block, string path, string target)
    {
        var source = Object(block, "source", path) ?? throw GatewayException.Invalid($"'{path}.source' is required.", $"{path}.source");
        return RequiredString(source, "type", $"{path}.source") switch
        {
            "base64" => (null, RequiredString(source, "media_type", $"{path}.source"), RequiredString(source, "data", $"{path}.source")),
            "url" => (RequiredString(source, "url", $"{path}.source"), null, null),
            // Plain-text documents: kept as base64 text so every target sees the same bytes.
            "text" => (null, "text/plain", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(RequiredString(source, "data", $"{path}.source")))),
            var type => throw GatewayException.Unsupported($"A source of type '{type}' ({path}.source)", target),
        };
    }

    public static JsonObject WriteRequest(ChatRequest request, string upstreamModel, string upstream, int defaultMaxTokens)
    {
        var maxTokens = request.MaxTokens ?? defaultMaxTokens;
        var body = new JsonObject { ["model"] = upstreamModel, ["max_tokens"] = maxTokens };
        if (request.System.Count > 0)
        {
            body["system"] = new JsonArray([.. request.System.Select(p => p is TextPart t ? Block(t) : throw GatewayException.Unsupported("A system prompt other than text", upstream))]);
        }
        var messages = new JsonArray();
        foreach (var message in request.Messages)
        {
            var blocks = new JsonArray();
            // Tool results first in their turn, as the API requires.
            foreach (var part in message.Parts.OrderBy(p => p is ToolResultPart ? 0 : 1))
            {
                if (part is ThinkingPart { Signature: null, Redacted: null })
                {
                    continue; // reasoning without Anthropic's signature cannot be replayed to Claude
                }
                if (part is TextPart { Text.Length: 0 })
                {
                    continue;
                }
                blocks.Add(Block(part));
            }
            if (blocks.Count > 0)
            {
                messages.Add(new JsonObject { ["role"] = message.Role == Role.User ? "user" : "assistant", ["content"] = blocks });
            }
        }
        body["messages"] = messages;
        if (request.Tools.Count > 0)
        {
            body["tools"] = new JsonArray([.. request.Tools.Select(t =>
            {
                var tool = new JsonObject { ["name"] = t.Name, ["input_schema"] = t.Schema.DeepClone() };
                if (t.Description is not null)
                {
                    tool["description"] = t.Description;
                }
                if (t.Cache)
                {
                    tool["cache_control"] = Ephemeral();
                }
                return (JsonNode)tool;
            })]);
        }
        if (request.ToolChoice is not null || request.ParallelToolCalls == false)
        {
            var choice = request.ToolChoice ?? new ToolChoice(ToolChoiceKind.Auto);
            var tc = new JsonObject
            {
                ["type"] = choice.Kind switch { ToolChoiceKind.Auto => "auto", ToolChoiceKind.None => "none", ToolChoiceKind.Required => "any", _ => "tool" },
            };
            if (choice.Name is not null)
            {
                tc["name"] = choice.Name;
            }
            if (request.ParallelToolCalls == false && choice.Kind != ToolChoiceKind.None)
            {
                tc["disable_parallel_tool_use"] = true;
            }
            body["tool_choice"] = tc;
        }
        if (request.Format is { Kind: not OutputFormatKind.Text })
        {
            throw GatewayException.Unsupported("A JSON response_format", upstream);
        }
        if (request.Stop.Count > 0)
        {
            body["stop_sequences"] = new JsonArray([.. request.Stop.Select(s => (JsonNode)s)]);
        }
        if (request.Temperature is { } temperature)
        {
            body["temperature"] = temperature <= 1 ? temperature : throw GatewayException.Unsupported("A temperature above 1", upstream);
        }
        if (request.TopP is { } topP)
        {
            body["top_p"] = topP;
        }
        if (request.TopK is { } topK)
        {
            body["top_k"] = topK;
        }
        if (request.Reasoning is { } reasoning)
        {
            var budget = reasoning.BudgetTokens ?? Mapping.BudgetFor(reasoning.Effort ?? "medium");
            if (budget >= maxTokens)
            {
                // OpenAI counts reasoning inside max_completion_tokens; Anthropic wants the budget below max_tokens.
                budget = maxTokens - 1;
            }
            body["thinking"] = budget >= 1024
                ? new JsonObject { ["type"] = "enabled", ["budget_tokens"] = budget }
                : throw GatewayException.Invalid($"Reasoning on {upstream} needs max tokens above 1024 (a thinking budget of at least 1024 below it).", "max_tokens");
        }
        if (request.User is not null)
        {
            body["metadata"] = new JsonObject { ["user_id"] = request.User };
        }
        if (request.Stream)
        {
            body["stream"] = true;
        }
        return body;
    }

    private static JsonObject Ephemeral() => new() { ["type"] = "ephemeral" };

    private static JsonNode Block(Part part)
    {
        var (block, cache) = part switch
        {
            TextPart t => (new JsonObject { ["type"] = "text", ["text"] = t.Text }, t.Cache),
            ImagePart i => (new JsonObject { ["type"] = "image", ["source"] = SourceJson(i.Url, i.MediaType, i.Data) }, i.Cache),
            DocumentPart d when d.MediaType == "text/plain" && d.Data is not null => (new JsonObject
            {
                ["type"] = "document",
                ["source"] = new JsonObject { ["type"] = "text", ["media_type"] = "text/plain", ["data"] = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(d.Data)) },
            }, d.Cache),
            DocumentPart d => (new JsonObject { ["type"] = "document", ["source"] = SourceJson(d.Url, d.MediaType, d.Data) }, d.Cache),
            ToolCallPart c => (new JsonObject { ["type"] = "tool_use", ["id"] = c.Id, ["name"] = c.Name, ["input"] = Mapping.ToolArguments(c.Arguments) }, false),
            ToolResultPart r => (new JsonObject
            {
                ["type"] = "tool_result",
                ["tool_use_id"] = r.CallId,
                ["content"] = new JsonArray([.. r.Content.Select(Block)]),
                ["is_error"] = r.IsError,
            }, r.Cache),
            ThinkingPart { Redacted: { } data } => (new JsonObject { ["type"] = "redacted_thinking", ["data"] = data }, false),
            ThinkingPart t => (new JsonObject { ["type"] = "thinking", ["thinking"] = t.Text, ["signature"] = t.Signature }, false),
            _ => throw new InvalidOperationException(part.GetType().Name),
        };
        if (cache)
        {
            block["cache_control"] = Ephemeral();
        }
        if (block["type"] is JsonValue type && (string)type! is "document" && part is DocumentPart { Title: { } title })
        {
            block["title"] = title;
        }
        return block;
    }

    private static JsonObject SourceJson(string? url, string? mediaType, string? data) => url is not null
        ? new JsonObject { ["type"] = "url", ["url"] = url }
        : new JsonObject { ["type"] = "base64", ["media_type"] = mediaType, ["data"] = data };

    // ---- responses ------------------------------------------------------------------------

    public static ChatResponse ParseResponse(JsonObject body)
    {
        var response = new ChatResponse
        {
            Id = (string?)Get(body, "id") ?? "",
            Model = (string?)Get(body, "model") ?? "",
            StopReason = StopFrom((string?)Get(body, "stop_reason")),
            StopSequence = (string?)Get(body, "stop_sequence"),
            Usage = UsageFrom(Get(body, "usage") as JsonObject) ?? Usage.None,
        };
        foreach (var block in (Get(body, "content") as JsonArray ?? []).OfType<JsonObject>())
        {
            response.Content.Add((string?)Get(block, "type") switch
            {
                "text" => new TextPart((string?)Get(block, "text") ?? ""),
                "tool_use" => new ToolCallPart((string?)Get(block, "id") ?? "", (string?)Get(block, "name") ?? "", Get(block, "input")?.ToJsonString() ?? "{}"),
                "thinking" => new ThinkingPart((string?)Get(block, "thinking") ?? "", (string?)Get(block, "signature")),
                "redacted_thinking" => new ThinkingPart("", null, (string?)Get(block, "data")),
                var type => throw new GatewayException(new GatewayError(ErrorKind.Api, $"The upstream answered with a '{type}' block, which the client's format cannot carry.")),
            });
        }
        return response;
    }

    public static JsonObject WriteResponse(ChatResponse response, string model) => new()
    {
        ["id"] = response.Id.StartsWith("msg_", StringComparison.Ordinal) ? response.Id : "msg_" + response.Id,
        ["type"] = "message",
        ["role"] = "assistant",
        ["model"] = model,
        ["content"] = new JsonArray([.. response.Content.Where(p => p is not TextPart { Text.Length: 0 }).Select(Block)]),
        ["stop_reason"] = StopReasonName(response.StopReason),
        ["stop_sequence"] = response.StopSequence,
        ["usage"] = UsageJson(response.Usage),
    };

    internal static StopReason StopFrom(string? reason) => reason switch
    {
        "max_tokens" or "model_context_window_exceeded" => StopReason.MaxTokens,
        "stop_sequence" => StopReason.StopSequence,
        "tool_use" => StopReason.ToolUse,
        "refusal" => StopReason.ContentFilter,
        "pause_turn" => StopReason.PauseTurn,
        _ => StopReason.EndTurn,
    };

    internal static string StopReasonName(StopReason reason) => reason switch
    {
        StopReason.MaxTokens => "max_tokens",
        StopReason.StopSequence => "stop_sequence",
        StopReason.ToolUse => "tool_use",
        StopReason.ContentFilter => "refusal",
        StopReason.PauseTurn => "pause_turn",
        _ => "end_turn",
    };

    public static Usage? UsageFrom(JsonObject? usage) => usage is null ? null : new Usage(
        (long?)Get(usage, "input_tokens") ?? 0,
        (long?)Get(usage, "output_tokens") ?? 0,
        (long?)Get(usage, "cache_read_input_tokens") ?? 0,
        (long?)Get(usage, "cache_creation_input_tokens") ?? 0);

    public static JsonObject UsageJson(Usage usage) => new()
    {
        ["input_tokens"] = usage.Input,
        ["output_tokens"] = usage.Output,
        ["cache_read_input_tokens"] = usage.CacheRead,
        ["cache_creation_input_tokens"] = usage.CacheWrite,
    };

    public static JsonObject Error(GatewayError error) => new()
    {
        ["type"] = "error",
        ["error"] = new JsonObject { ["type"] = error.Type, ["message"] = error.Message },
    };
}
