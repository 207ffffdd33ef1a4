using ThinkWatch.Contracts.Common.V1;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Contracts.Quota.V1;
using ThinkWatch.Quota.Testing;
using ThinkWatch.Testing;
using static ThinkWatch.Quota.Tests.Calls;

namespace ThinkWatch.Quota.Tests;

/// <summary>Budgets: reservations before, settlement after, expiry of reservations nobody settles, alerts once per threshold.</summary>
[TestFixture]
public sealed class BudgetTests
{
    private const string Model = "budget-model";
    private QuotaHost _quota = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _quota = await QuotaHost.StartAsync(new Dictionary<string, string?> { ["Quota:ReservationTtl"] = "00:02:00" });
        // Weight 1 and one dollar per million tokens both ways: weighted tokens = tokens, cost = tokens micro-dollars.
        await _quota.SetPriceAsync(Model, 1, 1, 1);
    }

    [OneTimeTearDown]
    public async Task Stop() => await _quota.DisposeAsync();

    [Test]
    public async Task Concurrent_requests_never_reserve_past_the_cap_and_overshoot_is_bounded_by_what_was_reserved()
    {
        var user = Guid.NewGuid().ToString();
        await _quota.AddBudgetAsync("user", user, "daily", limitWeightedTokens: 10_000);
        var client = _quota.Client;

        // 64 callers at once, each reserving 100 input + 900 output = 1000 weighted tokens.
        var answers = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => client.CheckAsync(Check(Surface.AiGateway, Model, 100, 900, User(user))).ResponseAsync));
        var admitted = answers.Where(a => a.Allowed).ToList();
        Assert.That(admitted, Has.Count.EqualTo(10), "10 reservations of 1000 fill a cap of 10 000");
        Assert.That(answers.Where(a => !a.Allowed).Select(a => a.RuleLabel), Is.All.EqualTo("user:budget/daily"));
        var status = await client.StatusAsync(new StatusRequest { Subject = User(user) });
        Assert.That(status.Budgets.Single().ReservedWeightedTokens, Is.EqualTo(10_000));
        Assert.That(status.Budgets.Single().UsedWeightedTokens, Is.Zero);

        // Every admitted request uses 20% more than it reserved: the cap is passed by at most the in-flight reservations' excess.
        await Task.WhenAll(admitted.Select(a => client.SettleAsync(Settle(a.ReservationId, Model, 100, 1100, 0, User(user))).ResponseAsync));
        status = await client.StatusAsync(new StatusRequest { Subject = User(user) });
        var budget = status.Budgets.Single();
        Assert.That(budget.UsedWeightedTokens, Is.EqualTo(12_000));
        Assert.That(budget.UsedWeightedTokens, Is.LessThanOrEqualTo(10_000 + admitted.Count * 200), "overshoot ≤ Σ (used − reserved) of the requests in flight");
        Assert.That(budget.ReservedWeightedTokens, Is.Zero, "settling released every reservation");
        var after = await client.CheckAsync(Check(Surface.AiGateway, Model, 1, 1, User(user)));
        Assert.That(after.Allowed, Is.False);
        Assert.That(after.RetryAfter.ToTimeSpan(), Is.GreaterThan(TimeSpan.FromHours(1)), "an exhausted budget waits for its next period");
    }

    [Test]
    public async Task Settling_below_the_reservation_gives_the_rest_back()
    {
        var user = Guid.NewGuid().ToString();
        await _quota.AddBudgetAsync("user", user, "monthly", limitWeightedTokens: 3000);
        var client = _quota.Client;

        var first = await client.CheckAsync(Check(Surface.AiGateway, Model, 500, 1000, User(user)));
        var second = await client.CheckAsync(Check(Surface.AiGateway, Model, 500, 1000, User(user)));
        Assert.That((first.Allowed, second.Allowed), Is.EqualTo((true, true)));
        Assert.That((await client.CheckAsync(Check(Surface.AiGateway, Model, 500, 400, User(user)))).Allowed, Is.False, "3000 reserved, 900 more do not fit");

        await client.SettleAsync(Settle(first.ReservationId, Model, 500, 100, 0, User(user)));

        Assert.That((await client.CheckAsync(Check(Surface.AiGateway, Model, 500, 400, User(user)))).Allowed, Is.True, "600 used + 1500 reserved + 900 ≤ 3000");
    }

    [Test]
    public async Task A_reservation_that_is_never_settled_expires()
    {
        var user = Guid.NewGuid().ToString();
        await _quota.AddBudgetAsync("user", user, "weekly", limitWeightedTokens: 1000);
        var client = _quota.Client;

        Assert.That((await client.CheckAsync(Check(Surface.AiGateway, Model, 500, 500, User(user)))).Allowed, Is.True);
        // The gateway that made it crashed: no settle ever comes.
        Assert.That((await client.CheckAsync(Check(Surface.AiGateway, Model, 500, 500, User(user)))).Allowed, Is.False);

        _quota.Time.Advance(TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(1));

        Assert.That((await client.CheckAsync(Check(Surface.AiGateway, Model, 500, 500, User(user)))).Allowed, Is.True);
    }

    [Test]
    public async Task Dollar_budgets_reserve_and_settle_in_micro_dollars()
    {
        var team = Guid.NewGuid().ToString();
        await _quota.AddBudgetAsync("team", team, "monthly", limitWeightedTokens: null, limitUsd: 0.01m);
        await _quota.SetPriceAsync("pricey-model", 2, 10, 0.5m);
        var client = _quota.Client;

        var check = await client.CheckAsync(Check(Surface.AiGateway, "pricey-model", 1000, 500, Team(team)));
        Assert.That(check.Allowed, Is.True, "1000 × 2 + 500 × 10 = 7000 micro-dollars of 10 000");
        Assert.That((await client.CheckAsync(Check(Surface.AiGateway, "pricey-model", 1000, 500, Team(team)))).RuleLabel, Is.EqualTo("team:budget/monthly"));

        var settled = await client.SettleAsync(Settle(check.ReservationId, "pricey-model", 1000, 200, 400, Team(team)));

        Assert.That(settled.CostMicroUsd, Is.EqualTo(600 * 2 + 400 / 2 + 200 * 10));
        var status = await client.StatusAsync(new StatusRequest { Subject = Team(team) });
        Assert.That(status.Budgets.Single().UsedMicroUsd, Is.EqualTo(3400));
        Assert.That(status.Budgets.Single().LimitMicroUsd, Is.EqualTo(10_000));
    }

    [Test]
    public async Task Warn_budgets_never_refuse()
    {
        var key = Guid.NewGuid().ToString();
        await _quota.AddBudgetAsync("api_key", key, "daily", limitWeightedTokens: 10, action: "warn");

        for (var i = 0; i < 3; i++)
        {
            var check = await _quota.Client.CheckAsync(Check(Surface.AiGateway, Model, 100, 100, Key(key)));
            Assert.That(check.Allowed, Is.True);
            await _quota.Client.SettleAsync(Settle(check.ReservationId, Model, 100, 100, 0, Key(key)));
        }
    }

    [Test]
    public async Task Each_threshold_is_announced_once_per_period()
    {
        var infra = await TestInfrastructure.EnsureStartedAsync();
        await using var probe = await BusProbe<BudgetThresholdCrossed>.StartAsync(infra.RabbitMqUri());
        var user = Guid.NewGuid().ToString();
        var budgetId = await _quota.AddBudgetAsync("user", user, "daily", limitWeightedTokens: 1000, action: "warn");
        var client = _quota.Client;
        async Task Use(long tokens) => await client.SettleAsync(Settle("", Model, tokens, 0, 0, User(user)));

        await Use(500);  // 50%
        await Use(10);   // still 51%: nothing new
        await Use(300);  // 81%
        await Use(200);  // 101%: 95 and 100 at once
        await Use(100);  // past every threshold: nothing new

        var crossed = await probe.CollectAsync(e => e.BudgetId == budgetId, TimeSpan.FromSeconds(5));
        Assert.That(crossed.Select(e => e.ThresholdPercent).Order(), Is.EqualTo(new[] { 50, 80, 95, 100 }));
        Assert.That(crossed.Single(e => e.ThresholdPercent == 80).UsedWeightedTokens, Is.EqualTo(810));
        Assert.That(crossed.Select(e => e.SubjectId), Is.All.EqualTo(user));

        // The next day is a new period: 50% is announced again, once.
        _quota.Time.Advance(TimeSpan.FromDays(1));
        await Use(600);
        await Use(1);
        crossed = await probe.CollectAsync(e => e.BudgetId == budgetId, TimeSpan.FromSeconds(5));
        Assert.That(crossed.Select(e => e.ThresholdPercent), Is.EqualTo(new[] { 50 }));
        Assert.That(crossed[0].PeriodStart, Is.EqualTo(new DateTimeOffset(_quota.Time.GetUtcNow().UtcDateTime.Date, TimeSpan.Zero)));
    }

    [Test]
    public async Task Budgets_do_not_apply_to_mcp_calls()
    {
        var user = Guid.NewGuid().ToString();
        await _quota.AddBudgetAsync("user", user, "daily", limitWeightedTokens: 1);
        var check = await _quota.Client.CheckAsync(Check(Surface.AiGateway, Model, 1000, 1000, User(user)));
        Assert.That(check.Allowed, Is.False);

        Assert.That((await _quota.Client.CheckAsync(Check(Surface.McpGateway, "", 0, 0, User(user)))).Allowed, Is.True);
    }
}
