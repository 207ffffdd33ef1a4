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
}
