using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.Options;
using ThinkWatch.ClickHouse;
using ThinkWatch.Integrations;

namespace ThinkWatch.AuditIngest.Ingest;

/// <summary>
/// Writes a batch of events to its ClickHouse table exactly once per event id: ids already stored
/// (a redelivered batch, a replayed spool) are skipped. While ClickHouse is unreachable the write is
/// retried without end — the batch stays unacknowledged on the broker, so an outage only delays
/// events; an error ClickHouse itself reports is retried <see cref="AuditIngestOptions.InsertAttempts"/>
/// times, then thrown so the batch goes to the broker's error queue instead of blocking the rest.
/// </summary>
public sealed partial class EventWriter
{
    private readonly ClickHouseClient _clickHouse;
    private readonly IOptions<AuditIngestOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger<EventWriter> _logger;
    private readonly Counter<long> _ingested;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _failures;

    public EventWriter(ClickHouseClient clickHouse, IOptions<AuditIngestOptions> options, IMeterFactory meters, TimeProvider time, ILogger<EventWriter> logger)
    {
        (_clickHouse, _options, _time, _logger) = (clickHouse, options, time, logger);
        var meter = meters.Create("ThinkWatch");
        _ingested = meter.CreateCounter<long>("audit.ingested", description: "Events written to ClickHouse.");
        _duplicates = meter.CreateCounter<long>("audit.duplicates", description: "Events skipped because ClickHouse already held their id.");
        _failures = meter.CreateCounter<long>("audit.insert_failures", description: "Failed attempts to write a batch to ClickHouse.");
    }

    /// <summary>Writes the rows not stored yet; returns how many were new.</summary>
    public async Task<int> WriteAsync<TRow>(string table, IReadOnlyList<TRow> rows, CancellationToken cancellationToken) where TRow : IEventRow
    {
        var unique = rows.DistinctBy(r => r.EventId).ToList();
        if (unique.Count == 0)
        {
            return 0;
        }
        var tag = new KeyValuePair<string, object?>("table", table);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var stored = await StoredIdsAsync(table, unique, cancellationToken);
                var fresh = stored.Count == 0 ? unique : unique.Where(r => !stored.Contains(r.EventId)).ToList();
                if (fresh.Count > 0)
                {
                    await _clickHouse.InsertAsync(table, fresh, cancellationToken);
                }
                _ingested.Add(fresh.Count, tag);
                _duplicates.Add(rows.Count - fresh.Count, tag);
                if (attempt > 1)
                {
                    LogRecovered(_logger, table, attempt);
                }
                return fresh.Count;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && Retry(ex, attempt))
            {
                _failures.Add(1, tag);
                var pause = Pause(attempt);
                LogRetrying(_logger, unique.Count, table, attempt, ex.GetType().Name, ex.Message, pause);
                await Task.Delay(pause, _time, cancellationToken);
            }
        }
    }

    private bool Retry(Exception ex, int attempt) => ex switch
    {
        HttpRequestException or TaskCanceledException => true, // unreachable or timed out: wait for it
        ClickHouseException => attempt < _options.Value.InsertAttempts,
        _ => false,
    };

    /// <summary>0.2 s, 0.4 s, … doubling up to <see cref="AuditIngestOptions.MaxRetryDelay"/>.</summary>
    private TimeSpan Pause(int attempt) => Backoff.Exponential(attempt, TimeSpan.FromMilliseconds(200), _options.Value.MaxRetryDelay);

    /// <summary>Ids per stored-id query: 2000 quoted UUIDs are about 80 KB, well inside ClickHouse's default max_query_size of 256 KiB.</summary>
    public const int IdsPerQuery = 2000;

    /// <summary>Which of these ids the table holds already; the time range lets ClickHouse read only the days concerned.</summary>
    private async Task<HashSet<string>> StoredIdsAsync<TRow>(string table, List<TRow> rows, CancellationToken cancellationToken) where TRow : IEventRow
    {
        var stored = new HashSet<string>(StringComparer.Ordinal);
        foreach (var chunk in rows.Chunk(IdsPerQuery))
        {
            var sql = new StringBuilder($"SELECT event_id FROM {ClickHouseSql.Identifier(table)} WHERE ts >= ")
                .Append(ClickHouseSql.Literal(chunk.Min(r => r.Ts))).Append(" AND ts <= ").Append(ClickHouseSql.Literal(chunk.Max(r => r.Ts)))
                .Append(" AND event_id IN (");
            for (var i = 0; i < chunk.Length; i++)
            {
                sql.Append(i == 0 ? "" : ",").Append(ClickHouseSql.String(chunk[i].EventId));
            }
            foreach (var row in await _clickHouse.QueryAsync<StoredId>(sql.Append(')').ToString(), cancellationToken))
            {
                stored.Add(row.EventId);
            }
        }
        return stored;
    }

    private sealed record StoredId(string EventId);

    [LoggerMessage(EventId = 6101, Level = LogLevel.Warning, Message = "Writing {Count} events to {Table} failed (attempt {Attempt}): {Error}: {Reason}; retrying in {Pause}")]
    private static partial void LogRetrying(ILogger logger, int count, string table, int attempt, string error, string reason, TimeSpan pause);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Information, Message = "Writing to {Table} succeeded again after {Attempt} attempts")]
    private static partial void LogRecovered(ILogger logger, string table, int attempt);
}
