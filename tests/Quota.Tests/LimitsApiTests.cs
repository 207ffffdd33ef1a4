using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ThinkWatch.Quota.Testing;
using ThinkWatch.Security;
using static ThinkWatch.Quota.Tests.Calls;

namespace ThinkWatch.Quota.Tests;

/// <summary>/api/limits and /api/pricing: validation before anything is written, permissions, changes taking effect at once.</summary>
[TestFixture]
public sealed class LimitsApiTests
{
    private QuotaHost _quota = null!;

    [OneTimeSetUp]
    public async Task Start() => _quota = await QuotaHost.StartAsync();

    [OneTimeTearDown]
    public async Task Stop() => await _quota.DisposeAsync();

    private static readonly object[] BadRules =
    [
        new object[] { new { subjectKind = "user", subjectId = Guid.NewGuid(), surface = "ai_gateway", metric = "requests", window = "1m", limit = -5 }, "limit" },
        new object[] { new { subjectKind = "user", subjectId = Guid.NewGuid(), surface = "ai_gateway", metric = "requests", window = "1m", limit = 0 }, "limit" },
        new object[] { new { subjectKind = "user", subjectId = Guid.NewGuid(), surface = "ai_gateway", metric = "requests", window = "2m", limit = 5 }, "window" },
        new object[] { new { subjectKind = "planet", subjectId = "mars", surface = "ai_gateway", metric = "requests", window = "1m", limit = 5 }, "subjectKind" },
        new object[] { new { subjectKind = "user", subjectId = "alice", surface = "ai_gateway", metric = "requests", window = "1m", limit = 5 }, "subjectId" },
        new object[] { new { subjectKind = "provider", subjectId = "open ai", surface = "ai_gateway", metric = "requests", window = "1m", limit = 5 }, "subjectId" },
        new object[] { new { subjectKind = "user", subjectId = Guid.NewGuid(), surface = "email", metric = "requests", window = "1m", limit = 5 }, "surface" },
        new object[] { new { subjectKind = "user", subjectId = Guid.NewGuid(), surface = "ai_gateway", metric = "bytes", window = "1m", limit = 5 }, "metric" },
        new object[] { new { subjectKind = "user", subjectId = Guid.NewGuid(), surface = "ai_gateway", metric = "requests", window = "1m" }, "limit" },
    ];

    [TestCaseSource(nameof(BadRules))]
    public async Task Bad_rules_are_refused_with_400_and_nothing_is_written(object rule, string field)
    {
        using var console = _quota.Console();
        var before = await console.GetFromJsonAsync<JsonElement>("/api/limits/rules");

        using var response = await console.PostAsJsonAsync("/api/limits/rules", rule);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(problem.GetProperty("errors").TryGetProperty(field, out _), Is.True, problem.ToString());
        var after = await console.GetFromJsonAsync<JsonElement>("/api/limits/rules");
        Assert.That(after.GetArrayLength(), Is.EqualTo(before.GetArrayLength()));
    }

