namespace ThinkWatch.Security;

/// <summary>
/// Refuses secrets that are short, repetitive, sequential or placeholders. Random output of
/// `openssl rand -base64 32` (or longer) always passes; "changeme-changeme-…" never does.
/// </summary>
public static class SecretStrength
{
    public const int MinLength = 32;
    private static readonly string[] Placeholders = ["changeme", "change-me", "secret", "password", "example", "default", "thinkwatch"];

    /// <summary>Why <paramref name="value"/> is not acceptable as <paramref name="setting"/>; null when it is.</summary>
    public static string? Problem(string? value, string setting)
    {
        const string advice = "generate one with `openssl rand -base64 48`";
        if (string.IsNullOrWhiteSpace(value))
        {
            return $"{setting} is not set; {advice}.";
        }
        if (value.Length < MinLength)
        {
            return $"{setting} must be at least {MinLength} characters (it has {value.Length}); {advice}.";
        }
        if (Placeholders.Any(p => value.Contains(p, StringComparison.OrdinalIgnoreCase)))
        {
            return $"{setting} looks like a placeholder; {advice}.";
        }
        if (value.Distinct().Count() < 12 || BitsPerChar(value) < 3.0 || SequentialShare(value) > 0.5)
        {
            return $"{setting} is too predictable (repeated or sequential characters); {advice}.";
        }
        return null;
    }

    private static double BitsPerChar(string value) =>
        -value.GroupBy(c => c).Select(g => (double)g.Count() / value.Length).Sum(p => p * Math.Log2(p));

    private static double SequentialShare(string value)
    {
        var steps = 0;
        for (var i = 1; i < value.Length; i++)
        {
            if (Math.Abs(value[i] - value[i - 1]) <= 1)
            {
                steps++;
            }
        }
        return (double)steps / (value.Length - 1);
    }
}
