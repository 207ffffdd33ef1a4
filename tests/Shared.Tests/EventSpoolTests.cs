using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ThinkWatch.Integrations;
using ThinkWatch.Testing;

namespace ThinkWatch.Shared.Tests;

public sealed record SpooledTestEvent(Guid RunId, int Sequence);

/// <summary>Events spooled while the broker is unreachable, across a restart of the producing service, reach RabbitMQ once each, batch after batch.</summary>
[TestFixture]
public sealed class EventSpoolTests
{
    private static IHost Producer(string rabbitUri, string spoolDirectory) => SpoolingProducer.Build(rabbitUri, spoolDirectory, typeof(SpooledTestEvent));

    [Test]
    public async Task Events_spooled_while_the_broker_is_unreachable_arrive_after_a_restart_once_each_batches_in_order()
    {
        var infra = await TestInfrastructure.EnsureStartedAsync();
        await using var probe = await BusProbe<SpooledTestEvent>.StartAsync(infra.RabbitMqUri());
        var spool = Path.Combine(Path.GetTempPath(), "thinkwatch-spool-tests", Guid.NewGuid().ToString("N"));
        var run = Guid.NewGuid();
        const int count = EventSpoolPublisher.BatchSize * 2 + 50; // three batches

        // The producer cannot reach its broker: events wait on disk; the producer stops with them there.
        using (var offline = Producer(infra.RabbitMqUri(ServiceReadinessTests<EventSpoolTests>.ClosedPort()), spool))
        {
            await offline.StartAsync();
            var events = offline.Services.GetRequiredService<EventSpool>();
            for (var i = 0; i < count; i++)
            {
                Assert.That(events.Enqueue(new SpooledTestEvent(run, i)), Is.True);
            }
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await offline.StopAsync(stop.Token);
        }
        Assert.That(await probe.CollectAsync(e => e.RunId == run, TimeSpan.FromSeconds(1)), Is.Empty, "nothing reached the broker yet");

        // Started again with the broker there: the spool drains.
        using var online = Producer(infra.RabbitMqUri(), spool);
        await online.StartAsync();
        var arrived = new List<int>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (arrived.Count < count && DateTime.UtcNow < deadline)
        {
            arrived.AddRange((await probe.CollectAsync(e => e.RunId == run, TimeSpan.FromMilliseconds(500))).Select(e => e.Sequence));
        }
        arrived.AddRange((await probe.CollectAsync(e => e.RunId == run, TimeSpan.FromSeconds(1))).Select(e => e.Sequence));
        await online.StopAsync();

        Assert.That(arrived.Order(), Is.EqualTo(Enumerable.Range(0, count)), "every event, once");
        // A batch is published all at once (events within it may overtake each other), the next only after the broker confirmed it.
        Assert.That(arrived.Select(n => n / EventSpoolPublisher.BatchSize), Is.Ordered, "batches in order");
        Directory.Delete(spool, recursive: true);
    }
}
