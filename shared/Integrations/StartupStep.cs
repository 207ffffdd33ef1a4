using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ThinkWatch.Integrations;

/// <summary>
/// A one-time start-up step (Postgres migrations, a ClickHouse schema) that must finish before
/// the service is ready. It runs in the background and retries with backoff while its server
/// is unreachable, so a server that comes up late only delays readiness; a permanent error
/// leaves the service unready with the reason on /health/ready.
/// </summary>
public abstract partial class StartupStep(TimeProvider time, ILogger logger) : BackgroundService, IHealthCheck
{
    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(10);
    private volatile string? _error;
    private volatile bool _completed;

    public bool Completed => _completed;

    /// <summary>Waits (real time, polling) until every start-up step finished, e.g. before work that needs the schema.</summary>
    public static async Task WhenAllCompletedAsync(IEnumerable<StartupStep> steps, CancellationToken cancellationToken)
    {
        while (!steps.All(s => s.Completed))
        {
            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>What readiness reports while the step has not finished.</summary>
    protected abstract string Pending { get; }

    protected abstract Task RunAsync(CancellationToken cancellationToken);

    /// <summary>The server is unreachable or starting: try again later.</summary>
    protected abstract bool IsTransient(Exception exception);

    /// <summary>Will not fix itself (a broken script): stop trying, stay unready.</summary>
    protected virtual bool IsPermanent(Exception exception) => false;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = FirstDelay;
        for (var attempt = 1; !stoppingToken.IsCancellationRequested; attempt++)
        {
            try
            {
                await RunAsync(stoppingToken);
                _error = null;
                _completed = true;
                return;
            }
            catch (Exception ex) when (IsPermanent(ex))
            {
                _error = ex.Message;
                LogFailed(logger, ex, Pending);
                return;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested && IsTransient(ex))
            {
                _error = $"{Pending}: {ex.GetType().Name} (attempt {attempt})";
                LogRetry(logger, ex, Pending, attempt, (long)delay.TotalMilliseconds);
                await Task.Delay(delay, time, stoppingToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxDelay.Ticks));
            }
        }
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_completed ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy(_error ?? Pending));

    [LoggerMessage(EventId = 1010, Level = LogLevel.Warning, Message = "{Step} failed (attempt {Attempt}); retrying in {DelayMs} ms")]
    private static partial void LogRetry(ILogger logger, Exception exception, string step, int attempt, long delayMs);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Critical, Message = "{Step} failed and will not be retried; the service stays unready")]
    private static partial void LogFailed(ILogger logger, Exception exception, string step);
}

public static class StartupStepExtensions
{
    /// <summary>Runs <typeparamref name="TStep"/> at start and reports it as the readiness check <paramref name="checkName"/>.</summary>
    public static IHostApplicationBuilder AddStartupStep<TStep>(this IHostApplicationBuilder builder, string checkName, Func<IServiceProvider, TStep> create)
        where TStep : StartupStep
    {
        builder.Services.AddSingleton(create);
        builder.Services.AddSingleton<StartupStep>(sp => sp.GetRequiredService<TStep>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<TStep>());
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            checkName, sp => sp.GetRequiredService<TStep>(), HealthStatus.Unhealthy, ["ready"]));
        return builder;
    }
}
