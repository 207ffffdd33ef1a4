using Microsoft.Extensions.DependencyInjection;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Identity.Maintenance;

namespace ThinkWatch.Identity.Tests;

[TestFixture]
public sealed class MaintenanceTests : SignedInFixture
{
    private Task<IdentityMaintenance.Result> RunOnce() => Host.Services.GetRequiredService<IdentityMaintenance>().RunOnceAsync(CancellationToken.None);

    [Test]
    public async Task Owners_are_warned_once_about_keys_expiring_within_the_window()
    {
        await using var probe = await BusProbe<KeyExpiring>.StartAsync(Host.RabbitMqUri);
        var now = Host.Time.GetUtcNow();
        var (_, soon) = await Send(Root, "POST", "/api/keys", new { name = "soon", surfaces = new[] { "ai_gateway" }, expiresAt = now.AddDays(3) });
        await Send(Root, "POST", "/api/keys", new { name = "later", surfaces = new[] { "ai_gateway" }, expiresAt = now.AddDays(30) });
        await Send(Root, "POST", "/api/keys", new { name = "never", surfaces = new[] { "ai_gateway" } });

        var first = await RunOnce();
        var (warning, _) = await probe.WaitAsync(_ => true, TimeSpan.FromSeconds(5));
        var second = await RunOnce();

        Assert.That(first.Warned, Is.EqualTo(1));
        Assert.That(warning.KeyId, Is.EqualTo(soon.GetProperty("key").GetProperty("id").GetString()));
        Assert.That(warning.KeyName, Is.EqualTo("soon"));
        Assert.That(warning.ExpiresAt, Is.EqualTo(now.AddDays(3)));
        Assert.That(second.Warned, Is.Zero, "once per key");
    }

    [Test]
    public async Task Users_deleted_longer_ago_than_the_retention_are_purged_with_their_data()
    {
        var (oldId, old) = await Host.CreateUserAsync("developer");
        var (recentId, _) = await Host.CreateUserAsync("developer");
        await Send(old, "POST", "/api/keys", new { name = "k", surfaces = new[] { "ai_gateway" } });
        await Send(Root, "DELETE", $"/api/users/{oldId}");
        await Send(Root, "DELETE", $"/api/users/{recentId}");
        await Host.ExecuteAsync("UPDATE users SET deleted_at = deleted_at - interval '31 days' WHERE id = @oldId", new { oldId });

        var result = await RunOnce();

        Assert.That(result.Purged, Is.EqualTo(1));
        Assert.That(await Host.QueryAsync<long>("SELECT count(*) FROM users WHERE id = @oldId", new { oldId }), Is.Zero);
        Assert.That(await Host.QueryAsync<long>("SELECT count(*) FROM api_keys WHERE owner_user_id = @oldId", new { oldId }), Is.Zero);
        Assert.That(await Host.QueryAsync<long>("SELECT count(*) FROM sessions WHERE user_id = @oldId", new { oldId }), Is.Zero);
        Assert.That(await Host.QueryAsync<long>("SELECT count(*) FROM users WHERE id = @recentId", new { recentId }), Is.EqualTo(1), "kept until its 30 days are up");
    }

    [Test]
    public async Task Sessions_ended_longer_ago_than_kept_and_finished_sign_in_throttles_are_removed()
    {
        var now = Host.Time.GetUtcNow();
        var (expiredUser, _) = await Host.CreateUserAsync("developer");
        var (revokedUser, _) = await Host.CreateUserAsync("developer");
        var (recentUser, _) = await Host.CreateUserAsync("developer");
        var longAgo = now.AddDays(-31);
        await Host.ExecuteAsync("UPDATE sessions SET created_at = @longAgo - interval '7 days', expires_at = @longAgo WHERE user_id = @expiredUser", new { longAgo, expiredUser });
        await Host.ExecuteAsync("UPDATE sessions SET revoked_at = @longAgo WHERE user_id = @revokedUser", new { longAgo, revokedUser });
        await Host.ExecuteAsync("UPDATE sessions SET revoked_at = @recently WHERE user_id = @recentUser", new { recently = now.AddDays(-2), recentUser });
        var prefix = "test-" + Guid.NewGuid().ToString("N")[..8] + ":";
        await Host.ExecuteAsync("""
            INSERT INTO login_throttle (key, failures, window_started_at, locked_until) VALUES
                (@prefix || 'over', 3, @hourAgo, NULL),
                (@prefix || 'lock-over', 0, @hourAgo, @minuteAgo),
                (@prefix || 'locked', 0, @hourAgo, @inFiveMinutes),
                (@prefix || 'counting', 2, @minuteAgo, NULL)
            """, new { prefix, hourAgo = now.AddHours(-1), minuteAgo = now.AddMinutes(-1), inFiveMinutes = now.AddMinutes(5) });
        Assert.That(await Host.QueryAsync<long>("SELECT count(*) FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE s.user_id = @expiredUser",
            new { expiredUser }), Is.Positive, "signing in left a refresh token");

        var result = await RunOnce();

        Task<long> Sessions(Guid user) => Host.QueryAsync<long>("SELECT count(*) FROM sessions WHERE user_id = @user", new { user });
        Assert.That(await Sessions(expiredUser), Is.Zero, "expired 31 days ago");
        Assert.That(await Sessions(revokedUser), Is.Zero, "revoked 31 days ago, though it would have expired later");
        Assert.That(await Sessions(recentUser), Is.EqualTo(1), "ended 2 days ago: kept for 30");
        Assert.That(result.EndedSessions, Is.GreaterThanOrEqualTo(2));
        Assert.That(await Host.QueryAsync<long>("SELECT count(*) FROM refresh_tokens WHERE session_id NOT IN (SELECT id FROM sessions)"), Is.Zero,
            "their refresh tokens went with them");
        var left = await Host.QueryAsync<string>("SELECT string_agg(substr(key, length(@prefix) + 1), ',' ORDER BY key) FROM login_throttle WHERE starts_with(key, @prefix)",
            new { prefix });
        Assert.That(left, Is.EqualTo("counting,locked"), "a window or lock still running is kept");
        Assert.That(result.ThrottleRows, Is.GreaterThanOrEqualTo(2));
    }
}