    [TestCase("POST", "/api/limits/rules", """{"subjectKind":"user","subjectId":"*","surface":"ai_gateway","metric":"requests","window":"1m","limit":5,"burst":10}""", "burst", "/api/limits/rules")]
    [TestCase("POST", "/api/limits/budgets", """{"subjectKind":"user","subjectId":"*","period":"monthly","limitUsd":5,"actoin":"block"}""", "actoin", "/api/limits/budgets")]
    [TestCase("PUT", "/api/pricing/unknown-field-model", """{"inputUsdPerMtok":1,"outputUsdPerMtok":2,"currency":"EUR"}""", "currency", "/api/pricing")]
    public async Task A_field_the_contract_lacks_is_refused_by_name_and_nothing_is_written(string method, string path, string json, string field, string list)
    {
        using var console = _quota.Console();
        var before = await console.GetStringAsync(list);

        using var response = await console.SendAsync(new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
        });
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        Assert.That(problem.GetProperty("errors").ToString(), Is.EqualTo($$"""{"{{field}}":["unknown field"]}"""));
        Assert.That(await console.GetStringAsync(list), Is.EqualTo(before));
    }

    [Test]
    public async Task Malformed_json_is_refused_with_400()
    {
        using var console = _quota.Console();
        using var response = await console.PostAsync("/api/limits/rules", new StringContent("""{"limit": "lots"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [TestCase(-1.0, null, "limitWeightedTokens")]
    [TestCase(null, -2.5, "limitUsd")]
    [TestCase(null, null, "limitWeightedTokens")]
    [TestCase(100.0, 0.0000001, "limitUsd")]
    public async Task Bad_budgets_are_refused_with_400_and_nothing_is_written(double? tokens, double? usd, string field)
    {
        using var console = _quota.Console();
        var subjectId = Guid.NewGuid().ToString();

        using var response = await console.PostAsJsonAsync("/api/limits/budgets",
            new { subjectKind = "team", subjectId, period = "monthly", limitWeightedTokens = (long?)tokens, limitUsd = (decimal?)usd, action = "block" });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(problem.GetProperty("errors").TryGetProperty(field, out _), Is.True, problem.ToString());
        var listed = await console.GetFromJsonAsync<JsonElement>($"/api/limits/budgets?subjectKind=team&subjectId={subjectId}");
        Assert.That(listed.GetArrayLength(), Is.Zero);
    }

    [Test]
    public async Task Unknown_periods_and_actions_are_refused()
    {
        using var console = _quota.Console();
        using var response = await console.PostAsJsonAsync("/api/limits/budgets",
            new { subjectKind = "team", subjectId = Guid.NewGuid(), period = "hourly", limitWeightedTokens = 10, action = "shout" });
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(problem.GetProperty("errors").EnumerateObject().Select(p => p.Name), Is.SupersetOf(new[] { "period", "action" }));
    }

    [Test]
    public async Task Rules_take_effect_at_once_and_edits_and_deletes_too()
    {
        var user = Guid.NewGuid().ToString();
        Assert.That((await _quota.Client.CheckAsync(Check(User(user)))).Allowed, Is.True, "no rule yet");
        var id = await _quota.AddRuleAsync("user", user, "requests", "1m", 1);
        Assert.That((await _quota.Client.CheckAsync(Check(User(user)))).Allowed, Is.True);
        Assert.That((await _quota.Client.CheckAsync(Check(User(user)))).Allowed, Is.False);

        using var console = _quota.Console();
        using (var raised = await console.PutAsJsonAsync($"/api/limits/rules/{id}",
                   new { subjectKind = "user", subjectId = user, surface = "ai_gateway", metric = "requests", window = "1m", limit = 3 }))
        {
            Assert.That(raised.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }
        Assert.That((await _quota.Client.CheckAsync(Check(User(user)))).Allowed, Is.True, "the raised limit counts the same window");

        using (var duplicate = await console.PostAsJsonAsync("/api/limits/rules",
                   new { subjectKind = "user", subjectId = user, surface = "ai_gateway", metric = "requests", window = "1m", limit = 9 }))
        {
            Assert.That(duplicate.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        }
        using (var deleted = await console.DeleteAsync($"/api/limits/rules/{id}"))
        {
            Assert.That(deleted.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }
        Assert.That((await _quota.Client.CheckAsync(Check(User(user)))).Allowed, Is.True);
        using var missing = await console.DeleteAsync($"/api/limits/rules/{id}");
        Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task Reading_needs_limits_read_and_changing_needs_limits_manage()
    {
        using var anonymous = _quota.Http();
        using (var response = await anonymous.GetAsync("/api/limits/rules"))
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        }
        using var developer = _quota.Console(Roles.Developer);
        using (var response = await developer.GetAsync("/api/limits/rules"))
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        }
        using var manager = _quota.Console(Roles.TeamManager);
        using (var response = await manager.GetAsync("/api/limits/rules"))
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }
        using (var response = await manager.PostAsJsonAsync("/api/limits/rules",
                   new { subjectKind = "user", subjectId = "*", surface = "ai_gateway", metric = "requests", window = "1m", limit = 1 }))
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        }
    }

    [Test]
    public async Task Usage_shows_each_rule_and_budget_of_a_subject()
    {
        var key = Guid.NewGuid().ToString();
        await _quota.AddRuleAsync("api_key", key, "requests", "5m", 10);
        await _quota.AddBudgetAsync("api_key", key, "monthly", limitWeightedTokens: 5000, limitUsd: 12.5m);
        var check = await _quota.Client.CheckAsync(Check(Surface(), "unpriced-model", 100, 100, Key(key)));
        await _quota.Client.SettleAsync(Settle(check.ReservationId, "unpriced-model", 300, 200, 0, Key(key)));

        using var console = _quota.Console(Roles.TeamManager);
        var usage = await console.GetFromJsonAsync<JsonElement>($"/api/limits/usage?subjectKind=api_key&subjectId={key}");

        var rule = usage.GetProperty("rules").EnumerateArray().Single();
        Assert.That(rule.GetProperty("label").GetString(), Is.EqualTo("api_key:requests/5m"));
        Assert.That(rule.GetProperty("used").GetInt64(), Is.EqualTo(1));
        Assert.That(rule.GetProperty("remaining").GetInt64(), Is.EqualTo(9));
        var budget = usage.GetProperty("budgets").EnumerateArray().Single();
        Assert.That(budget.GetProperty("usedWeightedTokens").GetInt64(), Is.EqualTo(500), "an unpriced model weighs 1 per token");
        Assert.That(budget.GetProperty("usedMicroUsd").GetInt64(), Is.Zero);
        Assert.That(budget.GetProperty("limitMicroUsd").GetInt64(), Is.EqualTo(12_500_000));
        var now = _quota.Time.GetUtcNow();
        Assert.That(budget.GetProperty("periodEnd").GetDateTimeOffset(), Is.EqualTo(new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1)), "the first of next month");

        using var bad = await console.GetAsync("/api/limits/usage?subjectKind=planet&subjectId=x");
        Assert.That(bad.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [Test]
    public async Task Prices_are_seeded_editable_and_resolved_by_longest_prefix()
    {
        using var console = _quota.Console();
        var seeded = await console.GetFromJsonAsync<JsonElement>("/api/pricing");
        Assert.That(seeded.EnumerateArray().Select(p => p.GetProperty("model").GetString()), Is.SupersetOf(new[] { "gpt-4o*", "gpt-4o-mini*", "claude-sonnet-4*" }));

        var mini = await console.GetFromJsonAsync<JsonElement>("/api/pricing/resolve?model=gpt-4o-mini-2024-07-18");
        Assert.That(mini.GetProperty("matchedEntry").GetString(), Is.EqualTo("gpt-4o-mini*"));
        Assert.That(mini.GetProperty("price").GetProperty("outputUsdPerMtok").GetDecimal(), Is.EqualTo(0.6m));

        await _quota.SetPriceAsync("gpt-4o-mini-2024-07-18", 9, 9, 9);
        var exact = await console.GetFromJsonAsync<JsonElement>("/api/pricing/resolve?model=gpt-4o-mini-2024-07-18");
        Assert.That(exact.GetProperty("matchedEntry").GetString(), Is.EqualTo("gpt-4o-mini-2024-07-18"), "an exact entry beats every prefix");

        using var bad = await console.PutAsJsonAsync("/api/pricing/gpt*x*", new { inputUsdPerMtok = -1, outputUsdPerMtok = 1 });
        Assert.That(bad.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var problem = await bad.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(problem.GetProperty("errors").EnumerateObject().Select(p => p.Name), Is.SupersetOf(new[] { "model", "inputUsdPerMtok" }));
        var none = await console.GetFromJsonAsync<JsonElement>("/api/pricing/resolve?model=gptzzx");
        Assert.That(none.GetProperty("matchedEntry").ValueKind, Is.EqualTo(JsonValueKind.Null));
    }

    [Test]
    public async Task A_change_on_one_replica_reaches_the_others_through_the_bus()
    {
        await using var other = await QuotaHost.StartAsync(database: _quota.Database, time: _quota.Time);
        var user = Guid.NewGuid().ToString();
        Assert.That((await other.Client.CheckAsync(Check(User(user)))).Allowed, Is.True, "loads its rule book: no rule for this user");

        await _quota.AddRuleAsync("user", user, "requests", "1h", 1);

        // The other replica's clock stands still: only the ConfigChanged event can make it reload.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        var refused = false;
        while (!refused && DateTime.UtcNow < deadline)
        {
            refused = !(await other.Client.CheckAsync(Check(User(user)))).Allowed;
            await Task.Delay(100);
        }
        Assert.That(refused, Is.True, "the new rule applies on the other replica");
    }

    private static Contracts.Common.V1.Surface Surface() => Contracts.Common.V1.Surface.AiGateway;
}
