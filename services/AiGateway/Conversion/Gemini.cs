using System.Text.Json;
using System.Text.Json.Nodes;
using static ThinkWatch.AiGateway.Conversion.JsonRead;

namespace ThinkWatch.AiGateway.Conversion;

/// <summary>
/// Google Gemini generateContent ⇄ the canonical conversation. Gemini names a tool result by the
/// function's name, so results look up the call they answer; its thought signatures travel as
/// signature-only thinking parts placed before the part they belong to.
/// </summary>
public static class Gemini
{
    public const string Name = "Google Gemini";

    public static JsonObject WriteRequest(ChatRequest request, string upstream)
    {
        if (request.ParallelToolCalls == false)
        {
            throw GatewayException.Unsupported("'parallel_tool_calls: false'", upstream);
        }
        var callNames = request.Messages.SelectMany(m => m.Parts).OfType<ToolCallPart>().GroupBy(c => c.Id).ToDictionary(g => g.Key, g => g.First().Name);
        var contents = new JsonArray();
        foreach (var message in request.Messages)
        {
            var parts = new JsonArray();
            string? signature = null;
            foreach (var part in message.Parts.OrderBy(p => p is ToolResultPart ? 0 : 1))
            {
                if (part is ThinkingPart thinking)
                {
                    // Only Gemini's own signatures mean something here; they ride on the next part.
                    if (thinking is { Text.Length: 0, Signature: { } s, Redacted: null })
                    {
                        signature = s;
                    }
                    continue;
                }
                if (part is TextPart { Text.Length: 0 })
                {
                    continue;
                }
                var written = PartJson(part, callNames, upstream);
                if (signature is not null)
                {
                    written["thoughtSignature"] = signature;
                    signature = null;
                }
                parts.Add(written);
            }
            if (parts.Count > 0)
            {
                contents.Add(new JsonObject { ["role"] = message.Role == Role.User ? "user" : "model", ["parts"] = parts });
            }
        }
        var body = new JsonObject { ["contents"] = contents };
        if (request.System.Count > 0)
        {
            body["systemInstruction"] = new JsonObject { ["parts"] = new JsonArray(new JsonObject { ["text"] = Mapping.TextOnly(request.System, "A system prompt", upstream) }) };
        }
        if (request.Tools.Count > 0)
        {
            body["tools"] = new JsonArray(new JsonObject
            {
                ["functionDeclarations"] = new JsonArray([.. request.Tools.Select(t =>
                {
                    var fn = new JsonObject { ["name"] = t.Name, ["parametersJsonSchema"] = t.Schema.DeepClone() };
                    if (t.Description is not null)
                    {
                        fn["description"] = t.Description;
                    }
                    return (JsonNode)fn;
                })]),
            });
        }
        if (request.ToolChoice is { } choice)
        {
            var config = new JsonObject
            {
                ["mode"] = choice.Kind switch { ToolChoiceKind.Auto => "AUTO", ToolChoiceKind.None => "NONE", _ => "ANY" },
            };
            if (choice.Kind == ToolChoiceKind.Named)
            {
                config["allowedFunctionNames"] = new JsonArray(choice.Name);
            }
            body["toolConfig"] = new JsonObject { ["functionCallingConfig"] = config };
        }
        var generation = new JsonObject();
        Mapping.Set(generation, "temperature", request.Temperature);
        Mapping.Set(generation, "topP", request.TopP);
        Mapping.Set(generation, "topK", request.TopK);
        Mapping.Set(generation, "maxOutputTokens", request.MaxTokens);
        if (request.Stop.Count > 0)
        {
            generation["stopSequences"] = new JsonArray([.. request.Stop.Select(s => (JsonNode)s)]);
        }
        switch (request.Format)
        {
            case { Kind: OutputFormatKind.JsonObject }:
                generation["responseMimeType"] = "application/json";
                break;
            case { Kind: OutputFormatKind.JsonSchema } format:
                generation["responseMimeType"] = "application/json";
                generation["responseJsonSchema"] = format.Schema?.DeepClone();
                break;
        }
        if (request.Reasoning is { } reasoning)
        {
            generation["thinkingConfig"] = new JsonObject
            {
                ["thinkingBudget"] = reasoning.BudgetTokens ?? Mapping.BudgetFor(reasoning.Effort ?? "medium"),
                ["includeThoughts"] = true,
            };
        }
        if (generation.Count > 0)
        {
            body["generationConfig"] = generation;
        }
        return body;
    }

