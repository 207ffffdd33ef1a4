using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ThinkWatch.Integrations;
using ThinkWatch.Testing;

namespace ThinkWatch.Shared.Tests;

[TestFixture]
public sealed class StartupStepTests
{
    private sealed class ScriptedStep(Queue<Exception?> outcomes, TimeProvider time) : StartupStep(time, NullLogger.Instance)
    {
        public int Attempts;
        protected override string Pending => "scripted step pending";
        protected override Task RunAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Attempts);
            return outcomes.Dequeue() is { } error ? Task.FromException(error) : Task.CompletedTask;
        }
        protected override bool IsTransient(Exception exception) => exception is TimeoutException;
        protected override bool IsPermanent(Exception exception) => exception is InvalidDataException;
    }

    private static async Task<HealthCheckResult> Health(StartupStep step) =>
        await step.CheckHealthAsync(new HealthCheckContext());

    /// <summary>A fake clock that counts the timers made on it: a step waiting out its delay has made one.</summary>
    private sealed class CountingClock : FakeTimeProvider
    {
        private int _timers;
        public int Timers => Volatile.Read(ref _timers);

        public CountingClock() : base(TestClock.Start) { }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            Interlocked.Increment(ref _timers);
            return timer;
        }
    }

    [Test]
    public async Task Transient_failures_are_retried_with_growing_delays_until_ready()
    {
        var time = new CountingClock();
        var step = new ScriptedStep(new Queue<Exception?>([new TimeoutException(), new TimeoutException(), null]), time);

        await step.StartAsync(CancellationToken.None);
        await Poll.UntilAsync(() => time.Timers == 1, TimeSpan.FromSeconds(10), "the first delay");
        var afterFirst = await Health(step);
        time.Advance(TimeSpan.FromMilliseconds(250));
        await Poll.UntilAsync(() => time.Timers == 2, TimeSpan.FromSeconds(10), "the second delay");
        time.Advance(TimeSpan.FromMilliseconds(250)); // the second delay is 500 ms: not yet
        var attemptsBeforeSecondDelay = step.Attempts;
        var timersBeforeSecondDelay = time.Timers;
        time.Advance(TimeSpan.FromMilliseconds(250));
        await Poll.UntilAsync(() => step.Completed, TimeSpan.FromSeconds(10), "the third attempt to succeed");

        Assert.That(afterFirst.Status, Is.EqualTo(HealthStatus.Unhealthy));
        Assert.That(afterFirst.Description, Does.Contain("TimeoutException (attempt 1)"));
        Assert.That((attemptsBeforeSecondDelay, timersBeforeSecondDelay), Is.EqualTo((2, 2)));
        Assert.That(step.Attempts, Is.EqualTo(3));
        Assert.That(step.Completed, Is.True);
        Assert.That((await Health(step)).Status, Is.EqualTo(HealthStatus.Healthy));
        await step.StopAsync(CancellationToken.None);
    }

    [Test]
    public async Task A_permanent_failure_stops_retrying_and_keeps_the_reason_on_readiness()
    {
        var time = new CountingClock();
        var step = new ScriptedStep(new Queue<Exception?>([new InvalidDataException("script 0002 was edited")]), time);

        await step.StartAsync(CancellationToken.None);
        await step.ExecuteTask!; // it gave up: no delay, no further attempt
        time.Advance(TimeSpan.FromMinutes(5));

        Assert.That(time.Timers, Is.Zero);

        Assert.That(step.Attempts, Is.EqualTo(1));
        var health = await Health(step);
        Assert.That(health.Status, Is.EqualTo(HealthStatus.Unhealthy));
        Assert.That(health.Description, Is.EqualTo("script 0002 was edited"));
        await step.StopAsync(CancellationToken.None);
    }
}
