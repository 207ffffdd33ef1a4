using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ThinkWatch.AuditIngest.Ingest;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Security;
using ThinkWatch.Testing;

namespace ThinkWatch.AuditIngest.Tests;

/// <summary>/api/logs against real ClickHouse: what each query returns is exactly what the seeded events say it should.</summary>
[TestFixture]
public sealed class LogsApiTests
{
    private static readonly Guid[] Users = [Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid()];
    private string _vhost = null!;
    private AuditHost _audit = null!;
    private List<UsageRecorded> _events = null!;

    [OneTimeSetUp]
    public async Task Seed()
    {
        var infra = await TestInfrastructure.EnsureStartedAsync();
        _vhost = await TestInfrastructure.CreateVirtualHostAsync(InfraEndpoints.UniqueName("logs"));
        _audit = await AuditHost.StartAsync(infra.RabbitMqUri(virtualHost: _vhost), infra.ClickHouseConnectionString(InfraEndpoints.UniqueName("audit")));
        _events = Enumerable.Range(0, 30).Select(n => Events.Usage(Users[n % 3].ToString(), n, model: n % 2 == 0 ? "gpt-4o" : "claude-sonnet-4") with
        {
            Status = n % 5 == 0 ? 500 : 200,
            LatencyMs = 100 * n,
        }).ToList();
        _events.Add(Events.Usage(Users[0].ToString(), 30, model: "=HYPERLINK(\"http://evil.example\")"));
        await _audit.Services.GetRequiredService<EventWriter>().WriteAsync(UsageRow.Table, _events.Select(UsageRow.From).ToList(), CancellationToken.None);
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        await _audit.DisposeAsync();
        await TestInfrastructure.DeleteVirtualHostAsync(_vhost);
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(string query, string role = Roles.Admin, Guid? userId = null)
    {
        using var console = _audit.Console(role, userId);
        using var response = await console.GetAsync("/api/logs?" + query);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private static string Q(string q) => "q=" + Uri.EscapeDataString(q);

    private static List<string> Ids(JsonElement page) => page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("eventId").GetString()!).ToList();

    private List<string> NewestFirst(Func<UsageRecorded, bool> match) =>
        _events.Where(match).OrderByDescending(e => e.OccurredAt).ThenByDescending(e => e.EventId.ToString()).Select(e => e.EventId.ToString()).ToList();

    [Test]
    public async Task A_structured_query_returns_exactly_the_matching_events_newest_first()
    {
        var user = Users[1].ToString();

        var since = Events.At.AddSeconds(5).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

        var (status, page) = await GetAsync(Q($"user:{user} model:gpt-4o status:>=400 latency_ms:>200 since:{since}"));

        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), page.ToString());
        var expected = NewestFirst(e => e.UserId == user && e.Model == "gpt-4o" && e.Status >= 400 && e.LatencyMs > 200 && e.OccurredAt >= Events.At.AddSeconds(5));
        Assert.That(expected, Is.Not.Empty);
        Assert.That(Ids(page), Is.EqualTo(expected));
        Assert.That(page.GetProperty("next").ValueKind, Is.EqualTo(JsonValueKind.Null));
    }

    [Test]
    public async Task Alternatives_negation_wildcards_and_tags_combine_as_documented()
    {
        var (_, page) = await GetAsync(Q("model:claude* -status:500 tag:n:7 tag:n:9 tag:n:10"));

        Assert.That(Ids(page), Is.EquivalentTo(NewestFirst(e => e.Model.StartsWith("claude", StringComparison.Ordinal) && e.Status != 500
            && (e.Tags.Contains("n:7") || e.Tags.Contains("n:9") || e.Tags.Contains("n:10")))));
    }

    [Test]
    public async Task Pages_follow_each_other_without_gaps_or_repeats()
    {
        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var (status, page) = await GetAsync("limit=7" + (cursor is null ? "" : "&cursor=" + cursor));
            Assert.That(status, Is.EqualTo(HttpStatusCode.OK), page.ToString());
            seen.AddRange(Ids(page));
            cursor = page.GetProperty("next").GetString();
            pages++;
        }
        while (cursor is not null && pages < 20);

        Assert.That(pages, Is.EqualTo(5));
        Assert.That(seen, Is.EqualTo(NewestFirst(_ => true)));
    }

    [TestCase("user:\"{0}' OR 1=1 --\"")]
    [TestCase("user:{0}' OR user_id != '")]
    [TestCase("model:\"gpt-4o' OR '1'='1\"")]
    [TestCase("model:\"x\\\\' OR 1=1 OR model='\"")]
    [TestCase("tag:\"') OR 1=1 OR has(tags,'\"")]
    public async Task Injection_attempts_match_nothing_and_harm_nothing(string template)
    {
        var (status, page) = await GetAsync(Q(string.Format(System.Globalization.CultureInfo.InvariantCulture, template, Users[0])));

        Assert.That(status, Is.AnyOf(HttpStatusCode.OK, HttpStatusCode.BadRequest), page.ToString());
        if (status == HttpStatusCode.OK)
        {
            Assert.That(Ids(page), Is.Empty, "the text was compared as a value, not run as SQL");
        }
        Assert.That(await _audit.CountAsync("SELECT count() FROM usage_events"), Is.EqualTo(_events.Count));
    }

    [TestCase("q=hello", "is not a term")]
    [TestCase("q=colour%3Ablue", "Unknown field 'colour'")]
    [TestCase("kind=payments", "kind must be one of")]
    [TestCase("limit=0", "limit must be")]
    [TestCase("cursor=bm90LWEtY3Vyc29y", "cursor")]
    public async Task Bad_requests_get_400_saying_what_is_wrong(string query, string detail)
    {
        var (status, body) = await GetAsync(query);

        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(body.GetProperty("detail").GetString(), Does.Contain(detail));
    }

    [Test]
    public async Task Csv_export_has_a_header_every_match_and_defused_formulas()
    {
        using var console = _audit.Console();
        using var response = await console.GetAsync("/api/logs?format=csv&" + Q($"user:{Users[0]}"));
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("text/csv"));
        Assert.That(lines[0], Does.StartWith("event_id,ts,trace_id,user_id,team_id,api_key_id,provider,model,"));
        Assert.That(lines.Length - 1, Is.EqualTo(_events.Count(e => e.UserId == Users[0].ToString())));
        Assert.That(lines[1], Does.Contain(",\"'=HYPERLINK(\"\"http://evil.example\"\")\","), "the newest row, its formula defused");
    }

    [Test]
    public async Task Team_managers_see_only_their_own_events_and_roles_without_logs_read_none()
    {
        var (status, page) = await GetAsync(Q($"user:{Users[1]}"), Roles.TeamManager, Users[2]);
        var (_, own) = await GetAsync("limit=100", Roles.TeamManager, Users[2]);
        var (developer, _) = await GetAsync("", Roles.Developer);

        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(Ids(page), Is.Empty);
        Assert.That(Ids(own), Is.EqualTo(NewestFirst(e => e.UserId == Users[2].ToString())));
        Assert.That(developer, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    [Test]
    public async Task Other_kinds_are_searched_in_their_own_table()
    {
        var actor = Guid.NewGuid().ToString();
        var writer = _audit.Services.GetRequiredService<EventWriter>();
        await writer.WriteAsync(AdminAuditRow.Table, Enumerable.Range(0, 3).Select(n => AdminAuditRow.From(Events.Admin(actor, n) with { Action = n == 1 ? "user.delete" : "key.revoke" })).ToList(),
            CancellationToken.None);

        var (status, page) = await GetAsync("kind=admin&" + Q($"user:{actor} action:key.*"));

        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), page.ToString());
        Assert.That(page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("action").GetString()), Is.EqualTo(new[] { "key.revoke", "key.revoke" }));
    }
}
