using System.Reflection;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ThinkWatch.ClickHouse;

/// <summary>
/// ClickHouse has neither transactions nor advisory locks, so its schema is a set of
/// idempotent statements (CREATE … IF NOT EXISTS) embedded as "ClickHouse/*.sql" and
/// re-run at every start. Statements are split on ";" at line ends.
/// </summary>
public sealed partial class ClickHouseSchema(ClickHouseClient client, IReadOnlyList<string> statements, ILogger<ClickHouseSchema> logger)
{
    public static IReadOnlyList<string> FromAssembly(Assembly assembly) =>
        assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith("ClickHouse/", StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .SelectMany(n =>
            {
                using var reader = new StreamReader(assembly.GetManifestResourceStream(n)!, Encoding.UTF8);
                return Split(reader.ReadToEnd());
            })
            .ToList();

    public static IEnumerable<string> Split(string script) =>
        script.Split(";\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(s => string.Join('\n', s.Split('\n').Where(l => !l.TrimStart().StartsWith("--", StringComparison.Ordinal))).Trim().TrimEnd(';'))
            .Where(s => s.Length > 0);

    public async Task ApplyAsync(CancellationToken cancellationToken)
    {
        await client.ExecuteAsync($"CREATE DATABASE IF NOT EXISTS {ClickHouseSql.Identifier(client.Connection.Database)}", cancellationToken, database: "default");
        foreach (var statement in statements)
        {
            await client.ExecuteAsync(statement, cancellationToken);
        }
        LogApplied(logger, client.Connection.Database, statements.Count);
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "ClickHouse database {Database} ready ({Count} schema statements)")]
    private static partial void LogApplied(ILogger logger, string database, int count);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "Applying ClickHouse schema failed (attempt {Attempt}); retrying")]
    internal static partial void LogRetry(ILogger logger, Exception exception, int attempt);
}

public static class ClickHouseSchemaExtensions
{
    public static IHostApplicationBuilder AddClickHouseSchema(this IHostApplicationBuilder builder, Assembly schemaAssembly)
    {
        var statements = ClickHouseSchema.FromAssembly(schemaAssembly);
        builder.Services.AddSingleton(sp => new ClickHouseSchema(
            sp.GetRequiredService<ClickHouseClient>(), statements, sp.GetRequiredService<ILogger<ClickHouseSchema>>()));
        builder.Services.AddSingleton<ClickHouseSchemaStatus>();
        builder.Services.AddHostedService<ClickHouseSchemaHostedService>();
        builder.Services.AddHealthChecks().AddCheck<ClickHouseSchemaHealthCheck>("clickhouse-schema", tags: ["ready"]);
        return builder;
    }
}

public sealed class ClickHouseSchemaStatus
{
    private volatile bool _ready;
    public bool Ready => _ready;
    internal void MarkReady() => _ready = true;
}

internal sealed class ClickHouseSchemaHostedService(ClickHouseSchema schema, ClickHouseSchemaStatus status, TimeProvider time, ILogger<ClickHouseSchema> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromMilliseconds(250);
        for (var attempt = 1; !stoppingToken.IsCancellationRequested; attempt++)
        {
            try
            {
                await schema.ApplyAsync(stoppingToken);
                status.MarkReady();
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or ClickHouseException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
            {
                ClickHouseSchema.LogRetry(logger, ex, attempt);
                await Task.Delay(delay, time, stoppingToken);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 10_000));
            }
        }
    }
}

internal sealed class ClickHouseSchemaHealthCheck(ClickHouseSchemaStatus status) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(status.Ready ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("clickhouse schema pending"));
}
