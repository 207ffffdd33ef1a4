using ThinkWatch.Quota.Testing;
using ThinkWatch.Testing;
using static ThinkWatch.Quota.Tests.Calls;

namespace ThinkWatch.Quota.Tests;

/// <summary>Redis stopped and started again under a running service: fail open or closed, then recover on its own.</summary>
[TestFixture]
public sealed class FailureModeTests
{
    [Test]
    public async Task Fail_open_admits_while_redis_is_down_and_enforces_again_when_it_returns()
    {
        await using var redis = await PrivateRedis.StartAsync();
        await using var quota = await QuotaHost.StartAsync(new Dictionary<string, string?> { ["ConnectionStrings:redis"] = redis.ConnectionString });
        var user = Guid.NewGuid().ToString();
        await quota.AddRuleAsync("user", user, "requests", "1h", 1);
        Assert.That((await quota.Client.CheckAsync(Check(User(user)))).Allowed, Is.True);
        Assert.That((await quota.Client.CheckAsync(Check(User(user)))).Allowed, Is.False);

        await redis.StopAsync();
        for (var i = 0; i < 3; i++)
        {
            var answer = await quota.Client.CheckAsync(Check(User(user)));
            Assert.That(answer.Allowed, Is.True, "fail open (the default)");
            Assert.That(answer.Degraded, Is.True);
        }

        await redis.StartAgainAsync();
        // An empty Redis: the count starts over; the first call after reconnecting is counted, the next refused.
        var recovered = await WaitUntilAsync(async () => await quota.Client.CheckAsync(Check(User(user))) is { Degraded: false });
        Assert.That(recovered, Is.True, "the service reconnects by itself");
        var after = await quota.Client.CheckAsync(Check(User(user)));
        Assert.That((after.Allowed, after.Degraded), Is.EqualTo((false, false)));
    }

    [Test]
    public async Task Fail_closed_refuses_with_rate_limiter_unavailable_while_redis_is_down()
    {
        await using var redis = await PrivateRedis.StartAsync();
        await using var quota = await QuotaHost.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = redis.ConnectionString,
            ["Quota:FailureMode"] = "Closed",
        });
        var user = Guid.NewGuid().ToString();
        await quota.AddRuleAsync("user", user, "requests", "1h", 100);
        Assert.That((await quota.Client.CheckAsync(Check(User(user)))).Allowed, Is.True);

        await redis.StopAsync();
        var refused = await quota.Client.CheckAsync(Check(User(user)));
        Assert.That(refused.Allowed, Is.False);
        Assert.That(refused.RuleLabel, Is.EqualTo("rate_limiter_unavailable"));
        Assert.That(refused.Degraded, Is.True);
        Assert.That(refused.RetryAfter.ToTimeSpan(), Is.GreaterThan(TimeSpan.Zero));

        await redis.StartAgainAsync();
        Assert.That(await WaitUntilAsync(async () => (await quota.Client.CheckAsync(Check(User(user)))).Allowed), Is.True, "admitted again once Redis is back");
    }

    [Test]
    public async Task Subjects_without_rules_never_touch_redis()
    {
        await using var redis = await PrivateRedis.StartAsync();
        await using var quota = await QuotaHost.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = redis.ConnectionString,
            ["Quota:FailureMode"] = "Closed",
        });
        await redis.StopAsync();

        var answer = await quota.Client.CheckAsync(Check(User(Guid.NewGuid().ToString())));

        Assert.That((answer.Allowed, answer.Degraded), Is.EqualTo((true, false)));
    }

    private static async Task<bool> WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return true;
            }
            await Task.Delay(100);
        }
        return false;
    }
}
