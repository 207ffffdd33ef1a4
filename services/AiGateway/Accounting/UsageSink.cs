using System.Threading.Channels;
using ThinkWatch.Integrations;
using ThinkWatch.Contracts.Events;

namespace ThinkWatch.AiGateway.Accounting;

/// <summary>Where finished requests' usage records go. Never blocks the request path.</summary>
public interface IUsageSink
{
    /// <summary>Queues the record; a <paramref name="ticket"/> is settled with the Quota service before the record is published.</summary>
    void Record(UsageRecorded record, QuotaTicket? ticket = null);
}

/// <summary>A finished request waiting to be settled and published, with the request's trace to continue.</summary>
public sealed record PendingUsage(UsageRecorded Record, QuotaTicket? Ticket, System.Diagnostics.ActivityContext Trace);

/// <summary>
/// Usage records off the request path: a bounded in-memory queue drained by
/// <see cref="UsagePublisher"/> into the durable spool. It fills only if settling with the Quota
/// service falls far behind; then the oldest record is dropped and counted in the log.
/// </summary>
public sealed partial class BusUsageSink(ILogger<BusUsageSink> logger) : IUsageSink
{
    public const int Capacity = 10_000;
    private long _dropped;

    internal Channel<PendingUsage> Queue { get; } = Channel.CreateBounded<PendingUsage>(new BoundedChannelOptions(Capacity)
    {
        FullMode = BoundedChannelFullMode.DropOldest,
    });

    public void Record(UsageRecorded record, QuotaTicket? ticket = null)
    {
        if (Queue.Reader.Count >= Capacity)
        {
            LogDropped(logger, Interlocked.Increment(ref _dropped));
        }
        Queue.Writer.TryWrite(new PendingUsage(record, ticket, TraceContinuation.Capture()));
    }

    [LoggerMessage(EventId = 4301, Level = LogLevel.Error, Message = "Usage queue full: the oldest record was dropped ({Dropped} so far); is the message bus down?")]
    private static partial void LogDropped(ILogger logger, long dropped);
}

/// <summary>
/// Settles queued requests with the Quota service (weighted tokens and cost come back, the
/// reservation is released) and hands their records to the durable event spool, which publishes
/// them in order whenever the broker is there (nothing is lost while it is away, or across a restart).
/// </summary>
public sealed class UsagePublisher(BusUsageSink sink, IQuotaGate quota, EventSpool spool, GatewayMetrics metrics) : BackgroundService
{
    /// <summary>Records settled at once (each waits on a gRPC call).</summary>
    public const int Parallelism = 32;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Parallel.ForEachAsync(sink.Queue.Reader.ReadAllAsync(stoppingToken), new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = stoppingToken },
            async (pending, cancellationToken) =>
            {
                // The settle call and the spooled event's publish belong to the request's trace.
                using var activity = TraceContinuation.Continue("settle and record usage", pending.Trace);
                var record = await SettleAsync(pending, cancellationToken);
                metrics.Finished(record);
                spool.Enqueue(record);
            });

    private async Task<UsageRecorded> SettleAsync(PendingUsage pending, CancellationToken cancellationToken)
    {
        var record = pending.Record;
        if (pending.Ticket is not { } ticket || (ticket.ReservationId is null && record.InputTokens + record.OutputTokens == 0))
        {
            return record;
        }
        return await quota.SettleAsync(ticket, record, cancellationToken) is { } charge
            ? record with { WeightedTokens = charge.WeightedTokens, CostMicroUsd = charge.CostMicroUsd }
            : record;
    }
}
