using System.Text.Json;
using System.Text.Json.Nodes;

namespace ThinkWatch.AiGateway.Conversion;

/// <summary>Small mappings shared by the formats.</summary>
internal static class Mapping
{
    /// <summary>OpenAI reasoning effort ⇄ a thinking budget in tokens (documented in docs/conversion-matrix.md).</summary>
    public static int BudgetFor(string effort) => effort switch
    {
        "minimal" => 1024,
        "low" => 2048,
        "medium" => 8192,
        "high" => 24576,
        _ => throw GatewayException.Invalid($"'reasoning_effort' must be minimal, low, medium or high, not '{effort}'.", "reasoning_effort"),
    };

    public static string EffortFor(int budget) => budget switch
    {
        <= 1024 => "minimal",
        <= 4096 => "low",
        <= 16384 => "medium",
        _ => "high",
    };

    public static string DataUrl(string mediaType, string data) => $"data:{mediaType};base64,{data}";

    /// <summary>Splits "data:image/png;base64,AAAA" into media type and data; null for other URLs.</summary>
    public static (string MediaType, string Data)? ParseDataUrl(string url)
    {
        if (!url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        var comma = url.IndexOf(',', StringComparison.Ordinal);
        var header = comma < 0 ? "" : url[5..comma];
        if (comma < 0 || !header.EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
        {
            throw GatewayException.Invalid("A data URL must be base64-encoded: data:<media type>;base64,<data>.");
        }
        return (header[..^7], url[(comma + 1)..]);
    }

    /// <summary>The text of parts that may only be text (system prompts, OpenAI tool results).</summary>
    public static string TextOnly(IEnumerable<Part> parts, string what, string upstream)
    {
        var texts = new List<string>();
        foreach (var part in parts)
        {
            texts.Add(part is TextPart t ? t.Text : throw GatewayException.Unsupported($"{what} other than text", upstream));
        }
        return string.Join("\n\n", texts);
    }

    /// <summary>Tool call arguments (JSON text) as the object formats that carry them parsed want.</summary>
    public static JsonObject ToolArguments(string arguments)
    {
        try
        {
            return JsonNode.Parse(arguments.Length == 0 ? "{}" : arguments) as JsonObject
                ?? throw GatewayException.Invalid("Tool call arguments must be a JSON object.");
        }
        catch (JsonException)
        {
            throw GatewayException.Invalid("Tool call arguments are not valid JSON.");
        }
    }

    /// <summary>OpenAI's tool_choice keywords (Chat Completions and Responses).</summary>
    public static ToolChoice ToolChoiceKeyword(string keyword) => keyword switch
    {
        "auto" => new ToolChoice(ToolChoiceKind.Auto),
        "none" => new ToolChoice(ToolChoiceKind.None),
        "required" => new ToolChoice(ToolChoiceKind.Required),
        _ => throw GatewayException.Invalid("'tool_choice' must be auto, none, required or a function.", "tool_choice"),
    };

    /// <summary>Sets an optional number only when it has a value.</summary>
    public static void Set(JsonObject o, string name, double? value)
    {
        if (value is { } v)
        {
            o[name] = v;
        }
    }

    public static void Set(JsonObject o, string name, int? value)
    {
        if (value is { } v)
        {
            o[name] = v;
        }
    }
}
