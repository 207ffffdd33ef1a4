using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using ThinkWatch.Integrations;
using ThinkWatch.Testing;

namespace ThinkWatch.Shared.Tests;

public sealed record WatchedMessage(int N);

public sealed class WatchedConsumer : IConsumer<WatchedMessage>
{
    public Task Consume(ConsumeContext<WatchedMessage> context) => Task.CompletedTask;
}

/// <summary>A queue this service consumes, left with messages and no consumer, fails liveness after the grace period, and recovers with its consumer.</summary>
[TestFixture]
public sealed class ConsumerWatchTests
{
    private static readonly DateTimeOffset T0 = TestClock.Start;

    [Test]
    public void A_queue_counts_as_unconsumed_from_its_first_sighting_with_messages_and_no_consumer()
    {
        var queues = new UnconsumedQueues();
        queues.Observe("a", messages: 5, consumers: 0, T0);
        queues.Observe("a", messages: 9, consumers: 0, T0.AddSeconds(10));
        queues.Observe("b", messages: 1, consumers: 0, T0.AddSeconds(20));

        Assert.That(queues.Longest(T0.AddSeconds(30)), Is.EqualTo(("a", 9u, TimeSpan.FromSeconds(30))));
    }

    [TestCase(5u, 1u, Description = "someone consumes it")]
    [TestCase(0u, 0u, Description = "nothing waits in it")]
    public void A_queue_consumed_or_empty_starts_the_count_again(uint messages, uint consumers)
    {
        var queues = new UnconsumedQueues();
        queues.Observe("a", 5, 0, T0);
        queues.Observe("a", messages, consumers, T0.AddSeconds(10));
        Assert.That(queues.Longest(T0.AddSeconds(20)), Is.Null);

        queues.Observe("a", 5, 0, T0.AddSeconds(20));
        Assert.That(queues.Longest(T0.AddSeconds(25))?.For, Is.EqualTo(TimeSpan.FromSeconds(5)));
        queues.Clear(); // the broker did not answer
        Assert.That(queues.Longest(T0.AddSeconds(25)), Is.Null);
    }

    [Test]
    public async Task Messages_waiting_with_the_consumers_gone_fail_liveness_until_they_are_back()
    {
        var infra = await TestInfrastructure.EnsureStartedAsync();
        var vhost = await TestInfrastructure.CreateVirtualHostAsync("watch-" + Guid.NewGuid().ToString("N")[..8]);
        var uri = infra.RabbitMqUri(virtualHost: vhost);
        using var host = Build(uri);
        await host.StartAsync();
        try
        {
            var watch = host.Services.GetRequiredService<ConsumerWatch>();
            Assert.That(() => watch.Queues, Does.Contain("watched").After(20_000, 100), "the durable queue is watched");
            var bus = host.Services.GetRequiredService<IBusControl>();
            await bus.StopAsync();
            await PublishRawAsync(uri, "watched", 3);
            await Task.Delay(1000);
            Assert.That((await LiveAsync(host)).Status, Is.EqualTo(HealthStatus.Healthy), "within the grace period");

            var failed = await WaitForAsync(host, HealthStatus.Unhealthy);
            Assert.That(failed.Status, Is.EqualTo(HealthStatus.Unhealthy));
            Assert.That(failed.Description, Does.Contain("queue watched has held 3 messages with no consumer"));

            await bus.StartAsync();
            Assert.That((await WaitForAsync(host, HealthStatus.Healthy)).Status, Is.EqualTo(HealthStatus.Healthy), "the consumer is back and takes them");
        }
        finally
        {
            await host.StopAsync();
            await TestInfrastructure.DeleteVirtualHostAsync(vhost);
        }
    }

