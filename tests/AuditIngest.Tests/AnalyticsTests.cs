using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MassTransit;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Quota.Testing;
using ThinkWatch.Security;
using ThinkWatch.Testing;

namespace ThinkWatch.AuditIngest.Tests;

/// <summary>
/// /api/analytics over a known set of usage events published through RabbitMQ: every total is
/// compared with the same sum computed here from the events themselves. Budgets come from a real
/// Quota service over gRPC. Both clocks stand at <see cref="TestClock.Start"/>; the events are
/// spread over this month up to that instant and over an earlier month, so every date the tests
/// ask for is derived from it.
/// </summary>
[TestFixture]
public sealed class AnalyticsTests
{
    private static readonly DateTimeOffset Now = TestClock.Start;
    private static readonly DateTimeOffset MonthStart = MonthOf(Now);

    /// <summary>
    /// The month of the six earlier events: the one holding 45 days before now. Its part of the
    /// days from 59 to 31 days back is always at least 14 days long, so the events fit in one
    /// calendar month (for chargeback), all older than the default 30-day window and all inside
    /// since:60d, whatever day of the month now is (the month before now may be wholly within the
    /// last 30 days: on 1 March it is).
    /// </summary>
    private static readonly DateTimeOffset EarlierMonth = MonthOf(Now.AddDays(-45));
    private static readonly string[] Models = ["gpt-4o", "claude-sonnet-4", "gemini-2.5-pro"];
    private static readonly string[] Providers = ["openai", "anthropic", "gemini"];

    private readonly Guid _alice = Guid.NewGuid();
    private readonly string _teamA = Guid.NewGuid().ToString();
    private readonly string _teamB = Guid.NewGuid().ToString();
    private string _vhost = null!;
    private QuotaHost _quota = null!;
    private AuditHost _audit = null!;
    private HttpClient _console = null!;
    private List<UsageRecorded> _events = null!;
    private string _teamBudgetId = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        var infra = await TestInfrastructure.EnsureStartedAsync();
        _vhost = await TestInfrastructure.CreateVirtualHostAsync(InfraEndpoints.UniqueName("analytics"));
        _quota = await QuotaHost.StartAsync(network: true, time: TestClock.Create());
        _teamBudgetId = await _quota.AddBudgetAsync("team", _teamA, "monthly", null, limitUsd: 0.05m);
        await _quota.AddBudgetAsync("user", "*", "monthly", limitWeightedTokens: 4000);
        await _quota.AddBudgetAsync("mcp_server", "github", "daily", limitWeightedTokens: 10); // nothing in usage events to measure it by

        _audit = await AuditHost.StartAsync(infra.RabbitMqUri(virtualHost: _vhost), infra.ClickHouseConnectionString(InfraEndpoints.UniqueName("analytics")),
            new Dictionary<string, string?> { ["services:quota:grpc:0"] = _quota.GrpcAddress!.ToString().TrimEnd('/') }, TestClock.Create());
        _console = _audit.Console(Roles.Admin);

