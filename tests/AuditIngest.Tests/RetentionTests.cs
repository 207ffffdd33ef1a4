using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
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
        var time = TestClock.Create();
        var cutoff = time.GetUtcNow().AddDays(-30); // UsageDays below
        var cutoffMonth = new DateTimeOffset(cutoff.Year, cutoff.Month, 1, 0, 0, 0, TimeSpan.Zero);
        await using var audit = await AuditHost.StartAsync(infra.RabbitMqUri(virtualHost: vhost), infra.ClickHouseConnectionString(InfraEndpoints.UniqueName("audit")),
            new Dictionary<string, string?>
            {
                ["AuditIngest:Retention:UsageDays"] = "30",
                ["AuditIngest:Retention:AccessDays"] = "0",
                ["AuditIngest:Retention:Interval"] = "7.00:00:00",
            },
            time);
        var writer = audit.Services.GetRequiredService<EventWriter>();
        DateTimeOffset[] times =
        [
            cutoffMonth.AddMonths(-2).AddDays(4), // two months before the cut-off's: dropped
            cutoffMonth.AddSeconds(-1),           // the last second of the month before the cut-off's: dropped
            cutoff.AddSeconds(-1),                // the cut-off's month, just before it: deleted (dropped if the cut-off is a month's first second)
            cutoff.AddSeconds(1),                 // just after the cut-off: kept
            time.GetUtcNow().AddDays(-3),         // kept
        ];
        var dropped = times.Where(t => t < cutoffMonth).Select(t => t.ToString("yyyyMM", CultureInfo.InvariantCulture)).Distinct().ToList();
        Assert.That(dropped, Has.Count.GreaterThanOrEqualTo(2), "rows in at least two whole months before the cut-off");
        await writer.WriteAsync(UsageRow.Table, times.Select((t, n) => UsageRow.From(Events.Usage("u", n, t))).ToList(), CancellationToken.None);
        await writer.WriteAsync(AccessRow.Table, times.Select((t, n) => AccessRow.From(Events.Access("u", n) with { OccurredAt = t })).ToList(), CancellationToken.None);

        await audit.Services.GetRequiredService<RetentionJob>().RunOnceAsync(CancellationToken.None);

        var partitions = await audit.ClickHouse.QueryScalarAsync(
            $"SELECT groupUniqArray(partition) FROM system.parts WHERE database = '{audit.ClickHouse.Connection.Database}' AND table = 'usage_events' AND active");
        Assert.Multiple(() =>
        {
            foreach (var month in dropped)
            {
                Assert.That(partitions, Does.Not.Contain(month), "whole months before the cut-off dropped");
            }
        });
        // The rest of the cut-off's month goes by a mutation, which ClickHouse applies in the background.
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
