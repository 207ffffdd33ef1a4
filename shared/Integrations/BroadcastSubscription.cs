using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ThinkWatch.Integrations;

/// <summary>
/// Whether this instance's broadcast subscription — its temporary queue for the events every
/// replica must see (key revoked, config changed) — is listening. A broker restart deletes that
/// queue: events published before MassTransit declares it again are lost to this instance. So
/// caches that those events keep fresh are bypassed while it is not listening (<see cref="Listening"/>)
/// and emptied when it listens again (<see cref="BroadcastCacheExtensions.ResetOnBroadcastResumed{T}"/>).
/// MassTransit's endpoint events drive it, and the <see cref="ConsumerWatch"/> too (a queue found
/// missing or without a consumer), for the losses MassTransit does not notice.
/// </summary>
public sealed partial class BroadcastSubscription(IServiceProvider services, ILogger<BroadcastSubscription> logger) : IReceiveEndpointObserver
{
    // Broadcast queue name → listening.
    private readonly ConcurrentDictionary<string, bool> _queues = new();
    private readonly Lock _gate = new();
    private readonly HashSet<string> _stopped = new(StringComparer.Ordinal);
    private bool _listening;

    /// <summary>Events that invalidate caches reach this instance now: every broadcast queue it consumes listens.</summary>
    public bool Listening => Volatile.Read(ref _listening);

    /// <summary>
    /// Temporary (auto-delete) queues are the per-instance broadcast ones — except the bus's own
    /// endpoint (replies to requests), which MassTransit declares only when it is next needed.
    /// </summary>
    public bool IsBroadcast(Uri inputAddress)
    {
        var temporary = inputAddress.Query.Contains("temporary=true", StringComparison.OrdinalIgnoreCase)
            || inputAddress.Query.Contains("autodelete=true", StringComparison.OrdinalIgnoreCase);
        return temporary && QueueOf(inputAddress) != BusQueue();
    }

    private string? _busQueue;

    // Read once, while the container lives (endpoints report stopping while it is being disposed).
    private string? BusQueue() => _busQueue ??= services.GetService<IBus>()?.Address is { } bus ? QueueOf(bus) : null;

    public static string QueueOf(Uri inputAddress) => inputAddress.AbsolutePath.Split('/')[^1];

    public void MarkListening(string queue)
    {
        if (Set(queue, true))
        {
            // Whatever was cached before may have missed an invalidation while nobody listened.
            foreach (var reset in services.GetServices<BroadcastCacheReset>())
            {
                reset.Run(services);
            }
            LogListening(logger);
        }
    }

    /// <summary>
    /// The consumer watch saw <paramref name="queue"/> consumed. That brings it back only if its endpoint has not said it
    /// stopped: right after a stop the exclusive queue lingers until the broker drops it, and the watch would otherwise
    /// turn the caches back on for a moment (only the endpoint's next Ready does that).
    /// </summary>
    public void MarkSeenConsumed(string queue)
    {
        lock (_gate)
        {
            if (_stopped.Contains(queue))
            {
                return;
            }
        }
        MarkListening(queue);
    }

    public void MarkLost(string queue, string why)
    {
        if (Set(queue, false))
        {
            LogLost(logger, queue, why);
        }
    }

    private void Stopped(string queue, bool stopped)
    {
        lock (_gate)
        {
            _ = stopped ? _stopped.Add(queue) : _stopped.Remove(queue);
        }
    }

    /// <summary>Records one queue's state; true when that changed whether the instance listens.</summary>
    private bool Set(string queue, bool listening)
    {
        lock (_gate)
        {
            _queues[queue] = listening;
            var now = _queues.Values.All(l => l);
            var changed = now != _listening;
            Volatile.Write(ref _listening, now);
            return changed;
        }
    }

    public Task Ready(ReceiveEndpointReady ready)
    {
        if (IsBroadcast(ready.InputAddress))
        {
            Stopped(QueueOf(ready.InputAddress), false);
            MarkListening(QueueOf(ready.InputAddress));
        }
        return Task.CompletedTask;
    }

    public Task Stopping(ReceiveEndpointStopping stopping)
    {
        if (IsBroadcast(stopping.InputAddress))
        {
            Stopped(QueueOf(stopping.InputAddress), true);
            MarkLost(QueueOf(stopping.InputAddress), "its endpoint is stopping");
        }
        return Task.CompletedTask;
    }

    public Task Completed(ReceiveEndpointCompleted completed) => Task.CompletedTask;

    public Task Faulted(ReceiveEndpointFaulted faulted)
    {
        if (IsBroadcast(faulted.InputAddress))
        {
            Stopped(QueueOf(faulted.InputAddress), true);
            MarkLost(QueueOf(faulted.InputAddress), "its endpoint faulted: " + faulted.Exception?.GetType().Name);
        }
        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 1036, Level = LogLevel.Information, Message = "Broadcast subscription listening: caches kept fresh by its events were emptied and are used again")]
    private static partial void LogListening(ILogger logger);

    [LoggerMessage(EventId = 1037, Level = LogLevel.Warning, Message = "Broadcast subscription lost: queue {Queue} {Why}; caches kept fresh by its events are bypassed until it listens again")]
    private static partial void LogLost(ILogger logger, string queue, string why);
}

/// <summary>A cache to empty when the broadcast subscription listens again.</summary>
public sealed record BroadcastCacheReset(Action<IServiceProvider> Run);

public static class BroadcastCacheExtensions
{
    /// <summary>Empties <typeparamref name="T"/> (with <paramref name="reset"/>) whenever the broadcast subscription listens again.</summary>
    public static IServiceCollection ResetOnBroadcastResumed<T>(this IServiceCollection services, Action<T> reset) where T : notnull =>
        services.AddSingleton(new BroadcastCacheReset(sp => reset(sp.GetRequiredService<T>())));
}
