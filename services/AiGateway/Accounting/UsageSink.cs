using System.Threading.Channels;
using MassTransit;
using ThinkWatch.Contracts.Events;

namespace ThinkWatch.AiGateway.Accounting;

/// <summary>Where finished requests' usage records go. Never blocks the request path.</summary>
public interface IUsageSink
{
    void Record(UsageRecorded record);
}

/// <summary>
/// Usage records onto the bus, off the request path: a bounded in-memory queue drained by a
/// background publisher. When the queue is full (the broker is away for long) the oldest record
/// is dropped and counted in the log. The durable disk spool belongs to the audit pipeline (issue 6).
/// </summary>
public sealed partial class BusUsageSink(ILogger<BusUsageSink> logger) : IUsageSink
{
    public const int Capacity = 10_000;
    private long _dropped;

    internal Channel<UsageRecorded> Queue { get; } = Channel.CreateBounded<UsageRecorded>(new BoundedChannelOptions(Capacity)
    {
        FullMode = BoundedChannelFullMode.DropOldest,
        SingleReader = true,
    });

    public void Record(UsageRecorded record)
    {
        if (Queue.Reader.Count >= Capacity)
        {
            LogDropped(logger, Interlocked.Increment(ref _dropped));
        }
        Queue.Writer.TryWrite(record);
    }

    [LoggerMessage(EventId = 4301, Level = LogLevel.Error, Message = "Usage queue full: the oldest record was dropped ({Dropped} so far); is the message bus down?")]
    private static partial void LogDropped(ILogger logger, long dropped);
}

/// <summary>Publishes queued usage records; a failed publish is retried until the bus takes it.</summary>
public sealed partial class UsagePublisher(BusUsageSink sink, IBus bus, TimeProvider time, ILogger<UsagePublisher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var record in sink.Queue.Reader.ReadAllAsync(stoppingToken))
        {
            while (true)
            {
                try
                {
                    await bus.Publish(record, stoppingToken);
                    break;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogPublishFailed(logger, ex.Message);
                    await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken);
                }
            }
        }
    }

    [LoggerMessage(EventId = 4302, Level = LogLevel.Warning, Message = "Publishing a usage record failed ({Reason}); retrying")]
    private static partial void LogPublishFailed(ILogger logger, string reason);
}
