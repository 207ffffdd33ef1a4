using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Aspire.Hosting;

/// <summary>
/// A service that stops answering its liveness probe is restarted, as Kubernetes restarts a pod whose livenessProbe fails
/// (the published manifests probe the same path). Aspire has no liveness probes of its own: once a project is healthy the
/// AppHost asks its <c>/health/live</c> every <c>--liveness-period</c> seconds (10) and, after <c>--liveness-failures</c>
/// (3) failures in a row, runs Aspire's own restart command on it, then waits for it to be healthy again.
/// </summary>
public static class LivenessRestartExtensions
{
    /// <summary>
    /// The probes Kubernetes gets when published: ready (<c>/health/ready</c>, what <c>WaitFor</c> waits for) and live
    /// (<c>/health/live</c>, restart when it fails).
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithServiceProbes(this IResourceBuilder<ProjectResource> project, string endpointName = "http") =>
        project.WithHttpHealthCheck("/health/ready", endpointName: endpointName).WithLivenessRestart("/health/live", endpointName);

    public static IResourceBuilder<ProjectResource> WithLivenessRestart(this IResourceBuilder<ProjectResource> project,
        string path = "/health/live", string endpointName = "http")
    {
        if (project.ApplicationBuilder.ExecutionContext.IsRunMode)
        {
            project.ApplicationBuilder.Services.TryAddSingleton(TimeProvider.System);
            project.ApplicationBuilder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, LivenessRestart>());
        }
        return project.WithAnnotation(new LivenessProbeAnnotation(project.GetEndpoint(endpointName), path));
    }
}

/// <summary>Where a project answers its liveness probe.</summary>
public sealed record LivenessProbeAnnotation(EndpointReference Endpoint, string Path) : IResourceAnnotation;

/// <summary>How often to probe and how many failures in a row mean "restart".</summary>
public sealed record LivenessPolicy(TimeSpan Period, int FailureThreshold, TimeSpan Timeout)
{
    public static LivenessPolicy From(IConfiguration configuration) => new(
        TimeSpan.FromSeconds(configuration.GetValue("liveness-period", 10.0)),
        configuration.GetValue("liveness-failures", 3),
        TimeSpan.FromSeconds(configuration.GetValue("liveness-timeout", 5.0)));
}

internal sealed partial class LivenessRestart(
    DistributedApplicationModel model, ResourceNotificationService notifications, ResourceCommandService commands,
    IConfiguration configuration, TimeProvider time, ILogger<LivenessRestart> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var policy = LivenessPolicy.From(configuration);
        var watches = model.Resources.Select(r => (Resource: r, Probe: r.Annotations.OfType<LivenessProbeAnnotation>().FirstOrDefault()))
            .Where(w => w.Probe is not null)
            .Select(w => WatchAsync(w.Resource, w.Probe!, policy, stoppingToken));
        return Task.WhenAll(watches.ToList());
    }

    private async Task WatchAsync(IResource resource, LivenessProbeAnnotation probe, LivenessPolicy policy, CancellationToken stoppingToken)
    {
        using var http = new HttpClient { Timeout = policy.Timeout };
        var url = new Uri($"http://localhost:{probe.Endpoint.EndpointAnnotation.TargetPort}{probe.Path}");
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await notifications.WaitForResourceHealthyAsync(resource.Name, stoppingToken);
                var failure = await LivenessProbe.FirstFailureStreakAsync(() => LivenessProbe.AnswersAsync(http, url, stoppingToken),
                    policy, time, stoppingToken);
                LogRestarting(logger, resource.Name, policy.FailureThreshold, url, failure);
                var result = await commands.ExecuteCommandAsync(resource, KnownResourceCommands.RestartCommand, stoppingToken);
                if (!result.Success)
                {
                    LogRestartFailed(logger, resource.Name, result.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The run is stopping.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Resource} failed its liveness probe {Failures} times in a row ({Url}: {Failure}); restarting it")]
    private static partial void LogRestarting(ILogger logger, string resource, int failures, Uri url, string failure);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Resource} could not be restarted: {Message}")]
    private static partial void LogRestartFailed(ILogger logger, string resource, string? message);
}

/// <summary>The probing itself, apart from Aspire so it can be tested on its own.</summary>
public static class LivenessProbe
{
    /// <summary>
    /// Probes every <see cref="LivenessPolicy.Period"/> until <see cref="LivenessPolicy.FailureThreshold"/> probes in a row
    /// failed; returns the last failure. A success resets the count.
    /// </summary>
    public static async Task<string> FirstFailureStreakAsync(Func<Task<string?>> probe, LivenessPolicy policy, TimeProvider time, CancellationToken cancellationToken)
    {
        var failures = 0;
        while (true)
        {
            await Task.Delay(policy.Period, time, cancellationToken);
            var failure = await probe();
            failures = failure is null ? 0 : failures + 1;
            if (failures >= policy.FailureThreshold)
            {
                return failure!;
            }
        }
    }

    /// <summary>Null when <paramref name="url"/> answers 2xx, otherwise what went wrong (status, timeout, refused).</summary>
    public static async Task<string?> AnswersAsync(HttpClient http, Uri url, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            return response.IsSuccessStatusCode ? null : $"{(int)response.StatusCode} {response.ReasonPhrase}";
        }
        catch (HttpRequestException ex)
        {
            return ex.HttpRequestError == HttpRequestError.ConnectionError ? "connection refused" : ex.Message;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return "no answer within " + http.Timeout.TotalSeconds + " s";
        }
    }
}
