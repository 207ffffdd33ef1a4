using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using MassTransit;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;

namespace ThinkWatch.Integrations;

public sealed class ConsumerWatchOptions
{
    public const string Section = "RabbitMq:ConsumerWatch";

    /// <summary>How often the queues this service consumes are looked at.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long one of them may hold messages with no consumer before <c>/health/live</c> fails;
    /// well over MassTransit's reconnect back-off (30 s at most) after a broker restart.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan Grace { get; set; } = TimeSpan.FromMinutes(2);
}

/// <summary>
/// Watches the durable queues this service's receive endpoints consume (learnt as they become
/// ready) through a connection of its own, and fails the liveness check when one has held
/// messages with no consumer at all for longer than <see cref="ConsumerWatchOptions.Grace"/>:
/// consumers lost in a way the bus does not notice (it reports healthy) are repaired only by a
/// restart, which the orchestrator then does. The broker being unreachable is not this check's
/// concern (readiness reports it) and starts the count again.
/// </summary>
public sealed partial class ConsumerWatch(Uri broker, BroadcastSubscription broadcast, IOptions<ConsumerWatchOptions> options, TimeProvider time, ILogger<ConsumerWatch> logger)
    : BackgroundService, IReceiveEndpointObserver, IHealthCheck
{
    public const string CheckName = "rabbitmq-consumers";

    // Queue name → a broadcast queue (temporary, of this instance).
    private readonly ConcurrentDictionary<string, bool> _queues = new();
    private readonly UnconsumedQueues _unconsumed = new();
    private volatile string? _problem;

    /// <summary>The queues watched, by name.</summary>
    public IReadOnlyCollection<string> Queues => [.. _queues.Keys];

    public Task Ready(ReceiveEndpointReady ready)
    {
        _queues.TryAdd(BroadcastSubscription.QueueOf(ready.InputAddress), broadcast.IsBroadcast(ready.InputAddress));
        return Task.CompletedTask;
    }

    public Task Stopping(ReceiveEndpointStopping stopping) => Task.CompletedTask;

    public Task Completed(ReceiveEndpointCompleted completed) => Task.CompletedTask;

    public Task Faulted(ReceiveEndpointFaulted faulted) => Task.CompletedTask;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_problem is { } problem ? HealthCheckResult.Unhealthy(problem) : HealthCheckResult.Healthy($"{_queues.Count} queues consumed"));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var factory = new ConnectionFactory
        {
            Uri = broker,
            ClientProvidedName = "thinkwatch-consumer-watch",
            AutomaticRecoveryEnabled = false,
            SocketFactory = RabbitMqSockets.Create,
        };
        IConnection? connection = null;
        using var timer = new PeriodicTimer(options.Value.Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (_queues.IsEmpty)
                {
                    continue;
                }
                try
                {
                    connection ??= await factory.CreateConnectionAsync(stoppingToken);
                    foreach (var (queue, temporary) in _queues)
                    {
                        await LookAsync(connection, queue, temporary, stoppingToken);
                    }
                }
                catch (Exception) when (!stoppingToken.IsCancellationRequested)
                {
                    // Broker away (refused, timed out): nothing to judge; count again once it answers.
                    _unconsumed.Clear();
                    await DropAsync(connection);
                    connection = null;
                }
                Judge();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping
        }
        finally
        {
            await DropAsync(connection);
        }
    }

    /// <summary>A connection the broker dropped may not close cleanly; it is abandoned rather than waited for.</summary>
    private static async Task DropAsync(IConnection? connection)
    {
        if (connection is null)
        {
            return;
        }
        try
        {
            await connection.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception)
        {
            // already broken; nothing more to do with it
        }
    }

    /// <summary>
    /// One passive declare on a channel of its own (a missing queue closes the channel it was asked on).
    /// A durable queue is in trouble when messages wait in it with nobody consuming; a temporary one
    /// (the broadcast subscription) when it is gone or has no consumer, whatever it holds: events
    /// published meanwhile reach nobody here.
    /// </summary>
    private async Task LookAsync(IConnection connection, string queue, bool temporary, CancellationToken cancellationToken)
    {
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        uint messages = 0, consumers = 0;
        try
        {
            var state = await channel.QueueDeclarePassiveAsync(queue, cancellationToken);
            (messages, consumers) = (state.MessageCount, state.ConsumerCount);
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
        {
            // deleted: nothing waits in it (and nobody listens on it)
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 405)
        {
            // An exclusive queue (MassTransit's temporary ones) that another connection owns: it lives
            // exactly as long as the connection that consumes it.
            consumers = 1;
        }
        _unconsumed.Observe(queue, messages, consumers, time.GetUtcNow(), mustBeConsumed: temporary);
        if (temporary && consumers == 0)
        {
            broadcast.MarkLost(queue, "is gone or has no consumer");
        }
        else if (temporary)
        {
            broadcast.MarkSeenConsumed(queue);
        }
    }

    private void Judge()
    {
        var worst = _unconsumed.Longest(time.GetUtcNow());
        if (worst is { } w && w.For >= options.Value.Grace)
        {
            var problem = _queues.TryGetValue(w.Queue, out var temporary) && temporary
                ? $"broadcast queue {w.Queue} has been gone or without a consumer for {w.For.TotalSeconds:0} s"
                : $"queue {w.Queue} has held {w.Messages} messages with no consumer for {w.For.TotalSeconds:0} s";
            if (_problem is null)
            {
                LogConsumersLost(logger, w.Queue, problem);
            }
            _problem = problem;
        }
        else
        {
            _problem = null;
        }
    }

    [LoggerMessage(EventId = 1035, Level = LogLevel.Error,
        Message = "Consumers of {Queue} are gone ({Problem}); /health/live now fails so that this service is restarted")]
    private static partial void LogConsumersLost(ILogger logger, string queue, string problem);
}

/// <summary>Since when each queue has been left unconsumed (the watch's memory, one caller).</summary>
public sealed class UnconsumedQueues
{
    private readonly Dictionary<string, (DateTimeOffset Since, uint Messages)> _since = [];

    /// <summary>
    /// A queue is unconsumed when it has no consumer while messages wait in it — or, <paramref name="mustBeConsumed"/>
    /// (a broadcast queue, whose events are lost while nobody listens), whatever it holds.
    /// </summary>
    public void Observe(string queue, uint messages, uint consumers, DateTimeOffset now, bool mustBeConsumed = false)
    {
        if (consumers > 0 || messages == 0 && !mustBeConsumed)
        {
            _since.Remove(queue);
        }
        else
        {
            _since[queue] = (_since.TryGetValue(queue, out var seen) ? seen.Since : now, messages);
        }
    }

    public void Clear() => _since.Clear();

    /// <summary>The queue unconsumed the longest, if any.</summary>
    public (string Queue, uint Messages, TimeSpan For)? Longest(DateTimeOffset now) =>
        _since.Count == 0 ? null : _since.Select(p => (p.Key, p.Value.Messages, now - p.Value.Since)).MaxBy(p => p.Item3);
}