    private static JsonObject PartJson(Part part, Dictionary<string, string> callNames, string upstream) => part switch
    {
        TextPart t => new JsonObject { ["text"] = t.Text },
        ImagePart { Data: { } data } i => Inline(i.MediaType!, data),
        DocumentPart { Data: { } data } d => Inline(d.MediaType ?? "application/pdf", data),
        ImagePart or DocumentPart => throw GatewayException.Unsupported("An image or document by URL (send it inline as base64)", upstream),
        ToolCallPart call => new JsonObject
        {
            ["functionCall"] = new JsonObject { ["id"] = call.Id, ["name"] = call.Name, ["args"] = Mapping.ToolArguments(call.Arguments) },
        },
        ToolResultPart result => new JsonObject
        {
            ["functionResponse"] = new JsonObject
            {
                ["id"] = result.CallId,
                ["name"] = callNames.TryGetValue(result.CallId, out var name) ? name
                    : throw GatewayException.Invalid($"The tool result for '{result.CallId}' answers no tool call in the conversation; {Name} needs the function's name."),
                ["response"] = new JsonObject { [result.IsError ? "error" : "result"] = Mapping.TextOnly(result.Content, "A tool result", upstream) },
            },
        },
        _ => throw GatewayException.Unsupported($"A {part.GetType().Name}", upstream),
    };

    private static JsonObject Inline(string mediaType, string data) =>
        new() { ["inlineData"] = new JsonObject { ["mimeType"] = mediaType, ["data"] = data } };

    // ---- responses ------------------------------------------------------------------------

    public static ChatResponse ParseResponse(JsonObject body)
    {
        var response = new ChatResponse
        {
            Id = (string?)Get(body, "responseId") ?? Guid.NewGuid().ToString("N"),
            Model = (string?)Get(body, "modelVersion") ?? "",
            Usage = UsageFrom(Get(body, "usageMetadata") as JsonObject) ?? Usage.None,
        };
        var candidate = (Get(body, "candidates") as JsonArray)?.FirstOrDefault() as JsonObject;
        if (candidate is null)
        {
            // The prompt itself was blocked (promptFeedback.blockReason).
            response.StopReason = StopReason.ContentFilter;
            return response;
        }
        foreach (var part in (candidate["content"]?["parts"] as JsonArray ?? []).OfType<JsonObject>())
        {
            response.Content.AddRange(PartsOf(part));
        }
        response.StopReason = StopFrom((string?)Get(candidate, "finishReason"), response.Content.Any(p => p is ToolCallPart));
        return response;
    }

    /// <summary>A response part as canonical parts: a signature rides as a signature-only thinking part before it.</summary>
    internal static IEnumerable<Part> PartsOf(JsonObject part)
    {
        var signature = (string?)part["thoughtSignature"];
        if ((bool?)part["thought"] == true)
        {
            yield return new ThinkingPart((string?)part["text"] ?? "", signature);
            yield break;
        }
        if (signature is not null)
        {
            yield return new ThinkingPart("", signature);
        }
        if (part["functionCall"] is JsonObject call)
        {
            yield return new ToolCallPart((string?)call["id"] ?? "call_" + Guid.NewGuid().ToString("N")[..24], (string?)call["name"] ?? "", call["args"]?.ToJsonString() ?? "{}");
        }
        else if ((string?)part["text"] is { } text)
        {
            yield return new TextPart(text);
        }
    }

    internal static StopReason StopFrom(string? finish, bool calledTools) => finish switch
    {
        "MAX_TOKENS" => StopReason.MaxTokens,
        "SAFETY" or "RECITATION" or "BLOCKLIST" or "PROHIBITED_CONTENT" or "SPII" or "IMAGE_SAFETY" => StopReason.ContentFilter,
        _ when calledTools => StopReason.ToolUse,
        _ => StopReason.EndTurn,
    };

    /// <summary>promptTokenCount includes cached tokens; thoughts are counted apart from the candidates.</summary>
    public static Usage? UsageFrom(JsonObject? usage)
    {
        if (usage is null)
        {
            return null;
        }
        long prompt = (long?)usage["promptTokenCount"] ?? 0, cached = (long?)usage["cachedContentTokenCount"] ?? 0;
        long thoughts = (long?)usage["thoughtsTokenCount"] ?? 0;
        return new Usage(prompt - cached, ((long?)usage["candidatesTokenCount"] ?? 0) + thoughts, cached, 0, thoughts);
    }
}
