namespace ThinkWatch.Security;

/// <summary>Allow-lists of names (a key's models, MCP tools; tool grants): exact names or patterns with '*' ("gpt-4o*", "github__*", "*"); none allows nothing.</summary>
public static class NamePatterns
{
    public static bool Allows(IEnumerable<string> patterns, string model) => patterns.Any(p => Matches(p, model));

    public static bool Matches(string pattern, string model)
    {
        var parts = pattern.Split('*');
        if (parts.Length == 1)
        {
            return string.Equals(pattern, model, StringComparison.Ordinal);
        }
        if (!model.StartsWith(parts[0], StringComparison.Ordinal) || !model.EndsWith(parts[^1], StringComparison.Ordinal)
            || model.Length < parts[0].Length + parts[^1].Length)
        {
            return false;
        }
        var position = parts[0].Length;
        var end = model.Length - parts[^1].Length;
        foreach (var middle in parts[1..^1])
        {
            var found = model.IndexOf(middle, position, end - position, StringComparison.Ordinal);
            if (found < 0)
            {
                return false;
            }
            position = found + middle.Length;
        }
        return true;
    }
}
