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
    // Broadcast queue name → its state (read and written under _gate).
    private readonly Dictionary<string, QueueState> _queues = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private bool _listening;

    private enum QueueState { Listening, Lost, Stopped }

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

    /// <summary>
    /// The consumer watch saw <paramref name="queue"/> consumed. That brings it back only if its endpoint has not said it
    /// stopped: right after a stop the exclusive queue lingers until the broker drops it, and the watch would otherwise
    /// turn the caches back on for a moment (only the endpoint's next Ready does that).
    /// </summary>
    public void MarkSeenConsumed(string queue) => Change(queue, QueueState.Listening, "", byWatch: true);

    /// <summary>The consumer watch found <paramref name="queue"/> gone or without a consumer.</summary>
    public void MarkLost(string queue, string why) => Change(queue, QueueState.Lost, why, byWatch: true);

    /// <summary>Records one queue's state and, when that changes whether the instance listens, acts on it.</summary>
    private void Change(string queue, QueueState state, string why, bool byWatch = false)
    {
        bool changed;
        lock (_gate)
        {
            if (byWatch && _queues.GetValueOrDefault(queue) is QueueState.Stopped)
            {
                return; // the endpoint said it stopped: only its own Ready changes that
            }
            _queues[queue] = state;
            var now = _queues.Values.All(s => s is QueueState.Listening);
            changed = now != _listening;
            Volatile.Write(ref _listening, now);
        }
        if (!changed)
        {
            return;
        }
        if (state is QueueState.Listening)
        {
            // Whatever was cached before may have missed an invalidation while nobody listened.
            foreach (var reset in services.GetServices<BroadcastCacheReset>())
            {
                reset.Run(services);
            }
            LogListening(logger);
        }
        else
        {
            LogLost(logger, queue, why);
        }
    }

    public Task Ready(ReceiveEndpointReady ready)
    {
        if (IsBroadcast(ready.InputAddress))
        {
            Change(QueueOf(ready.InputAddress), QueueState.Listening, "");
        }
        return Task.CompletedTask;
    }

    public Task Stopping(ReceiveEndpointStopping stopping)
    {
        if (IsBroadcast(stopping.InputAddress))
        {
            Change(QueueOf(stopping.InputAddress), QueueState.Stopped, "its endpoint is stopping");
        }
        return Task.CompletedTask;
    }

    public Task Completed(ReceiveEndpointCompleted completed) => Task.CompletedTask;

    public Task Faulted(ReceiveEndpointFaulted faulted)
    {
        if (IsBroadcast(faulted.InputAddress))
        {
            Change(QueueOf(faulted.InputAddress), QueueState.Stopped, "its endpoint faulted: " + faulted.Exception?.GetType().Name);
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
