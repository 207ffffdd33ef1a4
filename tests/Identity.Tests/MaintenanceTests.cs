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
}
