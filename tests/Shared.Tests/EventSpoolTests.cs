using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ThinkWatch.Integrations;
using ThinkWatch.Testing;

namespace ThinkWatch.Shared.Tests;

public sealed record SpooledTestEvent(Guid RunId, int Sequence);

/// <summary>Events spooled while the broker is unreachable, across a restart of the producing service, reach RabbitMQ in order, once each.</summary>
[TestFixture]
public sealed class EventSpoolTests
{
    private static IHost Producer(string rabbitUri, string spoolDirectory) => SpoolingProducer.Build(rabbitUri, spoolDirectory, typeof(SpooledTestEvent));

    [Test]
    public async Task Events_spooled_while_the_broker_is_unreachable_arrive_after_a_restart_in_order_once_each()
    {
        var infra = await TestInfrastructure.EnsureStartedAsync();
        await using var probe = await BusProbe<SpooledTestEvent>.StartAsync(infra.RabbitMqUri());
        var spool = Path.Combine(Path.GetTempPath(), "thinkwatch-spool-tests", Guid.NewGuid().ToString("N"));
        var run = Guid.NewGuid();

        // The producer cannot reach its broker: events wait on disk; the producer stops with them there.
        using (var offline = Producer(infra.RabbitMqUri(ServiceReadinessTests<EventSpoolTests>.ClosedPort()), spool))
        {
            await offline.StartAsync();
            var events = offline.Services.GetRequiredService<EventSpool>();
            for (var i = 0; i < 50; i++)
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
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (arrived.Count < 50 && DateTime.UtcNow < deadline)
        {
            arrived.AddRange((await probe.CollectAsync(e => e.RunId == run, TimeSpan.FromMilliseconds(500))).Select(e => e.Sequence));
        }
        arrived.AddRange((await probe.CollectAsync(e => e.RunId == run, TimeSpan.FromSeconds(1))).Select(e => e.Sequence));
        await online.StopAsync();

        Assert.That(arrived, Is.EqualTo(Enumerable.Range(0, 50)), "every event, in order, once");
        Directory.Delete(spool, recursive: true);
    }
}
