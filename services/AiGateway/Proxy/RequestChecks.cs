using System.Text.Json;
using System.Text.Json.Nodes;
using ThinkWatch.AiGateway.Conversion;

namespace ThinkWatch.AiGateway.Proxy;

/// <summary>
/// The checks the imitated APIs make on the fields the gateway reads, for every request, passed
/// through or converted: what OpenAI or Anthropic would refuse with a 400 is refused here, before
/// quota is reserved or anything goes upstream.
/// </summary>
public static class RequestChecks
{
    private static readonly string[] OutputCaps = ["max_tokens", "max_completion_tokens", "max_output_tokens"];

    /// <summary>The model the request names; throws a 400 naming the first field that is wrong.</summary>
    public static string Check(ClientFormat format, JsonObject body)
    {
        var model = JsonRead.RequiredString(body, "model", "");
        if (string.IsNullOrWhiteSpace(model))
        {
            throw GatewayException.Invalid("'model' must name a model; it is empty.", "model");
        }
        foreach (var cap in OutputCaps)
        {
            if (JsonRead.Integer(body, cap, "") is < 1)
            {
                throw GatewayException.Invalid($"'{cap}' must be at least 1.", cap);
            }
        }
        switch (format)
        {
            case ClientFormat.OpenAiChat:
                NonEmptyArray(body, "messages");
                break;
            case ClientFormat.Anthropic or ClientFormat.AnthropicCountTokens:
                AnthropicMessages(body);
                break;
            case ClientFormat.OpenAiEmbeddings:
                EmbeddingsInput(body);
                break;
        }
        return model;
    }

    private static JsonArray NonEmptyArray(JsonObject body, string name)
    {
        var items = JsonRead.Array(body, name, "") ?? throw GatewayException.Invalid($"'{name}' is required.", name);
        return items.Count > 0 ? items : throw GatewayException.Invalid($"'{name}' must not be empty.", name);
    }

    private static void AnthropicMessages(JsonObject body)
    {
        var messages = NonEmptyArray(body, "messages");
        for (var i = 0; i < messages.Count; i++)
        {
            var path = $"messages[{i}]";
            var message = JsonRead.Item(messages[i], path);
            if (JsonRead.Get(message, "content") is not JsonArray blocks)
            {
                continue; // a string, or a wrong kind the converters name
            }
            for (var j = 0; j < blocks.Count; j++)
            {
                var blockPath = $"{path}.content[{j}]";
                var block = JsonRead.Item(blocks[j], blockPath);
                if (JsonRead.String(block, "type", blockPath) is "tool_use" or "server_tool_use")
                {
                    MustBeObject(block, "input", blockPath, required: true);
                }
            }
        }
        var tools = JsonRead.Array(body, "tools", "") ?? [];
        for (var i = 0; i < tools.Count; i++)
        {
            MustBeObject(JsonRead.Item(tools[i], $"tools[{i}]"), "input_schema", $"tools[{i}]", required: false);
        }
    }

    private static void MustBeObject(JsonObject o, string name, string path, bool required)
    {
        var field = JsonRead.Join(path, name);
        switch (JsonRead.Get(o, name))
        {
            case JsonObject:
                return;
            case null when !required && !o.ContainsKey(name):
                return;
            case null:
                throw GatewayException.Invalid($"'{field}' is required and must be an object.", field);
            default:
                throw GatewayException.Invalid($"'{field}' must be an object.", field);
        }
    }

    /// <summary>OpenAI's forms: a string, or a non-empty array of strings, of token ids, or of arrays of token ids.</summary>
    private static void EmbeddingsInput(JsonObject body)
    {
        const string message = "'input' must be a string, or a non-empty array of strings or of token arrays.";
        switch (JsonRead.Get(body, "input"))
        {
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                return;
            case JsonArray { Count: > 0 } items when items.All(IsStringOrTokens):
                return;
            case JsonArray { Count: > 0 } tokens when tokens.All(IsTokenId):
                return;
            case null when !body.ContainsKey("input"):
                throw GatewayException.Invalid("'input' is required.", "input");
            default:
                throw GatewayException.Invalid(message, "input");
        }
    }

    private static bool IsTokenId(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<long>(out var id) && id >= 0;

    private static bool IsStringOrTokens(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String || node is JsonArray { Count: > 0 } tokens && tokens.All(IsTokenId);
}
