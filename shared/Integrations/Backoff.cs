namespace ThinkWatch.Integrations;

/// <summary>Pauses between retries: <c>first</c>, then doubling, never more than <c>max</c>.</summary>
public static class Backoff
{
    /// <summary>The pause before retry number <paramref name="attempt"/> (1 = after the first failure).</summary>
    public static TimeSpan Exponential(int attempt, TimeSpan first, TimeSpan max) =>
        TimeSpan.FromMilliseconds(Math.Min(max.TotalMilliseconds, first.TotalMilliseconds * Math.Pow(2, Math.Clamp(attempt - 1, 0, 16))));
}
