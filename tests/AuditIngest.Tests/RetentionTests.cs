using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using ThinkWatch.AuditIngest.Ingest;
using ThinkWatch.AuditIngest.Retention;
using ThinkWatch.Testing;

namespace ThinkWatch.AuditIngest.Tests;

/// <summary>Each table keeps its events for its own number of days; 0 keeps them for ever.</summary>
[TestFixture]
public sealed class RetentionTests
{
    [Test]
    public async Task Months_past_the_cutoff_are_dropped_the_rest_of_the_oldest_month_deleted_and_unlimited_tables_kept()
    {
        var infra = await TestInfrastructure.EnsureStartedAsync();
        var vhost = await TestInfrastructure.CreateVirtualHostAsync(InfraEndpoints.UniqueName("retention"));
        var now = new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero); // usage cut-off: 2026-10-24 12:00
        await using var audit = await AuditHost.StartAsync(infra.RabbitMqUri(virtualHost: vhost), infra.ClickHouseConnectionString(InfraEndpoints.UniqueName("audit")),
            new Dictionary<string, string?>
            {
                ["AuditIngest:Retention:UsageDays"] = "30",
                ["AuditIngest:Retention:AccessDays"] = "0",
                ["AuditIngest:Retention:Interval"] = "7.00:00:00",
            },
            new FakeTimeProvider(now));
        var writer = audit.Services.GetRequiredService<EventWriter>();
        DateTimeOffset[] times = [new(2026, 8, 5, 0, 0, 0, TimeSpan.Zero), new(2026, 9, 30, 23, 59, 59, TimeSpan.Zero), new(2026, 10, 10, 0, 0, 0, TimeSpan.Zero),
            new(2026, 10, 24, 12, 0, 1, TimeSpan.Zero), new(2026, 11, 20, 0, 0, 0, TimeSpan.Zero)];
        await writer.WriteAsync(UsageRow.Table, times.Select((t, n) => UsageRow.From(Events.Usage("u", n, t))).ToList(), CancellationToken.None);
        await writer.WriteAsync(AccessRow.Table, times.Select((t, n) => AccessRow.From(Events.Access("u", n) with { OccurredAt = t })).ToList(), CancellationToken.None);

        await audit.Services.GetRequiredService<RetentionJob>().RunOnceAsync(CancellationToken.None);

        var partitions = await audit.ClickHouse.QueryScalarAsync(
            $"SELECT groupUniqArray(partition) FROM system.parts WHERE database = '{audit.ClickHouse.Connection.Database}' AND table = 'usage_events' AND active");
        Assert.That(partitions, Does.Not.Contain("202608").And.Not.Contain("202609"), "whole months before the cut-off dropped");
        // The rest of October goes by a mutation, which ClickHouse applies in the background.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (await audit.CountAsync("SELECT count() FROM usage_events") > 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }
        var kept = await audit.ClickHouse.QueryAsync<UsageRow>("SELECT * FROM usage_events ORDER BY ts");
        Assert.That(kept.Select(r => r.Ts), Is.EqualTo(times[3..]));
        Assert.That(await audit.CountAsync("SELECT count() FROM access_events"), Is.EqualTo(5), "retention 0: kept for ever");
        await TestInfrastructure.DeleteVirtualHostAsync(vhost);
    }
}
