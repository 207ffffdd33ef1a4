using System.Globalization;
using Microsoft.Extensions.Options;
using ThinkWatch.AuditIngest.Ingest;
using ThinkWatch.ClickHouse;

namespace ThinkWatch.AuditIngest.Retention;

/// <summary>
/// Deletes events older than each table's retention. ClickHouse 18.16 has no TTL, so this is a job,
/// and it works the same on current servers: whole months past the cut-off are dropped as partitions
/// (instant, no rewrite); the rest of the oldest month is deleted with one ALTER … DELETE mutation,
/// issued only when such rows exist.
/// </summary>
public sealed partial class RetentionJob(ClickHouseClient clickHouse, IOptions<AuditIngestOptions> options, TimeProvider time, ILogger<RetentionJob> logger)
    : BackgroundService
{
    private sealed record PartRow(string Partition);

    public IEnumerable<(string Table, int Days)> Tables()
    {
        var r = options.Value.Retention;
        return [(UsageRow.Table, r.UsageDays), (McpCallRow.Table, r.McpCallDays), (AdminAuditRow.Table, r.AdminAuditDays), (AccessRow.Table, r.AccessDays)];
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Retention.Interval, time);
        do
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception ex) when ((ex is HttpRequestException or ClickHouseException or TaskCanceledException) && !stoppingToken.IsCancellationRequested)
            {
                LogFailed(logger, ex.GetType().Name, ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Applies every table's retention once.</summary>
    public async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        foreach (var (table, days) in Tables())
        {
            if (days > 0)
            {
                await ApplyAsync(table, now.AddDays(-days).UtcDateTime, cancellationToken);
            }
        }
    }

    private async Task ApplyAsync(string table, DateTime cutoff, CancellationToken cancellationToken)
    {
        var database = ClickHouseSql.String(clickHouse.Connection.Database);
        var partitions = await clickHouse.QueryAsync<PartRow>(
            $"SELECT DISTINCT partition FROM system.parts WHERE database = {database} AND table = {ClickHouseSql.String(table)} AND active", cancellationToken);
        var firstKept = cutoff.Year * 100 + cutoff.Month; // toYYYYMM of the cut-off: older months go whole
        foreach (var month in partitions.Select(p => int.Parse(p.Partition.Trim('\''), CultureInfo.InvariantCulture)).Where(m => m < firstKept))
        {
            await clickHouse.ExecuteAsync($"ALTER TABLE {ClickHouseSql.Identifier(table)} DROP PARTITION {month}", cancellationToken);
            LogDropped(logger, table, month);
        }
        var older = $"ts < {ClickHouseSql.Literal(cutoff)}";
        var count = await clickHouse.QueryScalarAsync($"SELECT count() FROM {ClickHouseSql.Identifier(table)} WHERE {older}", cancellationToken);
        if (count != "0")
        {
            await clickHouse.ExecuteAsync($"ALTER TABLE {ClickHouseSql.Identifier(table)} DELETE WHERE {older}", cancellationToken);
            LogDeleted(logger, table, long.Parse(count, CultureInfo.InvariantCulture), cutoff);
        }
    }

    [LoggerMessage(EventId = 6201, Level = LogLevel.Information, Message = "Retention: dropped partition {Month} of {Table}")]
    private static partial void LogDropped(ILogger logger, string table, int month);

    [LoggerMessage(EventId = 6202, Level = LogLevel.Information, Message = "Retention: deleting {Count} events of {Table} older than {Cutoff:u}")]
    private static partial void LogDeleted(ILogger logger, string table, long count, DateTime cutoff);

    [LoggerMessage(EventId = 6203, Level = LogLevel.Warning, Message = "Retention run failed: {Error}: {Reason}; next run at the next interval")]
    private static partial void LogFailed(ILogger logger, string error, string reason);
}
