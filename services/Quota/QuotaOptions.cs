using System.ComponentModel.DataAnnotations;

namespace ThinkWatch.Quota;

public enum LimiterFailureMode
{
    /// <summary>Admit requests when Redis cannot be reached (counted and logged).</summary>
    Open,
    /// <summary>Refuse requests with 429 rate_limiter_unavailable when Redis cannot be reached.</summary>
    Closed,
}

public sealed class QuotaOptions
{
    public const string Section = "Quota";

    public LimiterFailureMode FailureMode { get; set; } = LimiterFailureMode.Open;

    /// <summary>A reservation of a request that never settles is released after this long.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "01:00:00")]
    public TimeSpan ReservationTtl { get; set; } = TimeSpan.FromMinutes(10);
}
