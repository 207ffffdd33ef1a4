using System.Diagnostics.Metrics;
using Npgsql;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Integrations;

namespace ThinkWatch.Quota.Limiting;

/// <summary>
/// Announces budget thresholds crossed: an event through the outbox (so a broker outage only
/// delays it) and a metric. Redis decided atomically that this crossing is the first of its period.
/// </summary>
public sealed partial class BudgetAlerts(NpgsqlDataSource dataSource, EventOutbox outbox, QuotaMetrics metrics, TimeProvider time, ILogger<BudgetAlerts> logger)
{
    public async Task AnnounceAsync(IReadOnlyList<BudgetAlert> alerts, CancellationToken cancellationToken)
    {
        if (alerts.Count == 0)
        {
            return;
        }
        foreach (var alert in alerts)
        {
            metrics.BudgetAlerts.Add(1, new KeyValuePair<string, object?>("threshold", alert.ThresholdPercent), new KeyValuePair<string, object?>("period", alert.Budget.Period));
            LogCrossed(logger, alert.Budget.Label, alert.SubjectId, alert.ThresholdPercent);
        }
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var tx = await connection.BeginTransactionAsync(cancellationToken);
            foreach (var a in alerts)
            {
                await outbox.AddAsync(new BudgetThresholdCrossed(Guid.CreateVersion7(), time.GetUtcNow(), a.Budget.Id.ToString(), a.Budget.SubjectKind, a.SubjectId,
                    a.Budget.Period, a.PeriodStart, a.ThresholdPercent, a.Budget.Action, a.UsedWeightedTokens, a.Budget.LimitWeightedTokens,
                    a.UsedMicroUsd, a.Budget.LimitMicroUsd), connection, tx, cancellationToken);
            }
            await tx.CommitAsync(cancellationToken);
            outbox.Flush();
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            LogNotRecorded(logger, alerts.Count, ex.Message);
        }
    }

    [LoggerMessage(EventId = 5111, Level = LogLevel.Warning, Message = "Budget {Label} of {SubjectId} crossed {Threshold}%")]
    private static partial void LogCrossed(ILogger logger, string label, string subjectId, int threshold);

    [LoggerMessage(EventId = 5112, Level = LogLevel.Error, Message = "{Count} budget alert events could not be written to the outbox ({Reason}); the metric and log still have them")]
    private static partial void LogNotRecorded(ILogger logger, int count, string reason);
}
