using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
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

/// <summary>What the stall recovery relies on: MassTransit's bus, as the services register it, publishes again after a restart.</summary>
[TestFixture]
public sealed class BusRestartTests
{
    [Test]
    public async Task The_bus_publishes_spooled_events_again_after_it_was_stopped_and_started()
    {
        var infra = await TestInfrastructure.EnsureStartedAsync();
        await using var probe = await BusProbe<SpooledTestEvent>.StartAsync(infra.RabbitMqUri());
        using var producer = SpoolingProducer.Build(infra.RabbitMqUri(), Path.Combine(Path.GetTempPath(), "thinkwatch-spool-tests", Guid.NewGuid().ToString("N")),
            typeof(SpooledTestEvent));
        await producer.StartAsync();
        var spool = producer.Services.GetRequiredService<EventSpool>();
        var bus = producer.Services.GetRequiredService<MassTransit.IBusControl>();
        var run = Guid.NewGuid();

        spool.Enqueue(new SpooledTestEvent(run, 0));
        await probe.WaitAsync(e => e.RunId == run && e.Sequence == 0, TimeSpan.FromSeconds(30));
        using (var restart = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            await bus.StopAsync(restart.Token);
            await bus.StartAsync(restart.Token);
        }
        spool.Enqueue(new SpooledTestEvent(run, 1));
        var (after, _) = await probe.WaitAsync(e => e.RunId == run && e.Sequence == 1, TimeSpan.FromSeconds(30));
        await producer.StopAsync();

        Assert.That(after.Sequence, Is.EqualTo(1));
    }
}

/// <summary>A publisher whose publishes hang until the bus is restarted, as RabbitMQ.Client 7 channels can after a broker restart.</summary>
[TestFixture]
public sealed class EventSpoolStallTests
{
    /// <summary>A spool publishing to <paramref name="stalling"/> (a proxy of the bus).</summary>
    internal static IHost Spooling(StallingBus stalling)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Spool:Directory"] = Path.Combine(Path.GetTempPath(), "thinkwatch-spool-tests", Guid.NewGuid().ToString("N")),
            ["Spool:PublishTimeout"] = "00:00:00.300",
        });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddMetrics();
        builder.Services.AddSingleton((MassTransit.IBusControl)(object)stalling);
        builder.AddEventSpool(typeof(SpooledTestEvent));
        return builder.Build();
    }

    internal static StallingBus NewStallingBus() => (StallingBus)(object)System.Reflection.DispatchProxy.Create<MassTransit.IBusControl, StallingBus>();

    /// <summary>Waits (20 s at most) until <paramref name="count"/> events were published.</summary>
    internal static async Task PublishedAsync(StallingBus stalling, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (stalling.Published.Count < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
    }

    [Test]
    public async Task Publishes_that_stall_get_the_bus_restarted_and_the_events_through_in_order()
    {
        var stalling = NewStallingBus();
        using var host = Spooling(stalling);
        await host.StartAsync();
        var run = Guid.NewGuid();
        var spool = host.Services.GetRequiredService<EventSpool>();
        for (var i = 0; i < 3; i++)
        {
            spool.Enqueue(new SpooledTestEvent(run, i));
        }

        await PublishedAsync(stalling, 3);
        await host.StopAsync();

        Assert.That((stalling.Stops, stalling.Starts), Is.EqualTo((1, 1)), "restarted once, after two stalls in a row");
        Assert.That(stalling.Published.Select(e => ((SpooledTestEvent)e).Sequence), Is.EqualTo(new[] { 0, 1, 2 }), "then everything, in order, once");
        Assert.That(spool.Depth, Is.Zero);
    }

    public class StallingBus : System.Reflection.DispatchProxy
    {
        private volatile bool _restarted;
        public int Stops;
        public int Starts;
        public System.Collections.Concurrent.ConcurrentQueue<object> Published { get; } = new();

        /// <summary>Each publish's <see cref="Activity.Current"/> (default when none).</summary>
        public System.Collections.Concurrent.ConcurrentQueue<ActivityContext> Traces { get; } = new();

        protected override object? Invoke(System.Reflection.MethodInfo? method, object?[]? args) => method!.Name switch
        {
            "Publish" when args is [{ } message, Type, CancellationToken token] => _restarted ? Record(message) : Task.Delay(Timeout.Infinite, token),
            "StopAsync" => Count(ref Stops),
            "StartAsync" => Start(),
            _ => throw new NotSupportedException(method.Name),
        };

        private Task Record(object message)
        {
            Traces.Enqueue(Activity.Current?.Context ?? default);
            Published.Enqueue(message);
            return Task.CompletedTask;
        }

        private static Task Count(ref int counter)
        {
            Interlocked.Increment(ref counter);
            return Task.CompletedTask;
        }

        private Task<MassTransit.BusHandle> Start()
        {
            Interlocked.Increment(ref Starts);
            _restarted = true;
            return Task.FromResult<MassTransit.BusHandle>(null!);
        }
    }
}

/// <summary>An event published from the spool, later and on another thread, continues the trace of the activity that spooled it.</summary>
[TestFixture]
public sealed class EventSpoolTraceTests
{
    private const string RequestsSource = "ThinkWatch.Tests.Requests";
    private static readonly ActivitySource Requests = new(RequestsSource);

    [Test]
    public async Task The_publish_runs_in_an_activity_whose_parent_is_the_one_that_spooled_the_event()
    {
        var stopped = new System.Collections.Concurrent.ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == RequestsSource || s.Name == TraceContinuation.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        var stalling = EventSpoolStallTests.NewStallingBus();
        await ((MassTransit.IBusControl)(object)stalling).StartAsync(CancellationToken.None); // publishes go through at once
        using var host = EventSpoolStallTests.Spooling(stalling);
        await host.StartAsync();
        var spool = host.Services.GetRequiredService<EventSpool>();
        var run = Guid.NewGuid();

        ActivityContext request;
        using (var activity = Requests.StartActivity("request")!)
        {
            request = activity.Context;
            spool.Enqueue(new SpooledTestEvent(run, 0));
        }
        spool.Enqueue(new SpooledTestEvent(run, 1)); // no request around it
        await EventSpoolStallTests.PublishedAsync(stalling, 2);
        await host.StopAsync();

        var traces = stalling.Traces.ToArray();
        var publish = stopped.Single(a => a.Source.Name == TraceContinuation.SourceName);
        Assert.That(traces, Has.Length.EqualTo(2));
        Assert.That(traces[0].TraceId, Is.EqualTo(request.TraceId), "the first publish continues the request's trace");
        Assert.That((publish.ParentSpanId, traces[0].SpanId), Is.EqualTo((request.SpanId, publish.SpanId)), "in an activity that is the request's child");
        Assert.That(traces[1], Is.EqualTo(default(ActivityContext)), "an event spooled outside any trace starts none");
    }
}
