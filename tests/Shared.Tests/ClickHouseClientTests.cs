using Microsoft.Extensions.Logging.Abstractions;
using ThinkWatch.ClickHouse;
using ThinkWatch.Testing;

namespace ThinkWatch.Shared.Tests;

/// <summary>The HTTP client against the real ClickHouse the infra script starts.</summary>
[TestFixture]
public sealed class ClickHouseClientTests
{
    private InfraEndpoints _infra = null!;
    private HttpClient _http = null!;
    private ClickHouseClient _client = null!;

    [OneTimeSetUp]
    public async Task StartInfrastructure()
    {
        _infra = await TestInfrastructure.EnsureStartedAsync();
        _http = new HttpClient();
        var database = InfraEndpoints.UniqueName("ch");
        _client = new ClickHouseClient(_http, ClickHouseConnection.Parse(_infra.ClickHouseConnectionString(database)));
        await new ClickHouseSchema(_client, ["CREATE TABLE IF NOT EXISTS rows (id UInt32, note String, at DateTime('UTC')) ENGINE = MergeTree ORDER BY id"],
            NullLogger<ClickHouseSchema>.Instance).ApplyAsync(CancellationToken.None);
    }

    [OneTimeTearDown]
    public async Task Drop()
    {
        await _client.ExecuteAsync($"DROP DATABASE IF EXISTS {_client.Connection.Database}", database: "default");
        _http.Dispose();
    }

    private sealed record Row(uint Id, string Note, DateTime At);

    [Test]
    public async Task Ping_answers()
    {
        Assert.That(await _client.PingAsync(), Is.True);
    }

    [Test]
    public async Task Rows_round_trip_with_hostile_text_intact_through_insert_and_escaped_filters()
    {
        string[] notes = ["plain", "it's", @"back\slash", "new\nline", "'; DROP DATABASE default; --", "ünïcødé ✓"];
        var at = new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.FromHours(2));
        var rows = notes.Select((n, i) => new { Id = (uint)(100 + i), Note = n, At = at });

        await _client.InsertAsync("rows", rows);

        var all = await _client.QueryAsync<Row>("SELECT id, note, at FROM rows WHERE id >= 100 ORDER BY id");
        Assert.That(all.Select(r => r.Note), Is.EqualTo(notes));
        Assert.That(all.Select(r => r.At), Is.All.EqualTo(new DateTime(2026, 11, 22, 10, 0, 0, DateTimeKind.Utc)), "stored and read back as UTC");
        foreach (var note in notes)
        {
            var count = await _client.QueryScalarAsync($"SELECT count() FROM rows WHERE note = {ClickHouseSql.String(note)}");
            Assert.That(count, Is.EqualTo("1"), note);
        }
    }

    [Test]
    public async Task The_schema_can_be_applied_again_without_error_or_data_loss()
    {
        await _client.InsertAsync("rows", [new { Id = 1u, Note = "kept", At = DateTime.UtcNow }]);
        var schema = new ClickHouseSchema(_client, ["CREATE TABLE IF NOT EXISTS rows (id UInt32, note String, at DateTime('UTC')) ENGINE = MergeTree ORDER BY id"],
            NullLogger<ClickHouseSchema>.Instance);

        await schema.ApplyAsync(CancellationToken.None);

        Assert.That(await _client.QueryScalarAsync("SELECT note FROM rows WHERE id = 1"), Is.EqualTo("kept"));
    }

    [Test]
    public async Task A_column_added_by_the_schema_is_added_once_and_old_rows_get_its_default()
    {
        const string Create = "CREATE TABLE IF NOT EXISTS grown (id UInt32) ENGINE = MergeTree ORDER BY id";
        await new ClickHouseSchema(_client, [Create], NullLogger<ClickHouseSchema>.Instance).ApplyAsync(CancellationToken.None);
        await _client.InsertAsync("grown", [new { Id = 1u }]);
        var schema = new ClickHouseSchema(_client, [Create, "ALTER TABLE grown ADD COLUMN flag UInt8 DEFAULT 0"], NullLogger<ClickHouseSchema>.Instance);

        await schema.ApplyAsync(CancellationToken.None);
        await schema.ApplyAsync(CancellationToken.None); // 18.16 would refuse a second ADD COLUMN
        await _client.InsertAsync("grown", [new { Id = 2u, Flag = (byte)1 }]);

        Assert.That(await _client.QueryScalarAsync("SELECT flag FROM grown WHERE id = 1"), Is.EqualTo("0"), "a row from before has the default");
        Assert.That(await _client.QueryScalarAsync("SELECT flag FROM grown WHERE id = 2"), Is.EqualTo("1"));
    }

    [Test]
    public async Task Server_errors_carry_the_status_and_the_server_message()
    {
        var error = await Assert.ThrowsAsync<ClickHouseException>(() => _client.QueryScalarAsync("SELECT no_such_column FROM rows"));

        Assert.That(error!.StatusCode, Is.AnyOf(400, 404, 500));
        Assert.That(error.Message, Does.Contain("no_such_column"));
    }
}
