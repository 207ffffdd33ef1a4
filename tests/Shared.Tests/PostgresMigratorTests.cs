using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using ThinkWatch.Integrations;
using ThinkWatch.Testing;

namespace ThinkWatch.Shared.Tests;

[TestFixture]
public sealed class PostgresMigratorTests
{
    private InfraEndpoints _infra = null!;

    [OneTimeSetUp]
    public async Task StartInfrastructure() => _infra = await TestInfrastructure.EnsureStartedAsync();

    private (PostgresMigrator Migrator, NpgsqlDataSource DataSource) Create(string database, params MigrationScript[] scripts)
    {
        var connectionString = _infra.PostgresConnectionString(database);
        var dataSource = NpgsqlDataSource.Create(connectionString);
        return (new PostgresMigrator(dataSource, connectionString, "svc", scripts, NullLogger<PostgresMigrator>.Instance), dataSource);
    }

    private static readonly MigrationScript CreateItems = new("0001_items.sql", "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);");
    private static readonly MigrationScript SeedItems = new("0002_seed.sql", "INSERT INTO items VALUES (1, 'one');");

    [Test]
    public async Task Creates_the_database_applies_in_order_and_then_nothing_more()
    {
        var database = InfraEndpoints.UniqueName("mig");
        var (migrator, dataSource) = Create(database, CreateItems, SeedItems);
        await using var _ = dataSource;

        var first = await migrator.MigrateAsync(CancellationToken.None);
        var second = await migrator.MigrateAsync(CancellationToken.None);

        Assert.That(first, Is.EqualTo(new[] { "0001_items.sql", "0002_seed.sql" }));
        Assert.That(second, Is.Empty);
        await using var connection = await dataSource.OpenConnectionAsync();
        Assert.That(await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM svc.items"), Is.EqualTo(1));
        Assert.That(await connection.QueryAsync<string>("SELECT id FROM svc.schema_migrations ORDER BY id"),
            Is.EqualTo(new[] { "0001_items.sql", "0002_seed.sql" }));
    }

    [Test]
    public async Task Replicas_migrating_at_once_apply_each_script_exactly_once()
    {
        var database = InfraEndpoints.UniqueName("mig");
        // Create the database first: this test is about the scripts, not about CREATE DATABASE races.
        var (setup, setupSource) = Create(database);
        await using (setupSource)
        {
            await setup.MigrateAsync(CancellationToken.None);
        }

        var replicas = Enumerable.Range(0, 6).Select(_ => Create(database, CreateItems, SeedItems)).ToList();
        try
        {
            var applied = await Task.WhenAll(replicas.Select(r => r.Migrator.MigrateAsync(CancellationToken.None)));

            Assert.That(applied.Sum(a => a.Count), Is.EqualTo(2), "each script applied by exactly one replica");
            await using var connection = await replicas[0].DataSource.OpenConnectionAsync();
            Assert.That(await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM svc.items"), Is.EqualTo(1));
        }
        finally
        {
            foreach (var r in replicas)
            {
                await r.DataSource.DisposeAsync();
            }
        }
    }

    [Test]
    public async Task A_failing_script_leaves_nothing_of_the_run_behind()
    {
        var database = InfraEndpoints.UniqueName("mig");
        var broken = new MigrationScript("0002_broken.sql", "INSERT INTO items VALUES (1, 'one'); SELECT no_such_function();");
        var (migrator, dataSource) = Create(database, CreateItems, broken);
        await using var _ = dataSource;

        var ex = await Assert.ThrowsAsync<MigrationException>(() => migrator.MigrateAsync(CancellationToken.None));

        Assert.That(ex!.Message, Does.Contain("0002_broken.sql"));
        await using var connection = await dataSource.OpenConnectionAsync();
        Assert.That(await connection.ExecuteScalarAsync<bool>("SELECT to_regclass('svc.items') IS NOT NULL"), Is.False,
            "the first script of the same run is rolled back too");
    }

    [Test]
    public async Task A_script_edited_after_it_was_applied_is_refused()
    {
        var database = InfraEndpoints.UniqueName("mig");
        var (migrator, dataSource) = Create(database, CreateItems);
        await using (dataSource)
        {
            await migrator.MigrateAsync(CancellationToken.None);
        }
        var edited = new MigrationScript(CreateItems.Id, CreateItems.Sql + " -- changed");
        var (again, againSource) = Create(database, edited);
        await using var _ = againSource;

        var ex = await Assert.ThrowsAsync<MigrationException>(() => again.MigrateAsync(CancellationToken.None));
        Assert.That(ex!.Message, Does.Contain("edited"));
    }

    [Test]
    public async Task Database_names_that_are_not_plain_identifiers_are_refused_before_reaching_sql()
    {
        var (migrator, dataSource) = Create("evil\" OR 1=1 --", CreateItems);
        using var _ = dataSource;

        var ex = await Assert.ThrowsAsync<MigrationException>(() => migrator.MigrateAsync(CancellationToken.None));
        Assert.That(ex!.Message, Does.Contain("plain identifier"));
    }
}
