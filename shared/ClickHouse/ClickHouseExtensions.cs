using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace ThinkWatch.ClickHouse;

public static class ClickHouseExtensions
{
    /// <summary>
    /// Registers <see cref="ClickHouseClient"/> for ConnectionStrings:{connectionName} and a
    /// readiness check (GET /ping). The database is created when missing.
    /// </summary>
    public static IHostApplicationBuilder AddClickHouseClient(this IHostApplicationBuilder builder, string connectionName)
    {
        var raw = builder.Configuration.GetConnectionString(connectionName);
        if (string.IsNullOrWhiteSpace(raw))
        {
            throw new InvalidOperationException(
                $"Connection string '{connectionName}' is not configured. Set ConnectionStrings__{connectionName} (the AppHost does this for every reference).");
        }
        var connection = ClickHouseConnection.Parse(raw);
        builder.Services.AddHttpClient<ClickHouseClient>(http => http.Timeout = TimeSpan.FromSeconds(60))
            .AddTypedClient((http, _) => new ClickHouseClient(http, connection));
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            "clickhouse",
            sp => new ClickHouseHealthCheck(sp.GetRequiredService<ClickHouseClient>()),
            HealthStatus.Unhealthy,
            ["ready"],
            TimeSpan.FromSeconds(5)));
        return builder;
    }

    private sealed class ClickHouseHealthCheck(ClickHouseClient client) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                return await client.PingAsync(cancellationToken)
                    ? HealthCheckResult.Healthy()
                    : HealthCheckResult.Unhealthy("clickhouse did not answer Ok.");
            }
            catch (HttpRequestException ex)
            {
                return HealthCheckResult.Unhealthy($"clickhouse unreachable: {ex.HttpRequestError}");
            }
        }
    }
}
