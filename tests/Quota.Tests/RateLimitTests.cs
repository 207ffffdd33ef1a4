using ThinkWatch.Contracts.Common.V1;
using ThinkWatch.Contracts.Quota.V1;
using ThinkWatch.Quota.Testing;
using static ThinkWatch.Quota.Tests.Calls;

namespace ThinkWatch.Quota.Tests;

/// <summary>Sliding windows against the real Redis, with the service's clock moved by the test.</summary>
[TestFixture]
public sealed class RateLimitTests
{
    private QuotaHost _quota = null!;

    [OneTimeSetUp]
    public async Task Start() => _quota = await QuotaHost.StartAsync();

    [OneTimeTearDown]
    public async Task Stop() => await _quota.DisposeAsync();

    [TestCase("1m")]
    [TestCase("5m")]
    [TestCase("1h")]
    [TestCase("5h")]
    [TestCase("1d")]
    [TestCase("1w")]
    public async Task Every_window_admits_up_to_its_limit_and_frees_capacity_as_requests_leave_it(string window)
    {
        var user = Guid.NewGuid().ToString();
        await _quota.AddRuleAsync("user", user, "requests", window, 3);
        var length = Rules.Vocabulary.Windows[window];
        var client = _quota.Client;

        for (var i = 0; i < 3; i++)
        {
            Assert.That((await client.CheckAsync(Check(User(user)))).Allowed, Is.True, $"request {i + 1}");
        }
        var refused = await client.CheckAsync(Check(User(user)));
        Assert.That(refused.Allowed, Is.False);
        Assert.That(refused.RuleLabel, Is.EqualTo($"user:requests/{window}"));
        // The three requests leave the window within its last 1% (one bucket): that is when to retry.
        Assert.That(refused.RetryAfter.ToTimeSpan(), Is.InRange(length * 0.98, length));

        // Later requests in the window stay refused until the first ones have left it …
        _quota.Time.Advance(length * 0.5);
        var second = await client.CheckAsync(Check(User(user)));
        Assert.That(second.Allowed, Is.False);
        Assert.That(second.RetryAfter.ToTimeSpan(), Is.InRange(length * 0.48, length * 0.5));
        _quota.Time.Advance(length * 0.48);
        Assert.That((await client.CheckAsync(Check(User(user)))).Allowed, Is.False, "98% of the window later the requests still count");

        // … and then there is room for three again (refusals counted nothing).
        _quota.Time.Advance(length * 0.02 + TimeSpan.FromMilliseconds(1));
        for (var i = 0; i < 3; i++)
        {
            Assert.That((await client.CheckAsync(Check(User(user)))).Allowed, Is.True, $"after the window, request {i + 1}");
        }
        Assert.That((await client.CheckAsync(Check(User(user)))).Allowed, Is.False);
    }

    [Test]
    public async Task A_request_refused_by_one_rule_counts_against_none()
    {
        var (user, key, team) = (Guid.NewGuid().ToString(), Guid.NewGuid().ToString(), Guid.NewGuid().ToString());
        await _quota.AddRuleAsync("user", user, "requests", "1m", 10);
        await _quota.AddRuleAsync("team", team, "requests", "1h", 10);
        await _quota.AddRuleAsync("api_key", key, "requests", "1m", 2);
        var client = _quota.Client;

        Assert.That((await client.CheckAsync(Check(Key(key), User(user), Team(team)))).Allowed, Is.True);
        Assert.That((await client.CheckAsync(Check(Key(key), User(user), Team(team)))).Allowed, Is.True);
        for (var i = 0; i < 5; i++)
        {
            var refused = await client.CheckAsync(Check(Key(key), User(user), Team(team)));
            Assert.That(refused.Allowed, Is.False);
            Assert.That(refused.RuleLabel, Is.EqualTo("api_key:requests/1m"));
        }

        var status = await client.StatusAsync(new StatusRequest { Subject = User(user) });
        Assert.That(status.Rules.Single().Remaining, Is.EqualTo(8), "only the two admitted requests count for the user");
        status = await client.StatusAsync(new StatusRequest { Subject = Team(team) });
        Assert.That(status.Rules.Single().Remaining, Is.EqualTo(8), "and for the team");
        // The same subjects without the key's rule: the user still has 8.
        for (var i = 0; i < 8; i++)
        {
            Assert.That((await client.CheckAsync(Check(User(user), Team(team)))).Allowed, Is.True);
        }
        var last = await client.CheckAsync(Check(User(user), Team(team)));
        Assert.That(last.RuleLabel, Is.EqualTo("user:requests/1m"), "the first rule that fails, in subject order, names the refusal");
    }

