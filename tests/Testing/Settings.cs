namespace ThinkWatch.Testing;

public static class Settings
{
    /// <summary>A test host's settings with the caller's on top (a caller's value replaces the default).</summary>
    public static Dictionary<string, string?> With(this Dictionary<string, string?> defaults, IReadOnlyDictionary<string, string?>? overrides)
    {
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            defaults[key] = value;
        }
        return defaults;
    }
}
