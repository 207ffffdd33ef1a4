using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

using ThinkWatch.Integrations;

namespace ThinkWatch.ClickHouse;

/// <summary>
/// ClickHouse has neither transactions nor advisory locks, so its schema is a set of
/// idempotent statements (CREATE … IF NOT EXISTS) embedded as "ClickHouse/*.sql" and
/// re-run at every start. Statements are split on ";" at line ends. 18.16 has no
/// ADD COLUMN IF NOT EXISTS, so an "ALTER TABLE t ADD COLUMN c …" runs only while the
/// table lacks that column.
/// </summary>
public sealed partial class ClickHouseSchema(ClickHouseClient client, IReadOnlyList<string> statements, ILogger<ClickHouseSchema> logger)
{
    [GeneratedRegex(@"^ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN\s+(\w+)\s", RegexOptions.IgnoreCase)]
    private static partial Regex AddColumn();

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
            if (AddColumn().Match(statement) is { Success: true } add && await HasColumnAsync(add.Groups[1].Value, add.Groups[2].Value, cancellationToken))
            {
                continue;
            }
            await client.ExecuteAsync(statement, cancellationToken);
        }
        LogApplied(logger, client.Connection.Database, statements.Count);
    }

    private async Task<bool> HasColumnAsync(string table, string column, CancellationToken cancellationToken) =>
        await client.QueryScalarAsync($"SELECT count() FROM system.columns WHERE database = {ClickHouseSql.String(client.Connection.Database)} "
            + $"AND table = {ClickHouseSql.String(table)} AND name = {ClickHouseSql.String(column)}", cancellationToken) != "0";

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "ClickHouse database {Database} ready ({Count} schema statements)")]
    private static partial void LogApplied(ILogger logger, string database, int count);
}

public static class ClickHouseSchemaExtensions
{
    public static IHostApplicationBuilder AddClickHouseSchema(this IHostApplicationBuilder builder, Assembly schemaAssembly)
    {
        var statements = ClickHouseSchema.FromAssembly(schemaAssembly);
        builder.Services.AddSingleton(sp => new ClickHouseSchema(
            sp.GetRequiredService<ClickHouseClient>(), statements, sp.GetRequiredService<ILogger<ClickHouseSchema>>()));
        builder.AddStartupStep("clickhouse-schema", sp => new ClickHouseSchemaStep(
            sp.GetRequiredService<ClickHouseSchema>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ClickHouseSchemaStep>>()));
        return builder;
    }
}

/// <summary>Applies the schema at start; readiness waits for it.</summary>
internal sealed class ClickHouseSchemaStep(ClickHouseSchema schema, TimeProvider time, ILogger<ClickHouseSchemaStep> logger) : StartupStep(time, logger)
{
    protected override string Pending => "clickhouse schema pending";
    protected override Task RunAsync(CancellationToken cancellationToken) => schema.ApplyAsync(cancellationToken);
    protected override bool IsTransient(Exception exception) => exception is HttpRequestException or ClickHouseException or TaskCanceledException;
}