        _events = [.. MakeEvents()];
        Assert.That(Earlier.Select(e => e.OccurredAt).ToList(), Has.Count.EqualTo(6).And.All.InRange(Now.AddDays(-59), Now.AddDays(-31))
            .And.All.Matches<DateTimeOffset>(at => MonthOf(at) == EarlierMonth), "the earlier events: one month, outside 30 days, inside 60");
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host(new Uri(infra.RabbitMqUri(virtualHost: _vhost))));
        await bus.StartAsync();
        foreach (var e in _events)
        {
            await bus.Publish(e);
        }
        await bus.StopAsync();
        Assert.That(await _audit.WaitForCountAsync("SELECT count() FROM usage_events", _events.Count, TimeSpan.FromSeconds(30)), Is.EqualTo(_events.Count));
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        _console.Dispose();
        await _audit.DisposeAsync();
        await _quota.DisposeAsync();
        await TestInfrastructure.DeleteVirtualHostAsync(_vhost);
    }

    private static DateTimeOffset MonthOf(DateTimeOffset at) => new(at.Year, at.Month, 1, 0, 0, 0, TimeSpan.Zero);

    private static string Day(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>
    /// 60 events this month, spread in whole seconds from the month's start to now (both included, so
    /// never in the future, even at 00:00 on the 1st), and 6 in <see cref="EarlierMonth"/>, between 59
    /// and 31 days back: four users, two teams and no team, three models, tags and sessions.
    /// </summary>
    private IEnumerable<UsageRecorded> MakeEvents()
    {
        string[] users = [_alice.ToString(), "bob", "carol", "dave"];
        string?[] teams = [_teamA, _teamA, _teamB, null];
        var monthSoFar = (long)(Now - MonthStart).TotalSeconds;
        var earlierFrom = new[] { EarlierMonth, Now.AddDays(-59) }.Max();
        for (var i = 0; i < 66; i++)
        {
            // 37 is prime to 60: the 60 events take the 60 points from the month's start to now in a shuffled order.
            var at = i < 60 ? MonthStart.AddSeconds(monthSoFar * (i * 37 % 60) / 59) : earlierFrom.AddDays(2 * (i - 60)).AddHours(8);
            var tags = new List<string> { i % 2 == 0 ? "project:atlas" : "project:orion" };
            if (i % 5 == 0)
            {
                tags.Add(i % 3 == 0 ? $"session:s-{i % 4}" : $"session_id:s-{i % 4}");
            }
            yield return Events.Usage(users[i % 4], i, at, Models[i % 3], teams[i % 4], cost: 1000 + 137 * i) with
            {
                Provider = Providers[i % 3], WeightedTokens = 50 + 3 * i, Tags = tags,
            };
        }
    }

    private IEnumerable<UsageRecorded> ThisMonth => _events.Where(e => e.OccurredAt >= MonthStart);

    private IEnumerable<UsageRecorded> Earlier => _events.Where(e => e.OccurredAt < MonthStart);

    private static decimal Usd(long micro) => micro / 1_000_000m;

    private async Task<JsonElement> GetAsync(string path, HttpStatusCode expected = HttpStatusCode.OK, HttpClient? client = null)
    {
        using var response = await (client ?? _console).GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(expected), text);
        return JsonDocument.Parse(text).RootElement;
    }

    private static Dictionary<string, (long Requests, long Input, long Output, long Weighted, decimal Cost)> Groups(JsonElement report) =>
        report.GetProperty("groups").EnumerateArray().ToDictionary(
            g => g.GetProperty("key").GetString()! + (g.GetProperty("bucket").ValueKind == JsonValueKind.Null ? "" : "@" + g.GetProperty("bucket").GetDateTime().ToString("MM-dd", CultureInfo.InvariantCulture)),
            g => (g.GetProperty("requests").GetInt64(), g.GetProperty("inputTokens").GetInt64(), g.GetProperty("outputTokens").GetInt64(),
                g.GetProperty("weightedTokens").GetInt64(), g.GetProperty("costUsd").GetDecimal()));

    private static Dictionary<string, (long Requests, long Input, long Output, long Weighted, decimal Cost)> Expected(IEnumerable<(string Key, UsageRecorded Event)> rows) =>
        rows.GroupBy(r => r.Key).ToDictionary(g => g.Key, g => ((long)g.Count(), g.Sum(r => r.Event.InputTokens), g.Sum(r => r.Event.OutputTokens),
            g.Sum(r => r.Event.WeightedTokens), Usd(g.Sum(r => r.Event.CostMicroUsd))));

    [Test]
    public async Task Usage_groups_and_totals_equal_the_sums_of_the_inserted_events()
    {
        var byModel = await GetAsync("/api/analytics/usage?groupBy=model&q=since:" + Day(MonthStart));
        Assert.That(Groups(byModel), Is.EqualTo(Expected(ThisMonth.Select(e => (e.Model, e)))));
        var totals = byModel.GetProperty("totals");
        Assert.Multiple(() =>
        {
            Assert.That(totals.GetProperty("requests").GetInt64(), Is.EqualTo(60));
            Assert.That(totals.GetProperty("costUsd").GetDecimal(), Is.EqualTo(Usd(ThisMonth.Sum(e => e.CostMicroUsd))));
            Assert.That(totals.GetProperty("weightedTokens").GetInt64(), Is.EqualTo(ThisMonth.Sum(e => e.WeightedTokens)));
            Assert.That(byModel.GetProperty("truncated").GetBoolean(), Is.False);
        });

        var byTeamAndDay = await GetAsync("/api/analytics/usage?groupBy=team&bucket=day&q=since:" + Day(MonthStart));
        Assert.That(Groups(byTeamAndDay), Is.EqualTo(Expected(ThisMonth.Select(e => ($"{e.TeamId}@{e.OccurredAt:MM-dd}", e)))));

        var byProviderFiltered = await GetAsync("/api/analytics/usage?groupBy=provider&q=" + Uri.EscapeDataString("since:60d -model:gemini* user:bob user:carol"));
        Assert.That(Groups(byProviderFiltered),
            Is.EqualTo(Expected(_events.Where(e => !e.Model.StartsWith("gemini", StringComparison.Ordinal) && e.UserId is "bob" or "carol").Select(e => (e.Provider, e)))));

        var byTag = await GetAsync("/api/analytics/usage?groupBy=tag&q=since:" + Day(EarlierMonth));
        Assert.That(Groups(byTag), Is.EqualTo(Expected(_events.SelectMany(e => e.Tags!.Select(t => (t, e))))), "an event counts once under each of its tags");
        Assert.That(byTag.GetProperty("totals").GetProperty("requests").GetInt64(), Is.EqualTo(66), "totals count each event once");

        var byMonth = await GetAsync("/api/analytics/usage?groupBy=none&bucket=month&q=since:" + Day(EarlierMonth));
        var (earlierKey, thisKey) = ("@" + EarlierMonth.ToString("MM-dd", CultureInfo.InvariantCulture), "@" + MonthStart.ToString("MM-dd", CultureInfo.InvariantCulture));
        Assert.That(Groups(byMonth).Keys, Is.EquivalentTo(new[] { earlierKey, thisKey }));
        Assert.That(Groups(byMonth)[earlierKey].Cost, Is.EqualTo(Usd(Earlier.Sum(e => e.CostMicroUsd))));
    }

    [Test]
    public async Task Without_since_usage_covers_the_last_30_days()
    {
        var report = await GetAsync("/api/analytics/usage?groupBy=none");
        var expected = _events.Where(e => e.OccurredAt >= Now.AddDays(-30)).ToList();
        Assert.That(report.GetProperty("totals").GetProperty("requests").GetInt64(), Is.EqualTo(expected.Count));
        Assert.That(expected, Has.Count.LessThan(_events.Count), "the earlier month's events, before the window, are left out");
    }

    [Test]
    public async Task Spend_gives_month_to_date_a_forecast_from_the_last_seven_days_and_budget_utilisation()
    {
        var spend = await GetAsync("/api/analytics/spend");
        var mtd = Usd(ThisMonth.Sum(e => e.CostMicroUsd));
        // The trend: the last seven days, or the month so far when it is younger (none at all at 00:00 on the 1st).
        var trendStart = new[] { Now.AddDays(-7), MonthStart }.Max();
        var trendDays = (decimal)(Now - trendStart).TotalDays;
        var recent = Usd(ThisMonth.Where(e => e.OccurredAt >= trendStart).Sum(e => e.CostMicroUsd));
        var rate = trendDays == 0 ? 0 : decimal.Round(recent / trendDays, 6);
        var daysLeft = (decimal)(MonthStart.AddMonths(1) - Now).TotalDays;
        Assert.Multiple(() =>
        {
            Assert.That(spend.GetProperty("monthStart").GetDateTime(), Is.EqualTo(MonthStart.UtcDateTime));
            Assert.That(spend.GetProperty("monthToDateUsd").GetDecimal(), Is.EqualTo(mtd));
            Assert.That(spend.GetProperty("dailyRateUsd").GetDecimal(), Is.EqualTo(rate));
            Assert.That(spend.GetProperty("forecastMonthUsd").GetDecimal(), Is.EqualTo(mtd + (trendDays == 0 ? 0 : decimal.Round(recent / trendDays * daysLeft, 6))));
            var teamA = spend.GetProperty("teams").EnumerateArray().Single(t => t.GetProperty("teamId").GetString() == _teamA);
            Assert.That(teamA.GetProperty("monthToDateUsd").GetDecimal(), Is.EqualTo(Usd(ThisMonth.Where(e => e.TeamId == _teamA).Sum(e => e.CostMicroUsd))));
        });

        var budgets = spend.GetProperty("budgets").EnumerateArray().ToList();
        var team = budgets.Single(b => b.GetProperty("id").GetString() == _teamBudgetId);
        var teamSpent = Usd(ThisMonth.Where(e => e.TeamId == _teamA).Sum(e => e.CostMicroUsd));
        Assert.Multiple(() =>
        {
            Assert.That(team.GetProperty("spentUsd").GetDecimal(), Is.EqualTo(teamSpent));
            Assert.That(team.GetProperty("limitUsd").GetDecimal(), Is.EqualTo(0.05m));
            Assert.That(team.GetProperty("utilisation").GetDouble(), Is.EqualTo(Math.Round((double)(teamSpent / 0.05m), 4)).Within(1e-9));
            Assert.That(team.GetProperty("periodStart").GetDateTime(), Is.EqualTo(MonthStart.UtcDateTime));
        });
        // "*" budgets: each user counted on their own.
        var perUser = budgets.Where(b => b.GetProperty("subjectId").GetString() != _teamA).ToDictionary(b => b.GetProperty("subjectId").GetString()!);
        Assert.That(perUser.Keys, Is.EquivalentTo(ThisMonth.Select(e => e.UserId).Distinct()), "every user with usage this month, nothing for the MCP budget");
        var bobTokens = ThisMonth.Where(e => e.UserId == "bob").Sum(e => e.WeightedTokens);
        Assert.That(perUser["bob"].GetProperty("usedWeightedTokens").GetInt64(), Is.EqualTo(bobTokens));
        Assert.That(perUser["bob"].GetProperty("utilisation").GetDouble(), Is.EqualTo(Math.Round(bobTokens / 4000.0, 4)).Within(1e-9));
        Assert.That(budgets.Select(b => b.GetProperty("utilisation").GetDouble()), Is.Ordered.Descending);
    }

    [Test]
    public async Task Top_sessions_come_from_session_tags_most_expensive_first()
    {
        var sessions = (await GetAsync("/api/analytics/sessions?q=since:60d&limit=3")).EnumerateArray().ToList();
        var expected = _events.SelectMany(e => e.Tags!.Where(t => t.StartsWith("session:", StringComparison.Ordinal) || t.StartsWith("session_id:", StringComparison.Ordinal))
                .Select(t => (Session: t[(t.IndexOf(':', StringComparison.Ordinal) + 1)..], e)))
            .GroupBy(x => x.Session)
            .Select(g => (Session: g.Key, Requests: g.Count(), Cost: Usd(g.Sum(x => x.e.CostMicroUsd))))
            .OrderByDescending(x => x.Cost).Take(3).ToList();
        Assert.That(sessions.Select(s => (s.GetProperty("session").GetString(), s.GetProperty("requests").GetInt32(), s.GetProperty("costUsd").GetDecimal())),
            Is.EqualTo(expected.Select(x => ((string?)x.Session, x.Requests, x.Cost))));
    }

    [Test]
    public async Task Chargeback_is_a_CSV_by_team_for_the_month_asked()
    {
        var month = EarlierMonth.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        using var response = await _console.GetAsync("/api/analytics/chargeback?month=" + month);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/csv"));
        var lines = (await response.Content.ReadAsStringAsync()).TrimEnd('\n').Split('\n');
        Assert.That(lines[0], Is.EqualTo("month,team_id,requests,users,input_tokens,output_tokens,weighted_tokens,cost_usd"));
        var earlier = Earlier.GroupBy(e => e.TeamId ?? "")
            .OrderByDescending(g => g.Sum(e => e.CostMicroUsd)).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => string.Join(',', month, g.Key, g.Count(), g.Select(e => e.UserId).Distinct().Count(), g.Sum(e => e.InputTokens), g.Sum(e => e.OutputTokens),
                g.Sum(e => e.WeightedTokens), Usd(g.Sum(e => e.CostMicroUsd)).ToString("0.000000", CultureInfo.InvariantCulture)));
        Assert.That(lines[1..], Is.EqualTo(earlier));

        var current = await GetAsync("/api/analytics/chargeback?format=json");
        Assert.That(current.EnumerateArray().Sum(t => t.GetProperty("costUsd").GetDecimal()), Is.EqualTo(Usd(ThisMonth.Sum(e => e.CostMicroUsd))),
            "the current month by default");
    }

    [Test]
    public async Task Other_roles_see_their_own_usage_and_only_their_own_budgets()
    {
        using var developer = _audit.Console(Roles.Developer, _alice);
        var mine = ThisMonth.Where(e => e.UserId == _alice.ToString()).ToList();
        var report = await GetAsync("/api/analytics/usage?groupBy=user&q=since:" + Day(MonthStart), client: developer);
        Assert.That(Groups(report).Keys, Is.EqualTo(new[] { _alice.ToString() }));
        Assert.That(report.GetProperty("totals").GetProperty("costUsd").GetDecimal(), Is.EqualTo(Usd(mine.Sum(e => e.CostMicroUsd))));

        var spend = await GetAsync("/api/analytics/spend", client: developer);
        Assert.That(spend.GetProperty("monthToDateUsd").GetDecimal(), Is.EqualTo(Usd(mine.Sum(e => e.CostMicroUsd))));
        Assert.That(spend.GetProperty("budgets").EnumerateArray().Select(b => b.GetProperty("subjectId").GetString()), Is.EqualTo(new[] { _alice.ToString() }));

        using var outsider = _audit.Console(Roles.Developer, Guid.NewGuid());
        Assert.That((await GetAsync("/api/analytics/chargeback?format=json", client: outsider)).GetArrayLength(), Is.Zero);
    }

    [TestCase("/api/analytics/usage?groupBy=password")]
    [TestCase("/api/analytics/usage?bucket=fortnight")]
    [TestCase("/api/analytics/usage?q=model:x'%20OR%201=1%20--%20nosuchfield:1")]
    [TestCase("/api/analytics/sessions?limit=0")]
    [TestCase("/api/analytics/chargeback?month=2026-13")]
    public async Task Bad_requests_are_refused_with_a_reason(string path)
    {
        var problem = await GetAsync(path, HttpStatusCode.BadRequest);
        Assert.That(problem.GetProperty("detail").GetString(), Is.Not.Empty);
    }

    [Test]
    public async Task A_value_crafted_as_SQL_is_only_ever_a_value()
    {
        var report = await GetAsync("/api/analytics/usage?groupBy=model&q=" + Uri.EscapeDataString("model:\"x' OR 1=1 --\""));
        Assert.That(report.GetProperty("totals").GetProperty("requests").GetInt64(), Is.Zero);
    }

    [Test]
    public async Task Analytics_needs_a_console_session_with_analytics_read()
    {
        using var anonymous = _audit.Console();
        anonymous.DefaultRequestHeaders.Authorization = null;
        using var response = await anonymous.GetAsync("/api/analytics/spend");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }
}
