using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Integrations;
using ThinkWatch.Testing;

namespace ThinkWatch.AuditIngest.Tests;

/// <summary>
/// The pipeline under faults, on a RabbitMQ and a ClickHouse of this fixture's own which the tests
/// stop and start: producer → durable spool → RabbitMQ → AuditIngest → ClickHouse, and every event
/// arrives exactly once (counted by id) whatever is down for a while.
/// </summary>
[TestFixture]
public sealed class FaultTests
{
    private PrivateInfra _infra = null!;
    private AuditHost _audit = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _infra = await PrivateInfra.StartAsync();
        _audit = await AuditHost.StartAsync(_infra.RabbitMqUri, _infra.ClickHouseConnectionString("audit"),
            new Dictionary<string, string?>
            {
                ["AuditIngest:BatchSize"] = "100",
                // A wedged AuditIngest is restarted within the wait (production: 2 min); still longer than
                // MassTransit's reconnect back-off (30 s at most), so a slow but healthy reconnect is not.
                ["RabbitMq:ConsumerWatch:Interval"] = "00:00:01",
                ["RabbitMq:ConsumerWatch:Grace"] = "00:00:45",
            });
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        await _audit.DisposeAsync();
        await _infra.DisposeAsync();
    }

    private static string NewUser() => "user-" + Guid.NewGuid().ToString("N")[..8];

    private string SpoolDirectory() => Path.Combine(_infra.DataDirectory, "spool-" + Guid.NewGuid().ToString("N")[..8]);

    private static IHost Producer(string rabbitUri, string spoolDirectory) => SpoolingProducer.Build(rabbitUri, spoolDirectory, typeof(UsageRecorded));

    private static string Where(string user) => $"FROM usage_events WHERE user_id = '{user}'";

    private async Task AssertExactlyOnceAsync(string user, int expected, TimeSpan timeout, IHost? producer = null)
    {
        var arrived = await WaitAsOrchestratedAsync($"SELECT count() {Where(user)}", expected, timeout);
        Assert.That(arrived, Is.EqualTo(expected), () => producer is null ? "every event arrived"
            : $"every event arrived; {producer.Services.GetRequiredService<EventSpool>().Depth} still in the producer's spool; its warnings:{Environment.NewLine}"
              + producer.Services.GetRequiredService<RecentLogs>() + $"{Environment.NewLine}AuditIngest's warnings:{Environment.NewLine}{_audit.Logs}");
        await Task.Delay(1000); // a redelivered batch would land now
        Assert.That(await _audit.CountAsync($"SELECT count() {Where(user)}"), Is.EqualTo(expected), "no event twice");
        Assert.That(await _audit.CountAsync($"SELECT uniqExact(event_id) {Where(user)}"), Is.EqualTo(expected));
    }

    /// <summary>
    /// Waits for the events with AuditIngest run the way an orchestrator runs it: restarted when its
    /// liveness check fails (a queue it consumes held messages with no consumer for the grace period).
    /// </summary>
    private async Task<long> WaitAsOrchestratedAsync(string sql, long expected, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var count = await _audit.WaitForCountAsync(sql, expected, TimeSpan.FromSeconds(1));
            if (count >= expected || DateTime.UtcNow > deadline)
            {
                return count;
            }
            if (!await _audit.IsLiveAsync())
            {
                await TestContext.Progress.WriteLineAsync($"{DateTime.UtcNow:HH:mm:ss} AuditIngest is not live ({count} of {expected} events in): restarting it");
                await _audit.RestartAsync().WaitAsync(TimeSpan.FromMinutes(3)); // a hang fails the test, never the run
            }
        }
    }

    [Test]
    public async Task RabbitMQ_stopped_while_events_are_produced_then_started_again_every_event_arrives_exactly_once()
    {
        var user = NewUser();
        using var producer = Producer(_infra.RabbitMqUri, SpoolDirectory());
        await producer.StartAsync();
        var spool = producer.Services.GetRequiredService<EventSpool>();
        var sent = 0;
        async Task ProduceAsync(int count)
        {
            for (var i = 0; i < count; i++, sent++)
            {
                Assert.That(spool.Enqueue(Events.Usage(user, sent)), Is.True);
                if (i % 50 == 0)
                {
                    await Task.Delay(10);
                }
            }
        }

        await ProduceAsync(500);
        var stopping = _infra.StopAsync("rabbitmq");
        await ProduceAsync(1000); // while the broker shuts down and is gone
        await stopping;
        await ProduceAsync(500);
        await _infra.StartAsync("rabbitmq");
        await ProduceAsync(500);

        await AssertExactlyOnceAsync(user, sent, TimeSpan.FromSeconds(180), producer);
        await producer.StopAsync();
    }

    [Test]
    public async Task ClickHouse_stopped_during_ingestion_every_event_arrives_after_it_returns()
    {
        var user = NewUser();
        using var producer = Producer(_infra.RabbitMqUri, SpoolDirectory());
        await producer.StartAsync();
        var spool = producer.Services.GetRequiredService<EventSpool>();
        for (var n = 0; n < 300; n++)
        {
            spool.Enqueue(Events.Usage(user, n));
        }
        Assert.That(await _audit.WaitForCountAsync($"SELECT count() {Where(user)}", 1, TimeSpan.FromSeconds(30)), Is.GreaterThan(0), "ingestion under way");

        await _infra.StopAsync("clickhouse");
        for (var n = 300; n < 1500; n++)
        {
            spool.Enqueue(Events.Usage(user, n));
        }
        await Task.Delay(3000); // AuditIngest holds its batch unacknowledged and keeps trying
        await _infra.StartAsync("clickhouse");

        await AssertExactlyOnceAsync(user, 1500, TimeSpan.FromSeconds(120));
        await producer.StopAsync();
    }

    [Test]
    public async Task A_producer_killed_with_events_in_its_spool_delivers_them_all_when_it_starts_again()
    {
        var user = NewUser();
        var spool = SpoolDirectory();
        var unreachable = $"amqp://guest:guest@127.0.0.1:{ServiceReadinessTests<FaultTests>.ClosedPort()}/";

        // The broker is out of reach: 2000 events wait in the spool when the process is killed.
        using (var first = SpoolProducer.Start(unreachable, spool, user, 2000))
        {
            Assert.That(await first.ReadLineAsync(TimeSpan.FromSeconds(60)), Is.EqualTo("spooled 2000"));
            first.Kill();
        }
        Assert.That(await _audit.CountAsync($"SELECT count() {Where(user)}"), Is.Zero);

        using var second = SpoolProducer.Start(_infra.RabbitMqUri, spool, user, 0);
        await AssertExactlyOnceAsync(user, 2000, TimeSpan.FromSeconds(120));
    }

    /// <summary>tests/SpoolProducer as a process of its own, so it can be killed (SIGKILL, no shutdown).</summary>
    private sealed class SpoolProducer : IDisposable
    {
        private readonly Process _process;

        private SpoolProducer(Process process) => _process = process;

        public static SpoolProducer Start(string rabbitUri, string spool, string user, int count)
        {
            // Built next to this assembly's output, in the same configuration (Debug/Release).
            var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
            var dll = Path.Combine(Repository.Root, "tests", "SpoolProducer", "bin", configuration, "net10.0", "ThinkWatch.SpoolProducer.dll");
            var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { dll, rabbitUri, spool, user, $"{count}" })
            {
                info.ArgumentList.Add(arg);
            }
            return new SpoolProducer(Process.Start(info)!);
        }

        public async Task<string?> ReadLineAsync(TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            return await _process.StandardOutput.ReadLineAsync(cts.Token);
        }

        public void Kill()
        {
            _process.Kill();
            _process.WaitForExit();
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                Kill();
            }
            _process.Dispose();
        }
    }
}
