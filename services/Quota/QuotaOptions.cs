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

    /// <summary>A reservation of a request that never settles (its gateway crashed) is released after this long.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "01:00:00")]
    public TimeSpan ReservationTtl { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The hash tag every Redis key starts with (<c>{tw}:…</c>): one check touches the keys of all
    /// its subjects atomically, so they live in one Redis Cluster slot. Distinct prefixes let
    /// several deployments share a Redis.
    /// </summary>
    [RegularExpression("^[A-Za-z0-9_.-]{1,32}$")]
    public string RedisPrefix { get; set; } = "tw";

    /// <summary>Output tokens reserved against budgets when a request sets no max_tokens.</summary>
    [Range(1, 10_000_000)]
    public long DefaultOutputReservation { get; set; } = 4096;

    /// <summary>The most output tokens one request reserves, whatever max_tokens it sets (its real use is settled anyway).</summary>
    [Range(1, 10_000_000)]
    public long MaxOutputReservation { get; set; } = 32_768;

    /// <summary>Budget alert thresholds in percent; each is announced once per budget per period.</summary>
    public int[] AlertThresholds { get; set; } = [50, 80, 95, 100];

    /// <summary>Rules and prices are reloaded at least this often even without a change event.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan RuleRefreshInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>While Redis is unreachable, one log line per this interval (every call is counted in the metric).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan OutageLogInterval { get; set; } = TimeSpan.FromMinutes(1);
}