    [Test]
    public async Task The_watch_keeps_watching_across_a_broker_restart()
    {
        await using var infra = await PrivateInfra.StartAsync();
        using var host = Build(infra.RabbitMqUri);
        await host.StartAsync();
        try
        {
            var watch = host.Services.GetRequiredService<ConsumerWatch>();
            Assert.That(() => watch.Queues, Does.Contain("watched").After(20_000, 100));
            await Task.Delay(500); // the watch has connected

            await infra.StopAsync("rabbitmq");
            await Task.Delay(1000); // its connection is gone
            await infra.StartAsync("rabbitmq");
            await host.Services.GetRequiredService<IBusControl>().StopAsync();
            await PublishRawAsync(infra.RabbitMqUri, "watched", 2);

            var entry = await WaitForAsync(host, HealthStatus.Unhealthy);
            Assert.That(entry.Description, Does.Contain("queue watched has held 2 messages with no consumer"));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Test]
    public async Task A_lost_broadcast_subscription_bypasses_caches_fails_liveness_and_empties_them_when_back()
    {
        var infra = await TestInfrastructure.EnsureStartedAsync();
        var vhost = await TestInfrastructure.CreateVirtualHostAsync("broadcast-" + Guid.NewGuid().ToString("N")[..8]);
        var resets = new ResetCounter();
        using var host = Build(infra.RabbitMqUri(virtualHost: vhost), resets);
        await host.StartAsync();
        try
        {
            var broadcast = host.Services.GetRequiredService<BroadcastSubscription>();
            Assert.That(() => broadcast.Listening, Is.True.After(20_000, 100));
            var resetsWhileListening = resets.Count;

            var bus = host.Services.GetRequiredService<IBusControl>();
            await bus.StopAsync(); // its temporary queue goes with it: events published now reach nobody here
            // MassTransit may still be telling its observers when StopAsync returns (seen once in CI under load).
            Assert.That(() => broadcast.Listening, Is.False.After(5_000, 20), "bypassed once it stops");
            var failed = await WaitForAsync(host, HealthStatus.Unhealthy);

            await bus.StartAsync();
            Assert.That(() => broadcast.Listening, Is.True.After(20_000, 100));
            var healthy = await WaitForAsync(host, HealthStatus.Healthy);

            Assert.That(failed.Description, Does.Match("broadcast queue .*broadcast.* has been gone or without a consumer"));
            Assert.That(resets.Count, Is.EqualTo(resetsWhileListening + 1), "emptied once when it listens again");
            Assert.That(healthy.Status, Is.EqualTo(HealthStatus.Healthy));
        }
        finally
        {
            await host.StopAsync();
            await TestInfrastructure.DeleteVirtualHostAsync(vhost);
        }
    }

    public sealed class ResetCounter
    {
        private int _count;
        public int Count => Volatile.Read(ref _count);
        public void Reset() => Interlocked.Increment(ref _count);
    }

    private static IHost Build(string uri, ResetCounter? resets = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:rabbitmq"] = uri,
            ["RabbitMq:ConsumerWatch:Interval"] = "00:00:00.200",
            ["RabbitMq:ConsumerWatch:Grace"] = "00:00:02",
        });
        builder.Logging.ClearProviders();
        if (resets is null)
        {
            builder.AddRabbitMqBus("rabbitmq", bus => bus.AddConsumer<WatchedConsumer>());
        }
        else
        {
            builder.Services.AddSingleton(resets);
            builder.Services.ResetOnBroadcastResumed<ResetCounter>(r => r.Reset());
            builder.AddRabbitMqBus("rabbitmq",
                bus => bus.AddConsumer<BroadcastConsumer>().ExcludeFromConfigureEndpoints(),
                (context, cfg) => cfg.ReceiveEndpoint(new TemporaryEndpointDefinition("broadcast"), e => e.ConfigureConsumer<BroadcastConsumer>(context)));
            builder.Services.AddSingleton(new System.Collections.Concurrent.ConcurrentQueue<Guid>());
        }
        return builder.Build();
    }

    private static async Task<HealthReportEntry> LiveAsync(IHost host) =>
        (await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Tags.Contains("live"))).Entries[ConsumerWatch.CheckName];

    /// <summary>Polls the live check until it has <paramref name="status"/> (20 s at most); returns the last answer.</summary>
    private static async Task<HealthReportEntry> WaitForAsync(IHost host, HealthStatus status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        var entry = await LiveAsync(host);
        while (entry.Status != status && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
            entry = await LiveAsync(host);
        }
        return entry;
    }

    /// <summary>Messages straight into the queue (the bus that would publish them is stopped).</summary>
    private static async Task PublishRawAsync(string uri, string queue, int count)
    {
        await using var connection = await new ConnectionFactory { Uri = new Uri(uri) }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        for (var i = 0; i < count; i++)
        {
            await channel.BasicPublishAsync("", queue, "{}"u8.ToArray());
        }
    }
}
