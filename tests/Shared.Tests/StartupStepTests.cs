using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ThinkWatch.Integrations;

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

    private static async Task WaitForAttempts(ScriptedStep step, int attempts)
    {
        for (var i = 0; i < 500 && Volatile.Read(ref step.Attempts) < attempts; i++)
        {
            await Task.Delay(10);
        }
        await Task.Delay(20); // let the step record the outcome and reach its delay
    }

    [Test]
    public async Task Transient_failures_are_retried_with_growing_delays_until_ready()
    {
        var time = new FakeTimeProvider();
        var step = new ScriptedStep(new Queue<Exception?>([new TimeoutException(), new TimeoutException(), null]), time);

        await step.StartAsync(CancellationToken.None);
        await WaitForAttempts(step, 1);
        var afterFirst = await Health(step);
        time.Advance(TimeSpan.FromMilliseconds(250));
        await WaitForAttempts(step, 2);
        time.Advance(TimeSpan.FromMilliseconds(250)); // the second delay is 500 ms: not yet
        await Task.Delay(50);
        var attemptsBeforeSecondDelay = step.Attempts;
        time.Advance(TimeSpan.FromMilliseconds(250));
        await WaitForAttempts(step, 3);

        Assert.That(afterFirst.Status, Is.EqualTo(HealthStatus.Unhealthy));
        Assert.That(afterFirst.Description, Does.Contain("TimeoutException (attempt 1)"));
        Assert.That(attemptsBeforeSecondDelay, Is.EqualTo(2));
        Assert.That(step.Attempts, Is.EqualTo(3));
        Assert.That(step.Completed, Is.True);
        Assert.That((await Health(step)).Status, Is.EqualTo(HealthStatus.Healthy));
        await step.StopAsync(CancellationToken.None);
    }

    [Test]
    public async Task A_permanent_failure_stops_retrying_and_keeps_the_reason_on_readiness()
    {
        var time = new FakeTimeProvider();
        var step = new ScriptedStep(new Queue<Exception?>([new InvalidDataException("script 0002 was edited")]), time);

        await step.StartAsync(CancellationToken.None);
        await WaitForAttempts(step, 1);
        time.Advance(TimeSpan.FromMinutes(5));
        await Task.Delay(50);

        Assert.That(step.Attempts, Is.EqualTo(1));
        var health = await Health(step);
        Assert.That(health.Status, Is.EqualTo(HealthStatus.Unhealthy));
        Assert.That(health.Description, Is.EqualTo("script 0002 was edited"));
        await step.StopAsync(CancellationToken.None);
    }
}
