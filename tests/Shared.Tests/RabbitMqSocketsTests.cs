using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using ThinkWatch.Integrations;
using ThinkWatch.Testing;

namespace ThinkWatch.Shared.Tests;

/// <summary>
/// The broker goes away while one channel's consumer is still busy (MassTransit inserting a batch)
/// and another's acknowledges a whole batch: with our sockets the connection still closes
/// completely — every acknowledgement returns and every channel is told — so MassTransit can
/// reconnect. (With the client's own sockets 127 of the second channel's 300 acknowledgements
/// returned and the rest waited for ever: the first channel's shutdown holds the connection's,
/// and the write loop had died with the broker.)
/// </summary>
[TestFixture]
public sealed class RabbitMqSocketsTests
{
    private const int Deliveries = 300; // well over the client's 128-frame write buffer

    [Test]
    public async Task Acknowledgements_after_the_broker_went_away_do_not_keep_the_connection_from_closing()
    {
        await using var infra = await PrivateInfra.StartAsync();
        var factory = new ConnectionFactory { Uri = new Uri(infra.RabbitMqUri), AutomaticRecoveryEnabled = false, SocketFactory = RabbitMqSockets.Create };
        var connection = await factory.CreateConnectionAsync();
        var busy = await HeldConsumer.StartAsync(connection); // its channel's shutdown comes first
        var acknowledging = await HeldConsumer.StartAsync(connection);
        await Task.WhenAll(busy.AllReceived, acknowledging.AllReceived).WaitAsync(TimeSpan.FromSeconds(30));

        await infra.StopAsync("rabbitmq");
        acknowledging.Release();
        await Task.Delay(1000);
        busy.Release();

        Assert.That(await Completes(acknowledging.AllAnswered), Is.True, () => $"every acknowledgement returned ({acknowledging.Answered} of {Deliveries})");
        Assert.That(await Completes(acknowledging.ShutdownSeen), Is.True, "the second channel was told of the shutdown");
        Assert.That(connection.IsOpen, Is.False);
        await connection.DisposeAsync();
    }

    private static async Task<bool> Completes(Task task) => await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(30))) == task;

    /// <summary>A channel with <see cref="Deliveries"/> deliveries in hand, acknowledged when released.</summary>
    private sealed class HeldConsumer
    {
        private readonly TaskCompletionSource _allReceived = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _allAnswered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _shutdown = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _received;
        private int _answered;

        public Task AllReceived => _allReceived.Task;

        public Task AllAnswered => _allAnswered.Task;

        public Task ShutdownSeen => _shutdown.Task;

        public int Answered => Volatile.Read(ref _answered);

        public void Release() => _release.SetResult();

        public static async Task<HeldConsumer> StartAsync(IConnection connection)
        {
            var held = new HeldConsumer();
            var channel = await connection.CreateChannelAsync(new CreateChannelOptions(false, false, consumerDispatchConcurrency: Deliveries));
            channel.ChannelShutdownAsync += (_, _) =>
            {
                held._shutdown.TrySetResult();
                return Task.CompletedTask;
            };
            var queue = (await channel.QueueDeclareAsync("held-" + Guid.NewGuid().ToString("N")[..8], durable: false, exclusive: false, autoDelete: false)).QueueName;
            for (var i = 0; i < Deliveries; i++)
            {
                await channel.BasicPublishAsync("", queue, new byte[] { 1 });
            }
            await channel.BasicQosAsync(0, Deliveries, false);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += async (_, delivery) =>
            {
                if (Interlocked.Increment(ref held._received) == Deliveries)
                {
                    held._allReceived.TrySetResult();
                }
                await held._release.Task;
                try
                {
                    await channel.BasicAckAsync(delivery.DeliveryTag, false);
                }
                catch (RabbitMQ.Client.Exceptions.AlreadyClosedException)
                {
                    // the channel closed first; the delivery comes again
                }
                if (Interlocked.Increment(ref held._answered) == Deliveries)
                {
                    held._allAnswered.TrySetResult();
                }
            };
            await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
            return held;
        }
    }
}
