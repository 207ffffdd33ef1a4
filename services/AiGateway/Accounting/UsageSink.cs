using System.Threading.Channels;
using MassTransit;
using ThinkWatch.Contracts.Events;

namespace ThinkWatch.AiGateway.Accounting;

/// <summary>Where finished requests' usage records go. Never blocks the request path.</summary>
public interface IUsageSink
{
    /// <summary>Queues the record; a <paramref name="ticket"/> is settled with the Quota service before the record is published.</summary>
    void Record(UsageRecorded record, QuotaTicket? ticket = null);
}

/// <summary>A finished request waiting to be settled and published.</summary>
public sealed record PendingUsage(UsageRecorded Record, QuotaTicket? Ticket);

/// <summary>
/// Usage records onto the bus, off the request path: a bounded in-memory queue drained by a
/// background publisher. When the queue is full (the broker is away for long) the oldest record
/// is dropped and counted in the log. The durable disk spool belongs to the audit pipeline (issue 6).
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
        Queue.Writer.TryWrite(new PendingUsage(record, ticket));
    }

    [LoggerMessage(EventId = 4301, Level = LogLevel.Error, Message = "Usage queue full: the oldest record was dropped ({Dropped} so far); is the message bus down?")]
    private static partial void LogDropped(ILogger logger, long dropped);
}

/// <summary>
/// Settles queued requests with the Quota service (weighted tokens and cost come back, the
/// reservation is released) and publishes their records; a failed publish is retried until the bus takes it.
/// </summary>
public sealed partial class UsagePublisher(BusUsageSink sink, IQuotaGate quota, IBus bus, TimeProvider time, ILogger<UsagePublisher> logger) : BackgroundService
{
    /// <summary>Records settled and published at once (each waits on a gRPC call and a publish).</summary>
    public const int Parallelism = 32;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Parallel.ForEachAsync(sink.Queue.Reader.ReadAllAsync(stoppingToken), new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = stoppingToken },
            async (pending, cancellationToken) => await PublishAsync(await SettleAsync(pending, cancellationToken), cancellationToken));

    private async Task<UsageRecorded> SettleAsync(PendingUsage pending, CancellationToken cancellationToken)
    {
        var record = pending.Record;
        if (pending.Ticket is not { } ticket || (ticket.ReservationId is null && record.InputTokens + record.OutputTokens == 0))
        {
            return record;
        }
        var usage = new Conversion.Usage(record.InputTokens - record.CachedInputTokens, record.OutputTokens, CacheRead: record.CachedInputTokens);
        return await quota.SettleAsync(ticket, record.Provider, usage, cancellationToken) is { } charge
            ? record with { WeightedTokens = charge.WeightedTokens, CostMicroUsd = charge.CostMicroUsd }
            : record;
    }

    private async Task PublishAsync(UsageRecorded record, CancellationToken stoppingToken)
    {
        while (true)
        {
            try
            {
                await bus.Publish(record, stoppingToken);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogPublishFailed(logger, ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken);
            }
        }
    }

    [LoggerMessage(EventId = 4302, Level = LogLevel.Warning, Message = "Publishing a usage record failed ({Reason}); retrying")]
    private static partial void LogPublishFailed(ILogger logger, string reason);
}
