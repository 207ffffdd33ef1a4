using NUnit.Framework;

namespace ThinkWatch.Testing;

/// <summary>Waiting for a state, never for a length of time.</summary>
public static class Poll
{
    /// <summary>How long until <paramref name="condition"/> held (looked at every 10 ms); fails the test when it has not within <paramref name="limit"/>.</summary>
    public static async Task<TimeSpan> UntilAsync(Func<Task<bool>> condition, TimeSpan limit, string what)
    {
        var started = DateTime.UtcNow;
        while (!await condition())
        {
            Assert.That(DateTime.UtcNow - started, Is.LessThan(limit), $"waiting for {what}");
            await Task.Delay(10);
        }
        return DateTime.UtcNow - started;
    }

    public static Task<TimeSpan> UntilAsync(Func<bool> condition, TimeSpan limit, string what) => UntilAsync(() => Task.FromResult(condition()), limit, what);
}
