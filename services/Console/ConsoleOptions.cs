using System.ComponentModel.DataAnnotations;

namespace ThinkWatch.Console;

public sealed class ConsoleOptions
{
    public const string Section = "Console";

    /// <summary>A browser session (its server-side tokens) ends after this long without a request; Identity's session may last longer.</summary>
    [Range(typeof(TimeSpan), "00:05:00", "7.00:00:00")]
    public TimeSpan SessionIdleTimeout { get; set; } = TimeSpan.FromHours(12);

    /// <summary>The access token is refreshed when it has less than this left, before a call is made with it.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "00:10:00")]
    public TimeSpan RefreshAhead { get; set; } = TimeSpan.FromMinutes(1);
}
