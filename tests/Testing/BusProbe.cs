using System.Diagnostics;
using System.Threading.Channels;
using MassTransit;

namespace ThinkWatch.Testing;

/// <summary>Listens on RabbitMQ for <typeparamref name="T"/> as a gateway would, recording when each arrives.</summary>
public sealed class BusProbe<T> : IAsyncDisposable where T : class
{
    private readonly IBusControl _bus;
    private readonly Channel<(T Message, long At)> _received = Channel.CreateUnbounded<(T, long)>();

    private BusProbe(string rabbitUri) =>
        _bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(new Uri(rabbitUri));
            cfg.ReceiveEndpoint($"probe-{typeof(T).Name}-{Guid.NewGuid():N}", e =>
            {
                e.AutoDelete = true;
                e.Durable = false;
                // One at a time, so messages are seen in the order the queue holds them.
                e.ConcurrentMessageLimit = 1;
                e.Handler<T>(context => _received.Writer.WriteAsync((context.Message, Stopwatch.GetTimestamp())).AsTask());
            });
        });

    public static async Task<BusProbe<T>> StartAsync(string rabbitUri)
    {
        var probe = new BusProbe<T>(rabbitUri);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await probe._bus.StartAsync(timeout.Token);
        return probe;
    }

    /// <summary>The first message matching <paramref name="match"/>, and when it arrived (Stopwatch ticks); throws after <paramref name="timeout"/>.</summary>
    public async Task<(T Message, long At)> WaitAsync(Func<T, bool> match, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            var item = await _received.Reader.ReadAsync(cts.Token);
            if (match(item.Message))
            {
                return item;
            }
        }
    }

    /// <summary>Every message matching <paramref name="match"/> that arrives within <paramref name="window"/>.</summary>
    public async Task<IReadOnlyList<T>> CollectAsync(Func<T, bool> match, TimeSpan window)
    {
        var found = new List<T>();
        using var cts = new CancellationTokenSource(window);
        try
        {
            while (true)
            {
                var (message, _) = await _received.Reader.ReadAsync(cts.Token);
                if (match(message))
                {
                    found.Add(message);
                }
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            return found;
        }
    }

    public async ValueTask DisposeAsync() => await _bus.StopAsync();
}
