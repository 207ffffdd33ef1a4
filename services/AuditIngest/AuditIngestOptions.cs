using System.ComponentModel.DataAnnotations;

namespace ThinkWatch.AuditIngest;

public sealed class AuditIngestOptions
{
    public const string Section = "AuditIngest";

    /// <summary>Events written to ClickHouse per insert, at most.</summary>
    [Range(1, 100_000)]
    public int BatchSize { get; set; } = 1000;

    /// <summary>A partial batch is written after waiting this long.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan BatchTimeLimit { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Attempts at a batch ClickHouse answers with an error (not an outage: those are retried until
    /// it returns) before the batch goes to the broker's error queue.
    /// </summary>
    [Range(1, 1000)]
    public int InsertAttempts { get; set; } = 8;

    /// <summary>The longest pause between two attempts at a batch.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A forwarder whose attempts at a batch all failed gets no new tries for this long (its batches are dead-lettered); dead letters are offered again at this pace.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan ForwarderCoolDown { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How soon a forwarder changed on another replica is seen here.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ForwarderRefreshInterval { get; set; } = TimeSpan.FromSeconds(15);

    [Required]
    public RetentionOptions Retention { get; set; } = new();
}

/// <summary>How long each table keeps its events, in days (0: for ever); checked every <see cref="Interval"/>.</summary>
public sealed class RetentionOptions
{
    [Range(0, 36_500)]
    public int UsageDays { get; set; } = 400;

    [Range(0, 36_500)]
    public int McpCallDays { get; set; } = 400;

    /// <summary>Administrative actions: seven years by default, as many audit regimes ask.</summary>
    [Range(0, 36_500)]
    public int AdminAuditDays { get; set; } = 2557;

    [Range(0, 36_500)]
    public int AccessDays { get; set; } = 90;

    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(6);
}
