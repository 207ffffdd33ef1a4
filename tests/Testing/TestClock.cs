using System.Globalization;
using Microsoft.Extensions.Time.Testing;

namespace ThinkWatch.Testing;

/// <summary>
/// Where every fake clock of a test process starts: the real now, read once, so all the services a
/// test starts agree with each other (tokens one issues are current for the others) and with the
/// servers' own clocks (Redis, ClickHouse, Postgres). <c>THINKWATCH_TEST_CLOCK</c> (an ISO 8601
/// instant) starts them elsewhere instead, to show that nothing depends on the servers' clocks
/// agreeing with ours or on the date a run happens on.
/// </summary>
public static class TestClock
{
    public static DateTimeOffset Start { get; } =
        Environment.GetEnvironmentVariable("THINKWATCH_TEST_CLOCK") is { Length: > 0 } text
            ? DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal)
            : WholeSeconds(TimeProvider.System.GetUtcNow());

    // Whole seconds, as the servers store them (Postgres keeps microseconds, ClickHouse's DateTime
    // seconds, JWTs seconds): a time written and read back compares equal to the clock's.
    private static DateTimeOffset WholeSeconds(DateTimeOffset at) => new(at.Ticks - at.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);

    /// <summary>A clock the test moves, starting at <see cref="Start"/>.</summary>
    public static FakeTimeProvider Create() => new(Start);
}
