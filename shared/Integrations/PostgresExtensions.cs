using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace ThinkWatch.Integrations;

public static class PostgresExtensions
{
    /// <summary>
    /// Registers an <see cref="NpgsqlDataSource"/> for ConnectionStrings:{connectionName}
    /// and a readiness check that runs a query against it. With <paramref name="schema"/>,
    /// queries find the service's tables without qualifying them.
    /// </summary>
    public static IHostApplicationBuilder AddNpgsqlDataSource(this IHostApplicationBuilder builder, string connectionName, string? schema = null)
    {
        var connectionString = ConnectionStrings.Require(builder.Configuration, connectionName);
        builder.Services.AddSingleton(new PostgresConnection(connectionName, connectionString));
        builder.Services.AddSingleton(_ =>
        {
            var dataSource = new NpgsqlDataSourceBuilder(connectionString) { Name = connectionName };
            if (schema is not null)
            {
                dataSource.ConnectionStringBuilder.SearchPath = $"{schema},public";
            }
            return dataSource.Build();
        });
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            "postgres",
            sp => new PostgresHealthCheck(sp.GetRequiredService<NpgsqlDataSource>()),
            HealthStatus.Unhealthy,
            ["ready"],
            TimeSpan.FromSeconds(5)));
        return builder;
    }

    /// <summary>
    /// Applies the .sql files embedded under Migrations/ in <paramref name="migrationsAssembly"/>
    /// to <paramref name="schema"/> at startup, once, in order; readiness waits for it.
    /// </summary>
    public static IHostApplicationBuilder AddPostgresMigrations(this IHostApplicationBuilder builder, string schema, System.Reflection.Assembly migrationsAssembly)
    {
        var migrations = MigrationScript.FromAssembly(migrationsAssembly);
        builder.Services.AddSingleton(sp => new PostgresMigrator(
            sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<PostgresConnection>().ConnectionString, schema, migrations,
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<PostgresMigrator>>()));
        builder.AddStartupStep("migrations", sp => new MigrationStep(
            sp.GetRequiredService<PostgresMigrator>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<MigrationStep>>()));
        return builder;
    }

    /// <summary>The configured connection string, kept for what needs the password (creating the database).</summary>
    internal sealed record PostgresConnection(string Name, string ConnectionString)
    {
        public override string ToString() => Name;
    }

    private sealed class PostgresHealthCheck(NpgsqlDataSource dataSource) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await using var command = dataSource.CreateCommand("SELECT 1");
                await command.ExecuteScalarAsync(cancellationToken);
                return HealthCheckResult.Healthy();
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                // Exception messages never carry the password; keep only the kind of failure.
                return HealthCheckResult.Unhealthy($"postgres unreachable: {ex.GetType().Name}");
            }
        }
    }
}
