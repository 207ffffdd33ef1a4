using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using MassTransit;
using ThinkWatch.AuditIngest.Ingest;
using ThinkWatch.ClickHouse;
using ThinkWatch.Testing;

namespace ThinkWatch.AuditIngest.Tests;

/// <summary>Events published on the bus land in their ClickHouse tables, once each, with every field.</summary>
[TestFixture]
public sealed class IngestTests
{
    private string _vhost = null!;
    private AuditHost _audit = null!;
    private IBusControl _bus = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        var infra = await TestInfrastructure.EnsureStartedAsync();
        _vhost = await TestInfrastructure.CreateVirtualHostAsync(InfraEndpoints.UniqueName("ingest"));
        _audit = await AuditHost.StartAsync(infra.RabbitMqUri(virtualHost: _vhost), infra.ClickHouseConnectionString(InfraEndpoints.UniqueName("audit")),
            new Dictionary<string, string?> { ["AuditIngest:BatchSize"] = "200" });
        _bus = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host(new Uri(infra.RabbitMqUri(virtualHost: _vhost))));
        await _bus.StartAsync();
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        await _bus.StopAsync();
        await _audit.DisposeAsync();
        await TestInfrastructure.DeleteVirtualHostAsync(_vhost);
    }

    private static string NewUser() => "user-" + Guid.NewGuid().ToString("N")[..8];

    [Test]
    public async Task A_usage_event_is_stored_with_every_field()
    {
        var user = NewUser();
        var sent = Events.Usage(user, 2);

        await _bus.Publish(sent);

        Assert.That(await _audit.WaitForCountAsync($"SELECT count() FROM usage_events WHERE user_id = '{user}'", 1, TimeSpan.FromSeconds(20)), Is.EqualTo(1));
        var row = (await _audit.ClickHouse.QueryAsync<UsageRow>($"SELECT * FROM usage_events WHERE user_id = '{user}'")).Single();
        Assert.That(row with { Tags = [] }, Is.EqualTo(UsageRow.From(sent) with { Tags = [] }));
        Assert.That(row.Tags, Is.EqualTo(sent.Tags));
        Assert.That(row.TtftMs, Is.EqualTo(40));
    }

    [Test]
    public async Task Ingesting_an_event_continues_the_trace_that_published_it()
    {
        const string Publisher = "ThinkWatch.Tests.Publisher";
        using var traces = new TraceRecorder("MassTransit", Publisher);
        using var source = new ActivitySource(Publisher);
        var user = NewUser();
        ActivityTraceId trace;

        using (var activity = source.StartActivity("publish")!)
        {
            trace = activity.TraceId;
            await _bus.Publish(Events.Usage(user, 1));
        }

        Assert.That(await _audit.WaitForCountAsync($"SELECT count() FROM usage_events WHERE user_id = '{user}'", 1, TimeSpan.FromSeconds(20)), Is.EqualTo(1));
        await Poll.UntilAsync(() => traces.InTrace(trace).Any(a => a.Kind == ActivityKind.Consumer && TraceRecorder.Names(a, "usage-ingest")), TimeSpan.FromSeconds(10),
            "AuditIngest's usage-ingest consumer in the publisher's trace");
    }

    [Test]
    public async Task Mcp_admin_and_access_events_go_to_their_own_tables_with_absent_values_empty()
    {
        var user = NewUser();
        var mcp = Events.McpCall(user, 1) with { AccountLabel = null, Cached = true };
        var admin = Events.Admin(user, 1);
        var access = Events.Access(user, 1) with { ApiKeyId = null };

        await _bus.Publish(mcp);
        await _bus.Publish(admin);
        await _bus.Publish(access);

        Assert.That(await _audit.WaitForCountAsync($"SELECT count() FROM mcp_calls WHERE user_id = '{user}'", 1, TimeSpan.FromSeconds(20)), Is.EqualTo(1));
        Assert.That(await _audit.WaitForCountAsync($"SELECT count() FROM admin_audit WHERE actor_user_id = '{user}'", 1, TimeSpan.FromSeconds(20)), Is.EqualTo(1));
        Assert.That(await _audit.WaitForCountAsync($"SELECT count() FROM access_events WHERE user_id = '{user}'", 1, TimeSpan.FromSeconds(20)), Is.EqualTo(1));
        Assert.That((await _audit.ClickHouse.QueryAsync<McpCallRow>($"SELECT * FROM mcp_calls WHERE user_id = '{user}'")).Single(),
            Is.EqualTo(McpCallRow.From(mcp)));
        Assert.That((await _audit.ClickHouse.QueryAsync<AdminAuditRow>($"SELECT * FROM admin_audit WHERE actor_user_id = '{user}'")).Single(),
            Is.EqualTo(AdminAuditRow.From(admin)));
        var stored = (await _audit.ClickHouse.QueryAsync<AccessRow>($"SELECT * FROM access_events WHERE user_id = '{user}'")).Single();
        Assert.That(stored, Is.EqualTo(AccessRow.From(access)));
        Assert.That(stored.ApiKeyId, Is.Empty);
    }

    [Test]
    public async Task Many_events_arrive_in_batches_each_once()
    {
        var user = NewUser();

        await Task.WhenAll(Enumerable.Range(0, 1000).Select(n => _bus.Publish(Events.Usage(user, n))));

        var where = $"FROM usage_events WHERE user_id = '{user}'";
        Assert.That(await _audit.WaitForCountAsync($"SELECT count() {where}", 1000, TimeSpan.FromSeconds(60)), Is.EqualTo(1000));
        Assert.That(await _audit.CountAsync($"SELECT uniqExact(event_id) {where}"), Is.EqualTo(1000));
        Assert.That(await _audit.CountAsync($"SELECT sum(input_tokens) {where}"), Is.EqualTo(Enumerable.Range(0, 1000).Sum(n => 100L + n)));
    }

    [Test]
    public async Task A_redelivered_event_is_stored_once_whether_it_comes_in_a_later_batch_or_the_same_one()
    {
        var user = NewUser();
        var where = $"FROM usage_events WHERE user_id = '{user}'";
        await Task.WhenAll(Enumerable.Range(0, 10).Select(n => _bus.Publish(Events.Usage(user, n))));
        Assert.That(await _audit.WaitForCountAsync($"SELECT count() {where}", 10, TimeSpan.FromSeconds(20)), Is.EqualTo(10));

        // Replayed (a spool re-sending after a crash): the first ten again, twice over, with ten new ones.
        await Task.WhenAll(Enumerable.Range(0, 20).Concat(Enumerable.Range(0, 10)).Select(n => _bus.Publish(Events.Usage(user, n))));
        await _bus.Publish(Events.Usage(user, 999)); // the last one sent: when it is in, every batch before it was written
        Assert.That(await _audit.WaitForCountAsync($"SELECT count() {where} AND event_id = '{Events.Id(user, 999)}'", 1, TimeSpan.FromSeconds(20)), Is.EqualTo(1));
        await Task.Delay(500);

        Assert.That(await _audit.CountAsync($"SELECT count() {where}"), Is.EqualTo(21));
        Assert.That(await _audit.CountAsync($"SELECT uniqExact(event_id) {where}"), Is.EqualTo(21));
    }

    [Test]
    public async Task The_writer_skips_ids_already_stored_and_counts_only_new_rows()
    {
        var user = NewUser();
        var writer = _audit.Services.GetRequiredService<EventWriter>();
        var rows = Enumerable.Range(0, 5).Select(n => UsageRow.From(Events.Usage(user, n))).ToList();

        var first = await writer.WriteAsync(UsageRow.Table, rows.Take(3).ToList(), CancellationToken.None);
        var second = await writer.WriteAsync(UsageRow.Table, [.. rows, rows[4]], CancellationToken.None);

        Assert.That((first, second), Is.EqualTo((3, 2)));
        Assert.That(await _audit.CountAsync($"SELECT count() FROM usage_events WHERE user_id = {ClickHouseSql.String(user)}"), Is.EqualTo(5));
    }

    [Test]
    public async Task A_batch_larger_than_one_stored_id_query_is_checked_in_parts()
    {
        var user = NewUser();
        var writer = _audit.Services.GetRequiredService<EventWriter>();
        // 10 000 ids in one IN list would be ~390 KB, past ClickHouse's 256 KiB max_query_size.
        var rows = Enumerable.Range(0, EventWriter.IdsPerQuery * 5).Select(n => UsageRow.From(Events.Usage(user, n))).ToList();

        var first = await writer.WriteAsync(UsageRow.Table, rows[..(EventWriter.IdsPerQuery * 3 + 7)], CancellationToken.None);
        var second = await writer.WriteAsync(UsageRow.Table, rows, CancellationToken.None);

        Assert.That((first, second), Is.EqualTo((EventWriter.IdsPerQuery * 3 + 7, EventWriter.IdsPerQuery * 2 - 7)));
        Assert.That(await _audit.CountAsync($"SELECT uniqExact(event_id) FROM usage_events WHERE user_id = {ClickHouseSql.String(user)}"),
            Is.EqualTo(EventWriter.IdsPerQuery * 5));
    }
}
