using System.Text.Json.Nodes;
using static ThinkWatch.AiGateway.Conversion.JsonRead;

namespace ThinkWatch.AiGateway.Conversion;

/// <summary>
/// OpenAI Responses ⇄ the canonical conversation. The gateway keeps no state: a request carries
/// its whole conversation in 'input' (previous_response_id, stored items and built-in tools are
/// refused). Reasoning items carry a thinking block's signature in encrypted_content, so Claude's
/// signed thinking survives tool turns.
/// </summary>
public static class OpenAiResponses
{
    public const string Name = "OpenAI Responses";

    /// <summary>encrypted_content of a redacted thinking block (Claude) starts with this, so it goes back as one.</summary>
    public const string RedactedPrefix = "redacted:";

    private static readonly HashSet<string> KnownFields =
    [
        "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "text", "temperature", "top_p",
        "max_output_tokens", "stream", "reasoning", "user", "safety_identifier", "metadata", "store", "include", "truncation",
    ];

    public static ChatRequest ParseRequest(JsonObject body, string target)
    {
        if (Get(body, "previous_response_id") is not null || Get(body, "conversation") is not null)
        {
            throw GatewayException.Invalid("The gateway keeps no conversation state: send the whole conversation in 'input' instead of 'previous_response_id' or 'conversation'.", "previous_response_id");
        }
        OnlyKnown(body, KnownFields, "", target);
        if (Bool(body, "store", "") == true)
        {
            throw GatewayException.Unsupported("'store: true'", target);
        }
        if (String(body, "truncation", "") is { } truncation && truncation != "disabled")
        {
            throw GatewayException.Unsupported($"'truncation: {truncation}'", target);
        }
        foreach (var include in Strings(body, "include", ""))
        {
            if (include != "reasoning.encrypted_content")
            {
                throw GatewayException.Unsupported($"'include: {include}'", target);
            }
        }
        var request = new ChatRequest
        {
            Model = RequiredString(body, "model", ""),
            Temperature = Number(body, "temperature", ""),
            TopP = Number(body, "top_p", ""),
            MaxTokens = Integer(body, "max_output_tokens", ""),
            Stream = Bool(body, "stream", "") ?? false,
            ParallelToolCalls = Bool(body, "parallel_tool_calls", ""),
            User = String(body, "safety_identifier", "") ?? String(body, "user", ""),
        };
        request.StreamUsage = request.Stream; // response.completed always carries usage
        if (String(body, "instructions", "") is { Length: > 0 } instructions)
        {
            request.System.Add(new TextPart(instructions));
        }
        if (Object(body, "reasoning", "") is { } reasoning && String(reasoning, "effort", "reasoning") is { } effort)
        {
            request.Reasoning = new ReasoningRequest(Mapping.BudgetFor(effort), effort);
        }
        ReadInput(Get(body, "input") ?? throw GatewayException.Invalid("'input' is required.", "input"), request, target);
        foreach (var (node, i) in (Array(body, "tools", "") ?? []).Select((n, i) => (n, i)))
        {
            var tool = Item(node, $"tools[{i}]");
            var type = RequiredString(tool, "type", $"tools[{i}]");
            if (type != "function")
            {
                throw GatewayException.Unsupported($"The built-in tool '{type}' (tools[{i}])", target);
            }
            request.Tools.Add(new ToolDefinition(RequiredString(tool, "name", $"tools[{i}]"), String(tool, "description", $"tools[{i}]"),
                Get(tool, "parameters")?.DeepClone() ?? new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() }, Bool(tool, "strict", $"tools[{i}]")));
        }
        request.ToolChoice = Get(body, "tool_choice") switch
        {
            null => null,
            JsonValue v when v.TryGetValue<string>(out var s) => Mapping.ToolChoiceKeyword(s),
            JsonObject o when String(o, "type", "tool_choice") == "function" => new ToolChoice(ToolChoiceKind.Named, RequiredString(o, "name", "tool_choice")),
            JsonObject o => throw GatewayException.Unsupported($"A tool_choice of type '{String(o, "type", "tool_choice")}'", target),
            _ => throw GatewayException.Invalid("'tool_choice' must be a string or an object.", "tool_choice"),
        };
        if (Object(body, "text", "") is { } text)
        {
            OnlyKnown(text, new HashSet<string> { "format" }, "text", target);
            if (Object(text, "format", "text") is { } format)
            {
                request.Format = RequiredString(format, "type", "text.format") switch
                {
                    "text" => new OutputFormat(OutputFormatKind.Text),
                    "json_object" => new OutputFormat(OutputFormatKind.JsonObject),
                    "json_schema" => new OutputFormat(OutputFormatKind.JsonSchema, RequiredString(format, "name", "text.format"),
                        Get(format, "schema")?.DeepClone() ?? throw GatewayException.Invalid("'text.format.schema' is required.", "text.format.schema"),
                        Bool(format, "strict", "text.format")),
                    _ => throw GatewayException.Invalid("'text.format.type' must be text, json_object or json_schema.", "text.format.type"),
                };
            }
        }
        return request;
    }

    /// <summary>
    /// Input items into alternating turns: messages, function calls and reasoning of the assistant
    /// gather in one assistant turn; function outputs open the next user turn, first.
    /// </summary>
    private static void ReadInput(JsonNode input, ChatRequest request, string target)
    {
        if (input is JsonValue v && v.TryGetValue<string>(out var text))
        {
            request.Messages.Add(new Message(Role.User, [new TextPart(text)]));
            return;
        }
        if (input is not JsonArray items)
        {
            throw GatewayException.Invalid("'input' must be a string or an array of items.", "input");
        }
        var turn = new List<Part>();
        var role = Role.User;
        void Switch(Role next)
        {
            if (next != role && turn.Count > 0)
            {
                request.Messages.Add(new Message(role, turn));
                turn = [];
            }
            role = next;
        }
        for (var i = 0; i < items.Count; i++)
        {
            var path = $"input[{i}]";
            var item = Item(items[i], path);
            var type = String(item, "type", path) ?? "message";
            switch (type)
            {
                case "message":
                    switch (RequiredString(item, "role", path))
                    {
                        case "system" or "developer":
                            if (request.Messages.Count > 0 || turn.Count > 0)
                            {
                                throw GatewayException.Unsupported($"A system message after the conversation started ({path})", target);
                            }
                            request.System.AddRange(Content(item, path, target));
                            break;
                        case "user":
                            Switch(Role.User);
                            turn.AddRange(Content(item, path, target));
                            break;
                        case "assistant":
                            Switch(Role.Assistant);
                            turn.AddRange(Content(item, path, target));
                            break;
                        case var r:
                            throw GatewayException.Invalid($"'{path}.role' '{r}' is not one of system, developer, user, assistant.", $"{path}.role");
                    }
                    break;
                case "function_call":
                    Switch(Role.Assistant);
                    turn.Add(new ToolCallPart(RequiredString(item, "call_id", path), RequiredString(item, "name", path), String(item, "arguments", path) ?? "{}"));
                    break;
                case "reasoning":
                    Switch(Role.Assistant);
                    var summary = string.Join("\n\n", (Array(item, "summary", path) ?? []).Select((s, j) => RequiredString(Item(s, $"{path}.summary[{j}]"), "text", $"{path}.summary[{j}]")));
                    var encrypted = String(item, "encrypted_content", path);
                    turn.Add(encrypted is not null && encrypted.StartsWith(RedactedPrefix, StringComparison.Ordinal)
                        ? new ThinkingPart("", null, encrypted[RedactedPrefix.Length..])
                        : new ThinkingPart(summary, encrypted));
                    break;
                case "function_call_output":
                    Switch(Role.User);
                    var output = Get(item, "output") switch
                    {
                        JsonValue o when o.TryGetValue<string>(out var s) => [new TextPart(s)],
                        JsonArray parts => Parts(parts, $"{path}.output", target),
                        _ => throw GatewayException.Invalid($"'{path}.output' must be a string or an array of parts.", $"{path}.output"),
                    };
                    turn.Insert(turn.Count(p => p is ToolResultPart), new ToolResultPart(RequiredString(item, "call_id", path), output, IsError: false));
                    break;
                default:
                    throw GatewayException.Unsupported($"An input item of type '{type}' ({path})", target);
            }
        }
        Switch(role == Role.User ? Role.Assistant : Role.User);
    }

    private static List<Part> Content(JsonObject item, string path, string target) => Get(item, "content") switch
    {
        JsonValue v when v.TryGetValue<string>(out var text) => text.Length > 0 ? [new TextPart(text)] : [],
        JsonArray parts => Parts(parts, $"{path}.content", target),
        _ => throw GatewayException.Invalid($"'{path}.content' must be a string or an array of parts.", $"{path}.content"),
    };

    private static List<Part> Parts(JsonArray parts, string path, string target)
    {
        var result = new List<Part>();
        for (var i = 0; i < parts.Count; i++)
        {
            var ppath = $"{path}[{i}]";
            var p = Item(parts[i], ppath);
            result.Add(RequiredString(p, "type", ppath) switch
            {
                "input_text" or "output_text" => new TextPart(RequiredString(p, "text", ppath)),
                "refusal" => new TextPart(RequiredString(p, "refusal", ppath)),
                "input_image" when String(p, "image_url", ppath) is { } url =>
                    Mapping.ParseDataUrl(url) is var (mediaType, data) ? new ImagePart(null, mediaType, data) : new ImagePart(url, null, null),
                "input_image" => throw GatewayException.Unsupported($"An image by file_id ({ppath})", target),
                "input_file" when String(p, "file_data", ppath) is { } fileData =>
                    Mapping.ParseDataUrl(fileData) is var (mediaType, data)
                        ? new DocumentPart(null, mediaType, data, String(p, "filename", ppath))
                        : throw GatewayException.Invalid($"'{ppath}.file_data' must be a base64 data URL.", $"{ppath}.file_data"),
                "input_file" when String(p, "file_url", ppath) is { } fileUrl => new DocumentPart(fileUrl, null, null, String(p, "filename", ppath)),
                "input_file" => throw GatewayException.Unsupported($"A file by file_id ({ppath})", target),
                var type => throw GatewayException.Unsupported($"Content of type '{type}' ({ppath})", target),
            });
        }
        return result;
    }

    // ---- responses ------------------------------------------------------------------------

    public static JsonObject WriteResponse(ChatResponse response, string model, long created)
    {
        var id = ResponseId(response.Id);
        var items = new JsonArray();
        var texts = new List<TextPart>();
        void FlushText()
        {
            if (texts.Count > 0)
            {
                var text = new TextPart(string.Concat(texts.Select(t => t.Text)));
                items.Add(OutputItem(text, ItemId(text, id, items.Count)));
                texts.Clear();
            }
        }
        foreach (var part in response.Content)
        {
            if (part is TextPart t)
            {
                texts.Add(t);
                continue;
            }
            FlushText();
            items.Add(OutputItem(part, ItemId(part, id, items.Count)));
        }
        FlushText();
        return ResponseObject(id, model, created, response.StopReason, items, response.Usage);
    }

    /// <summary>An output item's id: its kind's prefix, the response's id, its place in the output.</summary>
    internal static string ItemId(Part part, string responseId, int index) =>
        $"{part switch { ToolCallPart => "fc", ThinkingPart => "rs", _ => "msg" }}_{responseId}_{index}";

    /// <summary>"resp_…" for the response; its items are named after it.</summary>
    internal static string ResponseId(string upstreamId) => upstreamId.StartsWith("resp_", StringComparison.Ordinal) ? upstreamId[5..] : upstreamId;

    /// <summary>The response object of a finished answer (also the payload of response.completed).</summary>
    internal static JsonObject ResponseObject(string id, string model, long created, StopReason? stop, JsonArray output, Usage? usage)
    {
        var incomplete = stop switch
        {
            StopReason.MaxTokens => "max_output_tokens",
            StopReason.ContentFilter => "content_filter",
            _ => null,
        };
        return new JsonObject
        {
            ["id"] = "resp_" + id,
            ["object"] = "response",
            ["created_at"] = created,
            ["status"] = stop is null ? "in_progress" : incomplete is null ? "completed" : "incomplete",
            ["error"] = null,
            ["incomplete_details"] = incomplete is null ? null : new JsonObject { ["reason"] = incomplete },
            ["instructions"] = null,
            ["max_output_tokens"] = null,
            ["model"] = model,
            ["output"] = output,
            ["parallel_tool_calls"] = true,
            ["previous_response_id"] = null,
            ["reasoning"] = new JsonObject { ["effort"] = null, ["summary"] = null },
            ["store"] = false,
            ["temperature"] = null,
            ["text"] = new JsonObject { ["format"] = new JsonObject { ["type"] = "text" } },
            ["tool_choice"] = "auto",
            ["tools"] = new JsonArray(),
            ["top_p"] = null,
            ["truncation"] = "disabled",
            ["usage"] = usage is null ? null : UsageJson(usage),
            ["user"] = null,
            ["metadata"] = new JsonObject(),
        };
    }

    /// <summary>One output item: a message with its text, a function call, or reasoning.</summary>
    internal static JsonObject OutputItem(Part part, string itemId, bool done = true) => part switch
    {
        TextPart text => new JsonObject
        {
            ["type"] = "message", ["id"] = itemId, ["status"] = done ? "completed" : "in_progress", ["role"] = "assistant",
            ["content"] = done ? new JsonArray(TextContent(text.Text)) : new JsonArray(),
        },
        ToolCallPart call => new JsonObject
        {
            ["type"] = "function_call", ["id"] = itemId, ["call_id"] = call.Id, ["name"] = call.Name,
            ["arguments"] = call.Arguments, ["status"] = done ? "completed" : "in_progress",
        },
        ThinkingPart thinking => new JsonObject
        {
            ["type"] = "reasoning", ["id"] = itemId,
            ["summary"] = thinking.Text.Length > 0 && done ? new JsonArray(SummaryText(thinking.Text)) : new JsonArray(),
            ["encrypted_content"] = thinking.Redacted is { } data ? RedactedPrefix + data : thinking.Signature,
        },
        _ => throw new GatewayException(new GatewayError(ErrorKind.Api, $"The upstream answered with a {part.GetType().Name}, which {Name} cannot carry.")),
    };

    internal static JsonObject TextContent(string text) => new() { ["type"] = "output_text", ["text"] = text, ["annotations"] = new JsonArray(), ["logprobs"] = new JsonArray() };

    internal static JsonObject SummaryText(string text) => new() { ["type"] = "summary_text", ["text"] = text };

    public static JsonObject UsageJson(Usage usage) => new()
    {
        ["input_tokens"] = usage.TotalInput,
        ["input_tokens_details"] = new JsonObject { ["cached_tokens"] = usage.CacheRead },
        ["output_tokens"] = usage.Output,
        ["output_tokens_details"] = new JsonObject { ["reasoning_tokens"] = usage.Reasoning },
        ["total_tokens"] = usage.TotalInput + usage.Output,
    };
}
