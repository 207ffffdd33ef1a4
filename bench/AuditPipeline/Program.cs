// The audit pipeline's throughput against the real stack (run by bench/audit-pipeline.sh):
//  1. ClickHouse rows/s per batch size (100, 1000, 10000): usage rows inserted into a scratch
//     database with AuditIngest's own schema, first as plain inserts, then through EventWriter
//     (the stored-id check + insert that ingestion does for every batch);
//  2. events/s from publish to ClickHouse: UsageRecorded events enqueued in a producer's disk
//     spool (as the gateway does), published by EventSpoolPublisher to RabbitMQ, ingested by the
//     stack's AuditIngest; timed until ClickHouse counts every one.
//   dotnet ThinkWatch.Bench.AuditPipeline.dll AMQP_URI CLICKHOUSE_CONNECTION [rows-per-size=100000] [events=50000]
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ThinkWatch.AuditIngest;
using ThinkWatch.AuditIngest.Ingest;
using ThinkWatch.ClickHouse;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Integrations;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: AuditPipeline AMQP_URI CLICKHOUSE_CONNECTION [rows-per-size=100000] [events=50000]");
    return 2;
}
var (amqp, clickHouseConnection) = (args[0], ClickHouseConnection.Parse(args[1]));
var rowsPerSize = args.Length > 2 ? int.Parse(args[2]) : 100_000;
var events = args.Length > 3 ? int.Parse(args[3]) : 50_000;
var run = Guid.NewGuid().ToString("N")[..8];

if (rowsPerSize > 0)
{
    await MeasureInsertsAsync(clickHouseConnection, run, rowsPerSize);
}

// 2. Publish → RabbitMQ → AuditIngest → ClickHouse.
var spoolDirectory = Directory.CreateTempSubdirectory("thinkwatch-bench-spool");
var builder = Host.CreateApplicationBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    ["ConnectionStrings:rabbitmq"] = amqp,
    ["Spool:Directory"] = spoolDirectory.FullName,
});
builder.Services.AddSingleton(TimeProvider.System);
builder.AddRabbitMqBus("rabbitmq");
builder.AddEventSpool(typeof(UsageRecorded));
using var host = builder.Build();
await host.StartAsync();
var spool = host.Services.GetRequiredService<EventSpool>();
using var http = new HttpClient();
var stack = new ClickHouseClient(http, clickHouseConnection);
var tag = "bench:" + run;
try
{
    var start = Stopwatch.GetTimestamp();
    foreach (var e in Rows(events, tag))
    {
        spool.Enqueue(e.Event);
    }
    var enqueued = Stopwatch.GetElapsedTime(start);
    TimeSpan? published = null;
    var count = 0L;
    var deadline = TimeSpan.FromMinutes(10);
    while (count < events && Stopwatch.GetElapsedTime(start) < deadline)
    {
        await Task.Delay(100);
        if (published is null && spool.Depth == 0)
        {
            published = Stopwatch.GetElapsedTime(start);
        }
        count = long.Parse(await stack.QueryScalarAsync($"SELECT count() FROM {UsageRow.Table} WHERE has(tags, {ClickHouseSql.String(tag)})"));
    }
    var total = Stopwatch.GetElapsedTime(start);
    published ??= total;
    Console.WriteLine($"Publish to ClickHouse, {events} usage events through the disk spool, RabbitMQ and AuditIngest:");
    Console.WriteLine($"  enqueued in the spool: {enqueued.TotalSeconds:0.00} s ({events / enqueued.TotalSeconds:0} events/s)");
    Console.WriteLine($"  published to RabbitMQ: {published.Value.TotalSeconds:0.00} s ({events / published.Value.TotalSeconds:0} events/s)");
    Console.WriteLine($"  all in ClickHouse:     {total.TotalSeconds:0.00} s ({count / total.TotalSeconds:0} events/s end to end), {count} of {events} stored");
    return count == events ? 0 : 1;
}
finally
{
    await host.StopAsync();
    spoolDirectory.Delete(recursive: true);
}

// 1. ClickHouse rows/s per batch size, in a scratch database dropped afterwards.
static async Task MeasureInsertsAsync(ClickHouseConnection connection, string run, int rowsPerSize)
{
    using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
    var scratch = new ClickHouseClient(http, connection with { Database = "thinkwatch_bench_" + run });
    await new ClickHouseSchema(scratch, ClickHouseSchema.FromAssembly(typeof(UsageRow).Assembly), NullLogger<ClickHouseSchema>.Instance)
        .ApplyAsync(CancellationToken.None);
    using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    var writer = new EventWriter(scratch, Options.Create(new AuditIngestOptions()), services.GetRequiredService<IMeterFactory>(), TimeProvider.System, NullLogger<EventWriter>.Instance);
    try
    {
        Console.WriteLine($"ClickHouse inserts into {UsageRow.Table}, {rowsPerSize} rows per batch size:");
        foreach (var size in new[] { 100, 1000, 10_000 })
        {
            var plain = await TimeAsync(rowsPerSize, size, batch => scratch.InsertAsync(UsageRow.Table, batch));
            var checkedWrite = await TimeAsync(rowsPerSize, size, batch => writer.WriteAsync(UsageRow.Table, batch, CancellationToken.None));
            Console.WriteLine($"  batch {size,6}: insert {rowsPerSize / plain.TotalSeconds,9:0} rows/s ({plain.TotalMilliseconds / (rowsPerSize / size),7:0.0} ms/batch)" +
                $" | EventWriter (id check + insert) {rowsPerSize / checkedWrite.TotalSeconds,9:0} rows/s ({checkedWrite.TotalMilliseconds / (rowsPerSize / size),7:0.0} ms/batch)");
        }
        var stored = await scratch.QueryScalarAsync($"SELECT count() FROM {UsageRow.Table}");
        Console.WriteLine($"  ({stored} rows stored, expected {rowsPerSize * 6})");
    }
    finally
    {
        await scratch.ExecuteAsync($"DROP DATABASE IF EXISTS {ClickHouseSql.Identifier(scratch.Connection.Database)}", database: "default");
    }
}

static IEnumerable<(UsageRecorded Event, UsageRow Row)> Rows(int count, string tag)
{
    var now = DateTimeOffset.UtcNow;
    string[] models = ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "gemini-2.5-pro"];
    for (var i = 0; i < count; i++)
    {
        var e = new UsageRecorded(Guid.NewGuid(), now.AddMilliseconds(-i), Guid.NewGuid().ToString("N"), $"user-{i % 50}", $"team-{i % 5}",
            $"key-{i % 200}", "openai", models[i % models.Length], "/v1/chat/completions", 100 + i % 900, 20 + i % 300, 0, 0, false,
            120 + i % 1200, 1000 + i % 5000, 200 + i % 3000, i % 2 == 0 ? 80 : null, 200, i % 2 == 0, [tag, "env:bench"]);
        yield return (e, UsageRow.From(e));
    }
}

static async Task<TimeSpan> TimeAsync(int rows, int batchSize, Func<List<UsageRow>, Task> write)
{
    var batches = Rows(rows, "bench").Select(r => r.Row).Chunk(batchSize).Select(c => c.ToList()).ToList();
    var start = Stopwatch.GetTimestamp();
    foreach (var batch in batches)
    {
        await write(batch);
    }
    return Stopwatch.GetElapsedTime(start);
}
