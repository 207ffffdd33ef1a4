using System.Text.Json.Nodes;
using static ThinkWatch.AiGateway.Conversion.JsonRead;

namespace ThinkWatch.AiGateway.Conversion;

/// <summary>OpenAI Chat Completions ⇄ the canonical conversation.</summary>
public static class OpenAiChat
{
    public const string Name = "OpenAI Chat Completions";

    private static readonly HashSet<string> KnownFields =
    [
        "model", "messages", "tools", "tool_choice", "parallel_tool_calls", "response_format", "stop", "temperature", "top_p",
        "max_tokens", "max_completion_tokens", "stream", "stream_options", "reasoning_effort", "user", "n", "metadata", "store",
    ];

    private static readonly HashSet<string> KnownMessageFields = ["role", "content", "tool_calls", "tool_call_id", "reasoning_content", "refusal"];

    // ---- requests -------------------------------------------------------------------------

    /// <summary>Reads a client request for conversion to <paramref name="target"/>; refuses what would be lost there.</summary>
    public static ChatRequest ParseRequest(JsonObject body, string target)
    {
        OnlyKnown(body, KnownFields, "", target);
        if (Integer(body, "n", "") is > 1)
        {
            throw GatewayException.Unsupported("'n' above 1", target);
        }
        if (Bool(body, "store", "") == true)
        {
            throw GatewayException.Unsupported("'store: true'", target);
        }
        var request = new ChatRequest
        {
            Model = RequiredString(body, "model", ""),
            Temperature = Number(body, "temperature", ""),
            TopP = Number(body, "top_p", ""),
            MaxTokens = Integer(body, "max_completion_tokens", "") ?? Integer(body, "max_tokens", ""),
            Stream = Bool(body, "stream", "") ?? false,
            ParallelToolCalls = Bool(body, "parallel_tool_calls", ""),
            User = String(body, "user", ""),
            Stop = Strings(body, "stop", ""),
        };
        request.StreamUsage = request.Stream && Object(body, "stream_options", "") is { } so && Bool(so, "include_usage", "stream_options") == true;
        if (String(body, "reasoning_effort", "") is { } effort)
        {
            request.Reasoning = new ReasoningRequest(Mapping.BudgetFor(effort), effort);
        }
        ReadMessages(Array(body, "messages", "") ?? throw GatewayException.Invalid("'messages' is required.", "messages"), request, target);
        foreach (var (node, i) in (Array(body, "tools", "") ?? []).Select((n, i) => (n, i)))
        {
            var tool = Item(node, $"tools[{i}]");
            if (String(tool, "type", $"tools[{i}]") != "function")
            {
                throw GatewayException.Unsupported($"tools[{i}] of a type other than 'function'", target);
            }
            var fn = Object(tool, "function", $"tools[{i}]") ?? throw GatewayException.Invalid($"'tools[{i}].function' is required.", $"tools[{i}].function");
            request.Tools.Add(new ToolDefinition(RequiredString(fn, "name", $"tools[{i}].function"), String(fn, "description", $"tools[{i}].function"),
                Get(fn, "parameters")?.DeepClone() ?? new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() }, Bool(fn, "strict", $"tools[{i}].function")));
        }
        request.ToolChoice = Get(body, "tool_choice") switch
        {
            null => null,
            JsonValue v when v.TryGetValue<string>(out var s) => Mapping.ToolChoiceKeyword(s),
            JsonObject o => new ToolChoice(ToolChoiceKind.Named, RequiredString(Object(o, "function", "tool_choice") ?? [], "name", "tool_choice.function")),
            _ => throw GatewayException.Invalid("'tool_choice' must be a string or an object.", "tool_choice"),
        };
        request.Format = Object(body, "response_format", "") is { } rf ? ReadFormat(rf) : null;
        return request;
    }

    private static OutputFormat ReadFormat(JsonObject rf) => RequiredString(rf, "type", "response_format") switch
    {
        "text" => new OutputFormat(OutputFormatKind.Text),
        "json_object" => new OutputFormat(OutputFormatKind.JsonObject),
        "json_schema" when Object(rf, "json_schema", "response_format") is { } js =>
            new OutputFormat(OutputFormatKind.JsonSchema, RequiredString(js, "name", "response_format.json_schema"), Get(js, "schema")?.DeepClone(), Bool(js, "strict", "response_format.json_schema")),
        _ => throw GatewayException.Invalid("'response_format.type' must be text, json_object or json_schema (with json_schema).", "response_format"),
    };

    private static void ReadMessages(JsonArray messages, ChatRequest request, string target)
    {
        List<Part>? pendingUser = null;
        void FlushUser()
        {
            if (pendingUser is { Count: > 0 })
            {
                request.Messages.Add(new Message(Role.User, pendingUser));
            }
            pendingUser = null;
        }
        for (var i = 0; i < messages.Count; i++)
        {
            var path = $"messages[{i}]";
            var m = Item(messages[i], path);
            OnlyKnown(m, KnownMessageFields, path, target);
            switch (RequiredString(m, "role", path))
            {
                case "system" or "developer":
                    if (request.Messages.Count > 0 || pendingUser is not null)
                    {
                        throw GatewayException.Unsupported($"A system message after the conversation started ({path})", target);
                    }
                    request.System.AddRange(Content(m, path, target));
                    break;
                case "user":
                    (pendingUser ??= []).AddRange(Content(m, path, target));
                    break;
                case "tool":
                    // Tool results travel in the next user turn, first (as Anthropic and Gemini want them).
                    pendingUser ??= [];
                    pendingUser.Insert(pendingUser.Count(p => p is ToolResultPart),
                        new ToolResultPart(RequiredString(m, "tool_call_id", path), Content(m, path, target), IsError: false));
                    break;
                case "assistant":
                    FlushUser();
                    var parts = new List<Part>();
                    if (String(m, "reasoning_content", path) is { Length: > 0 } reasoning)
                    {
                        parts.Add(new ThinkingPart(reasoning, null));
                    }
                    parts.AddRange(Content(m, path, target));
                    foreach (var (node, j) in (Array(m, "tool_calls", path) ?? []).Select((n, j) => (n, j)))
                    {
                        var call = Item(node, $"{path}.tool_calls[{j}]");
                        var fn = Object(call, "function", $"{path}.tool_calls[{j}]") ?? [];
                        parts.Add(new ToolCallPart(RequiredString(call, "id", $"{path}.tool_calls[{j}]"), RequiredString(fn, "name", $"{path}.tool_calls[{j}].function"),
                            String(fn, "arguments", $"{path}.tool_calls[{j}].function") ?? "{}"));
                    }
                    request.Messages.Add(new Message(Role.Assistant, parts));
                    break;
                case var role:
                    throw GatewayException.Invalid($"'{path}.role' '{role}' is not one of system, developer, user, assistant, tool.", $"{path}.role");
            }
        }
        FlushUser();
    }

    private static List<Part> Content(JsonObject m, string path, string target)
    {
        var parts = new List<Part>();
        switch (Get(m, "content"))
        {
            case null:
                break;
            case JsonValue v when v.TryGetValue<string>(out var text):
                if (text.Length > 0)
                {
                    parts.Add(new TextPart(text));
                }
                break;
            case JsonArray items:
                for (var i = 0; i < items.Count; i++)
                {
                    var p = Item(items[i], $"{path}.content[{i}]");
                    var ppath = $"{path}.content[{i}]";
                    parts.Add(RequiredString(p, "type", ppath) switch
                    {
                        "text" => new TextPart(RequiredString(p, "text", ppath)),
                        "refusal" => new TextPart(RequiredString(p, "refusal", ppath)),
                        "image_url" => Image(Object(p, "image_url", ppath) ?? [], ppath),
                        "file" => File(Object(p, "file", ppath) ?? [], ppath, target),
                        var type => throw GatewayException.Unsupported($"Content of type '{type}' ({ppath})", target),
                    });
                }
                break;
            default:
                throw GatewayException.Invalid($"'{path}.content' must be a string or an array of parts.", $"{path}.content");
        }
        return parts;
    }

    private static ImagePart Image(JsonObject image, string path)
    {
        var url = RequiredString(image, "url", $"{path}.image_url");
        return Mapping.ParseDataUrl(url) is var (mediaType, data) ? new ImagePart(null, mediaType, data) : new ImagePart(url, null, null);
    }

    private static DocumentPart File(JsonObject file, string path, string target)
    {
        if (String(file, "file_id", $"{path}.file") is not null)
        {
            throw GatewayException.Unsupported($"A file by id ({path})", target);
        }
        var data = RequiredString(file, "file_data", $"{path}.file");
        return Mapping.ParseDataUrl(data) is var (mediaType, b64)
            ? new DocumentPart(null, mediaType, b64, String(file, "filename", $"{path}.file"))
            : throw GatewayException.Invalid($"'{path}.file.file_data' must be a base64 data URL.", $"{path}.file.file_data");
    }

    /// <summary>Writes the upstream request. <paramref name="legacyMaxTokens"/>: endpoints that only know max_tokens.</summary>
    public static JsonObject WriteRequest(ChatRequest request, string upstreamModel, string upstream, bool legacyMaxTokens = false)
    {
        if (request.TopK is not null)
        {
            throw GatewayException.Unsupported("'top_k'", upstream);
        }
        var messages = new JsonArray();
        if (request.System.Count > 0)
        {
            messages.Add(new JsonObject { ["role"] = "system", ["content"] = Mapping.TextOnly(request.System, "A system prompt", upstream) });
        }
        foreach (var message in request.Messages)
        {
            if (message.Role == Role.Assistant)
            {
                // Another vendor's reasoning (signed thinking blocks) means nothing to an OpenAI model: not sent.
                messages.Add(AssistantMessage(message.Parts));
                continue;
            }
            foreach (var result in message.Parts.OfType<ToolResultPart>())
            {
                var text = Mapping.TextOnly(result.Content, "A tool result", upstream);
                messages.Add(new JsonObject { ["role"] = "tool", ["tool_call_id"] = result.CallId, ["content"] = result.IsError ? "Error: " + text : text });
            }
            var rest = message.Parts.Where(p => p is not ToolResultPart).ToList();
            if (rest.Count > 0)
            {
                messages.Add(new JsonObject { ["role"] = "user", ["content"] = UserContent(rest, upstream) });
            }
        }
        var body = new JsonObject { ["model"] = upstreamModel, ["messages"] = messages };
        if (request.Tools.Count > 0)
        {
            body["tools"] = new JsonArray([.. request.Tools.Select(t =>
            {
                var fn = new JsonObject { ["name"] = t.Name, ["parameters"] = t.Schema.DeepClone() };
                if (t.Description is not null)
                {
                    fn["description"] = t.Description;
                }
                if (t.Strict is { } strict)
                {
                    fn["strict"] = strict;
                }
                return (JsonNode)new JsonObject { ["type"] = "function", ["function"] = fn };
            })]);
        }
        if (request.ToolChoice is { } choice)
        {
            body["tool_choice"] = choice.Kind switch
            {
                ToolChoiceKind.Auto => "auto",
                ToolChoiceKind.None => "none",
                ToolChoiceKind.Required => "required",
                _ => new JsonObject { ["type"] = "function", ["function"] = new JsonObject { ["name"] = choice.Name } },
            };
        }
        if (request.ParallelToolCalls is { } parallel && request.Tools.Count > 0)
        {
            body["parallel_tool_calls"] = parallel;
        }
        if (request.Format is { } format)
        {
            body["response_format"] = format.Kind switch
            {
                OutputFormatKind.Text => new JsonObject { ["type"] = "text" },
                OutputFormatKind.JsonObject => new JsonObject { ["type"] = "json_object" },
                _ => new JsonObject
                {
                    ["type"] = "json_schema",
                    ["json_schema"] = new JsonObject { ["name"] = format.Name ?? "response", ["schema"] = format.Schema?.DeepClone(), ["strict"] = format.Strict },
                },
            };
        }
        if (request.Stop.Count > 0)
        {
            body["stop"] = new JsonArray([.. request.Stop.Select(s => (JsonNode)s)]);
        }
        Mapping.Set(body, "temperature", request.Temperature);
        Mapping.Set(body, "top_p", request.TopP);
        Mapping.Set(body, legacyMaxTokens ? "max_tokens" : "max_completion_tokens", request.MaxTokens);
        if (request.Reasoning is { } reasoning)
        {
            body["reasoning_effort"] = reasoning.Effort ?? Mapping.EffortFor(reasoning.BudgetTokens ?? 0);
        }
        if (request.User is not null)
        {
            body["user"] = request.User;
        }
        if (request.Stream)
        {
            body["stream"] = true;
            body["stream_options"] = new JsonObject { ["include_usage"] = true };
        }
        return body;
    }

    /// <summary>Text joined into content, tool calls as tool_calls: the assistant message of requests and answers alike.</summary>
    private static JsonObject AssistantMessage(IReadOnlyList<Part> parts)
    {
        var text = string.Concat(parts.OfType<TextPart>().Select(t => t.Text));
        var result = new JsonObject { ["role"] = "assistant", ["content"] = text.Length > 0 ? text : null };
        var calls = parts.OfType<ToolCallPart>().ToList();
        if (calls.Count > 0)
        {
            result["tool_calls"] = new JsonArray([.. calls.Select(c => (JsonNode)new JsonObject
            {
                ["id"] = c.Id,
                ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = c.Name, ["arguments"] = c.Arguments },
            })]);
        }
        return result;
    }

    private static JsonNode UserContent(List<Part> parts, string upstream)
    {
        if (parts is [TextPart only])
        {
            return only.Text;
        }
        return new JsonArray([.. parts.Select(p => (JsonNode)(p switch
        {
            TextPart t => new JsonObject { ["type"] = "text", ["text"] = t.Text },
            ImagePart { Url: { } url } => new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = url } },
            ImagePart i => new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = Mapping.DataUrl(i.MediaType!, i.Data!) } },
            DocumentPart { Data: { } data, MediaType: "application/pdf" } d => new JsonObject
            {
                ["type"] = "file",
                ["file"] = new JsonObject { ["filename"] = d.Title ?? "document.pdf", ["file_data"] = Mapping.DataUrl("application/pdf", data) },
            },
            DocumentPart => throw GatewayException.Unsupported("A document other than an inline PDF", upstream),
            _ => throw GatewayException.Unsupported($"A {p.GetType().Name} in a user turn", upstream),
        }))]);
    }

    // ---- responses ------------------------------------------------------------------------

    public static ChatResponse ParseResponse(JsonObject body)
    {
        var choice = (Get(body, "choices") as JsonArray)?.FirstOrDefault() as JsonObject
            ?? throw new GatewayException(new GatewayError(ErrorKind.Api, "The upstream answered without a choice."));
        var message = Get(choice, "message") as JsonObject ?? [];
        var response = new ChatResponse
        {
            Id = (string?)Get(body, "id") ?? "",
            Model = (string?)Get(body, "model") ?? "",
            StopReason = StopFrom((string?)Get(choice, "finish_reason")),
            Usage = UsageFrom(Get(body, "usage") as JsonObject) ?? Usage.None,
        };
        if ((string?)Get(message, "reasoning_content") is { Length: > 0 } reasoning)
        {
            response.Content.Add(new ThinkingPart(reasoning, null));
        }
        if ((string?)Get(message, "content") is { Length: > 0 } text)
        {
            response.Content.Add(new TextPart(text));
        }
        if ((string?)Get(message, "refusal") is { Length: > 0 } refusal)
        {
            response.Content.Add(new TextPart(refusal));
            response.StopReason = StopReason.ContentFilter;
        }
        foreach (var call in (Get(message, "tool_calls") as JsonArray ?? []).OfType<JsonObject>())
        {
            var fn = Get(call, "function") as JsonObject ?? [];
            response.Content.Add(new ToolCallPart((string?)Get(call, "id") ?? "", (string?)Get(fn, "name") ?? "", (string?)Get(fn, "arguments") ?? "{}"));
        }
        return response;
    }

    public static JsonObject WriteResponse(ChatResponse response, string model, long created)
    {
        var message = AssistantMessage(response.Content);
        message["refusal"] = null;
        var reasoning = string.Concat(response.Content.OfType<ThinkingPart>().Select(t => t.Text));
        if (reasoning.Length > 0)
        {
            message["reasoning_content"] = reasoning;
        }
        return new JsonObject
        {
            ["id"] = response.Id.StartsWith("chatcmpl-", StringComparison.Ordinal) ? response.Id : "chatcmpl-" + response.Id,
            ["object"] = "chat.completion",
            ["created"] = created,
            ["model"] = model,
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = message, ["logprobs"] = null, ["finish_reason"] = FinishReason(response.StopReason) }),
            ["usage"] = UsageJson(response.Usage),
        };
    }

    internal static StopReason StopFrom(string? finish) => finish switch
    {
        "length" => StopReason.MaxTokens,
        "tool_calls" or "function_call" => StopReason.ToolUse,
        "content_filter" => StopReason.ContentFilter,
        _ => StopReason.EndTurn,
    };

    internal static string FinishReason(StopReason reason) => reason switch
    {
        StopReason.MaxTokens => "length",
        StopReason.ToolUse => "tool_calls",
        StopReason.ContentFilter => "content_filter",
        _ => "stop",
    };

    public static Usage? UsageFrom(JsonObject? usage)
    {
        if (usage is null)
        {
            return null;
        }
        long prompt = (long?)Get(usage, "prompt_tokens") ?? 0, completion = (long?)Get(usage, "completion_tokens") ?? 0;
        long cached = (long?)(Get(usage, "prompt_tokens_details") as JsonObject)?["cached_tokens"] ?? 0;
        long reasoning = (long?)(Get(usage, "completion_tokens_details") as JsonObject)?["reasoning_tokens"] ?? 0;
        return new Usage(prompt - cached, completion, cached, 0, reasoning);
    }

    public static JsonObject UsageJson(Usage usage) => new()
    {
        ["prompt_tokens"] = usage.TotalInput,
        ["completion_tokens"] = usage.Output,
        ["total_tokens"] = usage.TotalInput + usage.Output,
        ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = usage.CacheRead },
        ["completion_tokens_details"] = new JsonObject { ["reasoning_tokens"] = usage.Reasoning },
    };

    public static JsonObject Error(GatewayError error) => new()
    {
        ["error"] = new JsonObject
        {
            ["message"] = error.Message,
            ["type"] = error.Type,
            ["param"] = error.Param,
            ["code"] = error.Kind switch
            {
                ErrorKind.Authentication => "invalid_api_key",
                ErrorKind.NotFound => "model_not_found",
                ErrorKind.RateLimited => "rate_limit_exceeded",
                _ => null,
            },
        },
    };
}
