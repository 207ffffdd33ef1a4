using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace ThinkWatch.Integrations;

public static class PostgresExtensions
{
    /// <summary>
    /// Registers an <see cref="NpgsqlDataSource"/> for ConnectionStrings:{connectionName} through Aspire's
    /// Npgsql client integration (its health check, Npgsql's traces and metrics, logging), and makes that
    /// check the "postgres" readiness check. With <paramref name="schema"/>, queries find the service's
    /// tables without qualifying them.
    /// </summary>
    /// <remarks>Not named like Aspire's <c>AddNpgsqlDataSource</c>, which it calls: a call with only a name would be ambiguous.</remarks>
    public static IHostApplicationBuilder AddPostgresDataSource(this IHostApplicationBuilder builder, string connectionName, string? schema = null)
    {
        // Ours fails at start-up with the variable to set; Aspire's only when the data source is first asked for.
        var connectionString = ConnectionStrings.Require(builder.Configuration, connectionName);
        builder.Services.AddSingleton(new PostgresConnection(connectionName, connectionString));
        builder.AddNpgsqlDataSource(connectionName, configureDataSourceBuilder: dataSource =>
        {
            dataSource.Name = connectionName;
            if (schema is not null)
            {
                dataSource.ConnectionStringBuilder.SearchPath = $"{schema},public";
            }
        });
        builder.Services.AdoptForReadiness(AspireCheckName, "postgres");
        return builder;
    }

    /// <summary>The name Aspire.Npgsql gives its (unkeyed) health check.</summary>
    internal const string AspireCheckName = "PostgreSql";

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
}
