using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Google.Protobuf;
using ThinkWatch.Contracts.Common.V1;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Contracts.Identity.V1;
using ThinkWatch.Identity.Keys;

namespace ThinkWatch.Identity.Tests;

[TestFixture]
public sealed class UsersApiTests : SignedInFixture
{
    [Test]
    public async Task Disabling_a_user_ends_their_sessions_and_stops_their_keys_everywhere()
    {
        var (status, created) = await Send(Root, "POST", "/api/users", new { email = "dev@example.com", displayName = "Dev", role = "developer", password = "Dev-password-1" });
        var devId = created.GetProperty("id").GetGuid();
        var dev = await Host.SignInAsync("dev@example.com", "Dev-password-1");
        var (_, key) = await Send(dev, "POST", "/api/keys", new { name = "k", surfaces = new[] { "ai_gateway" } });
        var secret = key.GetProperty("secret").GetString()!;
        await using var probe = await BusProbe<KeyChanged>.StartAsync(Host.RabbitMqUri);

        var (disableStatus, _) = await Send(Root, "PATCH", $"/api/users/{devId}", new { disabled = true });
        var changed = await probe.WaitAsync(m => m.KeyHashHex == Convert.ToHexStringLower(KeyMaterial.Hash(secret)), TimeSpan.FromSeconds(5));
        var me = await Send(dev, "GET", "/api/me");
        var validation = await Host.Keys.ValidateAsync(new ValidateKeyRequest { KeyHash = ByteString.CopyFrom(KeyMaterial.Hash(secret)), Surface = Surface.AiGateway });
        using var relogin = await Host.ClientFrom("10.0.0.1").PostAsJsonAsync("/api/auth/login", new { email = "dev@example.com", password = "Dev-password-1" });

        Assert.That(status, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(disableStatus, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(changed.Message.KeyId, Is.EqualTo(key.GetProperty("key").GetProperty("id").GetString()));
        Assert.That(me.Status, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(validation.Rejection.Reason, Is.EqualTo(RejectionReason.OwnerDisabled));
        Assert.That(relogin.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task Deleting_a_user_hides_them_and_revokes_their_keys()
    {
        var (devId, dev) = await Host.CreateUserAsync("developer");
        var (_, key) = await Send(dev, "POST", "/api/keys", new { name = "k", surfaces = new[] { "ai_gateway" } });
        await using var probe = await BusProbe<KeyRevoked>.StartAsync(Host.RabbitMqUri);

        var (status, _) = await Send(Root, "DELETE", $"/api/users/{devId}");
        var revoked = await probe.WaitAsync(m => m.KeyId == key.GetProperty("key").GetProperty("id").GetString(), TimeSpan.FromSeconds(5));
        var (getStatus, _) = await Send(Root, "GET", $"/api/users/{devId}");
        var (_, list) = await Send(Root, "GET", "/api/users");

        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(revoked.Message, Is.Not.Null);
        Assert.That(getStatus, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(list.GetProperty("items").EnumerateArray().Select(u => u.GetProperty("id").GetGuid()), Does.Not.Contain(devId));
        Assert.That(await Host.QueryAsync<DateTime?>("SELECT deleted_at FROM users WHERE id = @devId", new { devId }), Is.Not.Null, "soft-deleted, purged later");
    }

    [Test]
    public async Task The_last_super_admin_cannot_be_demoted_and_nothing_changes()
    {
        var rootId = await Host.QueryAsync<Guid>("SELECT id FROM users WHERE role = 'super_admin'");

        var (status, body) = await Send(Root, "PATCH", $"/api/users/{rootId}", new { role = "developer" });

        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(body.GetProperty("errors").GetProperty("role")[0].GetString(), Does.Contain("super admin must remain"));
        Assert.That(await Host.QueryAsync<string>("SELECT role FROM users WHERE id = @rootId", new { rootId }), Is.EqualTo("super_admin"));
    }

    [Test]
    public async Task Team_managers_see_their_teams_and_add_members_but_do_not_appoint_managers()
    {
        var (managerId, manager) = await Host.CreateUserAsync("team_manager");
        var (devId, _) = await Host.CreateUserAsync("developer");
        var (otherId, _) = await Host.CreateUserAsync("developer");
        var (_, team) = await Send(Root, "POST", "/api/teams", new { name = "Platform" });
        var teamId = team.GetProperty("id").GetGuid();
        await Send(Root, "PUT", $"/api/teams/{teamId}/members", new { userId = managerId, isManager = true });

        var add = await Send(manager, "PUT", $"/api/teams/{teamId}/members", new { userId = devId });
        var appoint = await Send(manager, "PUT", $"/api/teams/{teamId}/members", new { userId = devId, isManager = true });
        var (_, users) = await Send(manager, "GET", "/api/users");
        var duplicate = await Send(Root, "POST", "/api/teams", new { name = "platform" });

        Assert.That(add.Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(add.Body.GetProperty("members").GetArrayLength(), Is.EqualTo(2));
        Assert.That(appoint.Status, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(users.GetProperty("items").EnumerateArray().Select(u => u.GetProperty("id").GetGuid()),
            Is.EquivalentTo(new[] { managerId, devId }), $"not {otherId}");
        Assert.That(duplicate.Status, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [Test]
    public async Task Bad_user_input_is_refused_field_by_field()
    {
        await Send(Root, "POST", "/api/users", new { email = "taken@example.com", displayName = "A", role = "viewer" });

        var (status, body) = await Send(Root, "POST", "/api/users", new { email = "not-an-email", displayName = "", role = "overlord", password = "weak" });
        var (dupStatus, dup) = await Send(Root, "POST", "/api/users", new { email = "TAKEN@example.com", displayName = "B", role = "viewer" });

        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(body.GetProperty("errors").EnumerateObject().Select(p => p.Name), Is.EquivalentTo(new[] { "email", "displayName", "role", "password" }));
        Assert.That(dupStatus, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(dup.GetProperty("errors").GetProperty("email")[0].GetString(), Does.Contain("already exists"));
        Assert.That(await Host.QueryAsync<long>("SELECT count(*) FROM users"), Is.EqualTo(2));
    }
}
