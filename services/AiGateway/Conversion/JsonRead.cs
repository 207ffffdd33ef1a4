using System.Text.Json;
using System.Text.Json.Nodes;

namespace ThinkWatch.AiGateway.Conversion;

/// <summary>Typed reads from a request body that name the offending field when the type is wrong.</summary>
internal static class JsonRead
{
    public static JsonNode? Get(JsonObject o, string name) => o.TryGetPropertyValue(name, out var v) ? v : null;

    public static string? String(JsonObject o, string name, string path) =>
        Scalar(o, name, path, "a string", v => v.GetValueKind() == JsonValueKind.String, v => v.GetValue<string>());

    public static string RequiredString(JsonObject o, string name, string path) =>
        String(o, name, path) ?? throw GatewayException.Invalid($"'{Join(path, name)}' is required.", Join(path, name));

    public static double? Number(JsonObject o, string name, string path) =>
        Scalar(o, name, path, "a number", v => v.GetValueKind() == JsonValueKind.Number, v => (double?)v.GetValue<double>());

    public static int? Integer(JsonObject o, string name, string path) =>
        Scalar(o, name, path, "an integer", v => v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<int>(out _), v => (int?)v.GetValue<int>());

    public static bool? Bool(JsonObject o, string name, string path) =>
        Scalar(o, name, path, "true or false", v => v.GetValueKind() is JsonValueKind.True or JsonValueKind.False, v => (bool?)v.GetValue<bool>());

    /// <summary>An absent or null field is null; a value of another kind is a 400 naming the field.</summary>
    private static T? Scalar<T>(JsonObject o, string name, string path, string expected, Func<JsonValue, bool> accepts, Func<JsonValue, T> read) =>
        Get(o, name) switch
        {
            null => default,
            JsonValue v when accepts(v) => read(v),
            _ => throw Wrong(path, name, expected),
        };

    public static JsonArray? Array(JsonObject o, string name, string path)
    {
        var node = Get(o, name);
        return node is null ? null : node as JsonArray ?? throw Wrong(path, name, "an array");
    }

    public static JsonObject? Object(JsonObject o, string name, string path)
    {
        var node = Get(o, name);
        return node is null ? null : node as JsonObject ?? throw Wrong(path, name, "an object");
    }

    public static JsonObject Item(JsonNode? node, string path) =>
        node as JsonObject ?? throw GatewayException.Invalid($"'{path}' must be an object.", path);

    /// <summary>A string or an array of strings (stop sequences).</summary>
    public static List<string> Strings(JsonObject o, string name, string path)
    {
        return Get(o, name) switch
        {
            null => [],
            JsonValue v when v.TryGetValue<string>(out var s) => [s],
            JsonArray a => [.. a.Select((n, i) => n is JsonValue sv && sv.TryGetValue<string>(out var s) ? s : throw Wrong(path, $"{name}[{i}]", "a string"))],
            _ => throw Wrong(path, name, "a string or an array of strings"),
        };
    }

    public static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    private static GatewayException Wrong(string path, string name, string expected) =>
        GatewayException.Invalid($"'{Join(path, name)}' must be {expected}.", Join(path, name));

    /// <summary>Refuses fields the conversion does not know: better a clear 400 than a silently lost instruction.</summary>
    public static void OnlyKnown(JsonObject o, IReadOnlySet<string> known, string path, string target)
    {
        foreach (var (name, value) in o)
        {
            if (value is not null && !known.Contains(name))
            {
                throw GatewayException.Unsupported($"'{Join(path, name)}'", target);
            }
        }
    }
}
