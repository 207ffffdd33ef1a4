using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace ThinkWatch.Integrations;

/// <summary>One plain SQL migration; its id is the file name, e.g. "0001_init.sql".</summary>
public sealed record MigrationScript(string Id, string Sql)
{
    public string Checksum { get; } = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Sql)));

    /// <summary>Embedded resources whose logical name is "Migrations/NNNN_name.sql", ordered by name.</summary>
    public static IReadOnlyList<MigrationScript> FromAssembly(Assembly assembly) =>
        assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith("Migrations/", StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(n =>
            {
                using var stream = assembly.GetManifestResourceStream(n)!;
                using var reader = new StreamReader(stream, Encoding.UTF8);
                return new MigrationScript(n["Migrations/".Length..], reader.ReadToEnd());
            })
            .ToList();
}

public sealed class MigrationException(string message) : Exception(message);

/// <summary>
/// Applies migrations in one transaction under an advisory lock, so replicas starting
/// together apply each script exactly once and a failing script leaves nothing behind.
/// Creates the database first when it does not exist yet.
/// </summary>
/// <remarks>
/// <paramref name="connectionString"/> is the configured one: Npgsql drops the password from
/// <see cref="NpgsqlDataSource.ConnectionString"/>, and creating the database needs it.
/// </remarks>
public sealed class PostgresMigrator(NpgsqlDataSource dataSource, string connectionString, string schema, IReadOnlyList<MigrationScript> migrations, ILogger<PostgresMigrator> logger)
{
    public string Schema { get; } = IsIdentifier(schema) ? schema : throw new ArgumentException($"'{schema}' is not a plain schema name", nameof(schema));

    public async Task<IReadOnlyList<string>> MigrateAsync(CancellationToken cancellationToken)
    {
        await EnsureDatabaseAsync(cancellationToken);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_xact_lock(hashtext(@key))", new { key = "thinkwatch.migrations." + Schema }, tx, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition($"""
            CREATE SCHEMA IF NOT EXISTS "{Schema}";
            CREATE TABLE IF NOT EXISTS "{Schema}".schema_migrations (
                id text PRIMARY KEY,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now());
            """, transaction: tx, cancellationToken: cancellationToken));
        var applied = (await connection.QueryAsync<(string Id, string Checksum)>(new CommandDefinition(
                $"""SELECT id, checksum FROM "{Schema}".schema_migrations""", transaction: tx, cancellationToken: cancellationToken)))
            .ToDictionary(r => r.Id, r => r.Checksum, StringComparer.Ordinal);

        var newlyApplied = new List<string>();
        foreach (var migration in migrations)
        {
            if (applied.TryGetValue(migration.Id, out var checksum))
            {
                if (!string.Equals(checksum, migration.Checksum, StringComparison.Ordinal))
                {
                    Log.MigrationEdited(logger, migration.Id, Schema);
                    throw new MigrationException($"Migration {migration.Id} of schema {Schema} was edited after it was applied. Add a new migration instead.");
                }
                continue;
            }
            var started = Stopwatch.GetTimestamp();
            try
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    $"""SET LOCAL search_path TO "{Schema}", public;""" + "\n" + migration.Sql, transaction: tx, cancellationToken: cancellationToken));
            }
            catch (PostgresException ex) when (!ex.IsTransient)
            {
                throw new MigrationException($"Migration {migration.Id} of schema {Schema} failed: {ex.SqlState} {ex.MessageText}");
            }
            await connection.ExecuteAsync(new CommandDefinition(
                $"""INSERT INTO "{Schema}".schema_migrations (id, checksum) VALUES (@Id, @Checksum)""", migration, tx, cancellationToken: cancellationToken));
            Log.MigrationApplied(logger, migration.Id, Schema, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            newlyApplied.Add(migration.Id);
        }
        await tx.CommitAsync(cancellationToken);
        if (newlyApplied.Count == 0)
        {
            Log.MigrationsUpToDate(logger, Schema, migrations.Count);
        }
        else
        {
            // Connections opened before the schema existed (readiness probes while this ran) resolved
            // their search_path without it and could keep missing the new tables: start the pool afresh.
            dataSource.Clear();
        }
        return newlyApplied;
    }

    private async Task EnsureDatabaseAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var probe = await dataSource.OpenConnectionAsync(cancellationToken);
            return;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InvalidCatalogName)
        {
            // Database not there yet: create it, as Aspire's AddDatabase would.
        }
        var target = new NpgsqlConnectionStringBuilder(connectionString);
        var database = target.Database ?? throw new MigrationException("The connection string names no database.");
        if (!IsIdentifier(database))
        {
            throw new MigrationException($"Database name '{database}' must be a plain identifier ([a-z_][a-z0-9_]*).");
        }
        var admin = new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres", Pooling = false };
        await using var connection = new NpgsqlConnection(admin.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        try
        {
            await connection.ExecuteAsync(new CommandDefinition($"""CREATE DATABASE "{database}" """, cancellationToken: cancellationToken));
            Log.DatabaseCreated(logger, database);
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.DuplicateDatabase or PostgresErrorCodes.UniqueViolation)
        {
            // Another replica created it first.
        }
    }

    private static bool IsIdentifier(string name) =>
        name.Length is > 0 and < 64 && (char.IsAsciiLetterLower(name[0]) || name[0] == '_')
        && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_');
}

/// <summary>Migrates at start; readiness waits for it.</summary>
internal sealed class MigrationStep(PostgresMigrator migrator, TimeProvider time, ILogger<MigrationStep> logger) : StartupStep(time, logger)
{
    protected override string Pending => $"migrations of schema {migrator.Schema} pending";
    protected override Task RunAsync(CancellationToken cancellationToken) => migrator.MigrateAsync(cancellationToken);
    protected override bool IsTransient(Exception exception) => exception is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException;
    protected override bool IsPermanent(Exception exception) => exception is MigrationException;
}
