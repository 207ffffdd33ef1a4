using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ThinkWatch.Integrations;

/// <summary>
/// Aspire's client integrations register their health checks untagged, under their own names, and describe
/// a failure with the exception's message. ServiceDefaults' /health/ready runs only the checks tagged
/// "ready", and its report is read by anyone who can reach it (and quoted by orchestrators). So an
/// integration's check is adopted: given ThinkWatch's name and the "ready" tag, a timeout, and a
/// failure reduced to the kind of exception, which can carry neither a password nor a host.
/// </summary>
internal static class ReadinessChecks
{
    public const string ReadyTag = "ready";
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>Adopts the check registered as <paramref name="registeredAs"/> as the readiness check <paramref name="name"/>.</summary>
    /// <remarks>Nothing to adopt when the integration's check is switched off (its DisableHealthChecks setting).</remarks>
    public static IServiceCollection AdoptForReadiness(this IServiceCollection services, string registeredAs, string name) =>
        services.PostConfigure<HealthCheckServiceOptions>(options =>
        {
            if (options.Registrations.FirstOrDefault(r => r.Name == registeredAs) is not { } registration)
            {
                return;
            }
            var factory = registration.Factory;
            registration.Name = name;
            registration.Tags.Add(ReadyTag);
            registration.Timeout = Timeout;
            registration.Factory = sp => new KindOfFailureOnly(factory(sp), name);
        });

    private sealed class KindOfFailureOnly(IHealthCheck check, string name) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var result = await check.CheckHealthAsync(context, cancellationToken);
                return result.Exception is { } ex ? Unreachable(result.Status, ex) : result;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                return Unreachable(context.Registration.FailureStatus, ex);
            }
        }

        private HealthCheckResult Unreachable(HealthStatus status, Exception ex) => new(status, $"{name} unreachable: {ex.GetType().Name}");
    }
}