    [Test]
    public async Task Sixty_four_parallel_callers_get_exactly_the_limit()
    {
        var user = Guid.NewGuid().ToString();
        await _quota.AddRuleAsync("user", user, "requests", "1h", 100);
        var client = _quota.Client;

        var results = await Task.WhenAll(Enumerable.Range(0, 64).Select(async _ =>
        {
            var admitted = 0;
            for (var i = 0; i < 4; i++)
            {
                if ((await client.CheckAsync(Check(User(user)))).Allowed)
                {
                    admitted++;
                }
            }
            return admitted;
        }));

        Assert.That(results.Sum(), Is.EqualTo(100), "256 attempts against a limit of 100");
        var status = await client.StatusAsync(new StatusRequest { Subject = User(user) });
        Assert.That(status.Rules.Single().Remaining, Is.Zero);
    }

    [Test]
    public async Task A_rule_for_every_user_counts_each_user_separately()
    {
        await using var quota = await QuotaHost.StartAsync();
        await quota.AddRuleAsync("user", "*", "requests", "1m", 1);
        var (alice, bob) = (Guid.NewGuid().ToString(), Guid.NewGuid().ToString());

        Assert.That((await quota.Client.CheckAsync(Check(User(alice)))).Allowed, Is.True);
        Assert.That((await quota.Client.CheckAsync(Check(User(bob)))).Allowed, Is.True);
        Assert.That((await quota.Client.CheckAsync(Check(User(alice)))).Allowed, Is.False);
    }

    [Test]
    public async Task Rules_apply_to_their_surface_only_and_mcp_calls_are_limited_per_server()
    {
        var user = Guid.NewGuid().ToString();
        var server = "github-" + Guid.NewGuid().ToString("N")[..6];
        await _quota.AddRuleAsync("mcp_server", server, "requests", "1m", 1, surface: "mcp_gateway");
        await _quota.AddRuleAsync("user", user, "requests", "1m", 1, surface: "ai_gateway");
        var client = _quota.Client;

        Assert.That((await client.CheckAsync(Check(Surface.McpGateway, "", 0, 0, User(user), Server(server)))).Allowed, Is.True);
        var refused = await client.CheckAsync(Check(Surface.McpGateway, "", 0, 0, User(user), Server(server)));
        Assert.That(refused.RuleLabel, Is.EqualTo("mcp_server:requests/1m"));
        Assert.That((await client.CheckAsync(Check(User(user)))).Allowed, Is.True, "the AI rule is untouched by MCP calls");
    }

    [Test]
    public async Task Token_rules_admit_while_below_the_limit_and_count_weighted_tokens_at_settle()
    {
        var user = Guid.NewGuid().ToString();
        await _quota.AddRuleAsync("user", user, "tokens", "1h", 1000);
        await _quota.SetPriceAsync("tok-model", 1, 2, 0.5m, inputWeight: 1, outputWeight: 2);
        var client = _quota.Client;

        var first = await client.CheckAsync(Check(Surface.AiGateway, "tok-model", 10, 10, User(user)));
        Assert.That(first.Allowed, Is.True);
        var settled = await client.SettleAsync(Settle(first.ReservationId, "tok-model", 400, 300, 0, User(user)));
        Assert.That(settled.WeightedTokens, Is.EqualTo(1000), "400 × 1 + 300 × 2");

        var refused = await client.CheckAsync(Check(Surface.AiGateway, "tok-model", 10, 10, User(user)));
        Assert.That(refused.Allowed, Is.False);
        Assert.That(refused.RuleLabel, Is.EqualTo("user:tokens/1h"));
        _quota.Time.Advance(TimeSpan.FromHours(1));
        Assert.That((await client.CheckAsync(Check(Surface.AiGateway, "tok-model", 10, 10, User(user)))).Allowed, Is.True);
    }

    [Test]
    public async Task Admitted_checks_report_every_rule_for_the_rate_limit_headers()
    {
        var user = Guid.NewGuid().ToString();
        await _quota.AddRuleAsync("user", user, "requests", "1m", 5);
        await _quota.AddRuleAsync("user", user, "requests", "1d", 100);

        var answer = await _quota.Client.CheckAsync(Check(User(user)));

        Assert.That(answer.Limits.Select(l => (l.Label, l.Limit, l.Remaining)), Is.EqualTo(new[] { ("user:requests/1m", 5L, 4L), ("user:requests/1d", 100L, 99L) }));
        var now = _quota.Time.GetUtcNow();
        Assert.That(answer.Limits[0].ResetAt.ToDateTimeOffset(), Is.InRange(now.AddSeconds(59), now.AddSeconds(60)));
    }

    [Test]
    public async Task Invalid_calls_are_refused_with_invalid_argument()
    {
        var ex = await Assert.ThrowsAsync<global::Grpc.Core.RpcException>(async () => await _quota.Client.CheckAsync(new CheckRequest { Surface = Surface.AiGateway, Subjects = { new Subject { Kind = SubjectKind.User } } }));
        Assert.That(ex!.StatusCode, Is.EqualTo(global::Grpc.Core.StatusCode.InvalidArgument));
        ex = await Assert.ThrowsAsync<global::Grpc.Core.RpcException>(async () => await _quota.Client.CheckAsync(new CheckRequest { Subjects = { User("u") } }));
        Assert.That(ex!.StatusCode, Is.EqualTo(global::Grpc.Core.StatusCode.InvalidArgument));
    }
}
