using System.Diagnostics;
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
public sealed class KeysApiTests : SignedInFixture
{
    private static async Task<(Guid Id, string Secret)> CreateKey(HttpClient client, object? extra = null)
    {
        var (status, body) = await Send(client, "POST", "/api/keys", extra ?? new { name = "laptop", surfaces = new[] { "ai_gateway" } });
        Assert.That(status, Is.EqualTo(HttpStatusCode.Created), body.ToString());
        return (body.GetProperty("key").GetProperty("id").GetGuid(), body.GetProperty("secret").GetString()!);
    }

    private async Task<ValidateKeyResponse> Validate(string secret) =>
        await Host.Keys.ValidateAsync(new ValidateKeyRequest { KeyHash = ByteString.CopyFrom(KeyMaterial.Hash(secret)), Surface = Surface.AiGateway });

    [Test]
    public async Task A_created_key_is_shown_once_then_listed_by_hint_only()
    {
        var (id, secret) = await CreateKey(Root);
        using var list = await Root.GetAsync("/api/keys");
        var listText = await list.Content.ReadAsStringAsync();
        var (getStatus, one) = await Send(Root, "GET", $"/api/keys/{id}");

        Assert.That(secret, Does.Match("^tw-[0-9A-Za-z]{44}$"));
        Assert.That(listText, Does.Not.Contain(secret[3..]), "the list never carries the key");
        Assert.That(JsonDocument.Parse(listText).RootElement.GetProperty("total").GetInt64(), Is.EqualTo(1));
        Assert.That(getStatus, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(one.GetProperty("keyHint").GetString(), Is.EqualTo(secret[..9] + "…"));
        Assert.That(one.GetProperty("status").GetString(), Is.EqualTo("active"));
        Assert.That((await Validate(secret)).ResultCase, Is.EqualTo(ValidateKeyResponse.ResultOneofCase.Principal));
    }

    [TestCase("POST", "", """{"name":"laptop","surfaces":["ai_gateway"],"allowedMcpToolz":["github__*"]}""", "allowedMcpToolz", "unknown field")]
    [TestCase("PATCH", "/{id}", """{"name":"renamed","expires":"2030-01-01T00:00:00Z"}""", "expires", "unknown field")]
    [TestCase("POST", "/{id}/rotate", """{"graceHours":1,"grace":2}""", "grace", "unknown field")]
    [TestCase("PATCH", "/{id}", """{"name":"renamed","name":"twice"}""", "name", "given more than once")]
    public async Task A_field_the_contract_lacks_or_names_twice_is_refused_by_name_and_changes_nothing(string method, string path, string json, string field, string reason)
    {
        var (id, _) = await CreateKey(Root);
        using var request = new HttpRequestMessage(new HttpMethod(method), $"/api/keys{path.Replace("{id}", id.ToString())}")
        {
            Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
        };

        using var response = await Root.SendAsync(request);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(problem.GetProperty("errors").EnumerateObject().Select(e => (e.Name, e.Value[0].GetString())), Is.EqualTo(new[] { (field, reason) }));
        Assert.That(await Host.QueryAsync<long>("SELECT count(*) FROM api_keys"), Is.EqualTo(1));
        Assert.That(await Host.QueryAsync<string>("SELECT name FROM api_keys"), Is.EqualTo("laptop"));
    }

    [Test]
    public async Task A_revocation_reaches_a_subscribing_gateway_as_an_event()
    {
        await using var probe = await BusProbe<KeyRevoked>.StartAsync(Host.RabbitMqUri);
        var (id, secret) = await CreateKey(Root);

        var (status, body) = await Send(Root, "POST", $"/api/keys/{id}/revoke");
        var (message, _) = await probe.WaitAsync(m => m.KeyId == id.ToString(), TimeSpan.FromSeconds(30));

        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(body.GetProperty("status").GetString(), Is.EqualTo("revoked"));
        Assert.That(message.KeyHashHex, Is.EqualTo(Convert.ToHexStringLower(KeyMaterial.Hash(secret))));
        Assert.That((await Validate(secret)).Rejection.Reason, Is.EqualTo(RejectionReason.Revoked));
        Assert.That(await Host.QueryAsync<long>("SELECT count(*) FROM outbox"), Is.Zero, "the outbox drained");
    }

    [Test]
    public async Task A_key_pinned_to_an_mcp_account_label_carries_it_through_rotation_until_unpinned()
    {
        var (bad, badBody) = await Send(Root, "POST", "/api/keys", new { name = "agent", surfaces = new[] { "ai_gateway", "mcp_gateway" }, mcpAccountLabel = "Work Account" });
        var (id, secret) = await CreateKey(Root, new { name = "agent", surfaces = new[] { "ai_gateway", "mcp_gateway" }, mcpAccountLabel = "work" });

        var pinned = await Validate(secret);
        var (_, rotated) = await Send(Root, "POST", $"/api/keys/{id}/rotate", new { graceHours = 1 });
        var newId = rotated.GetProperty("key").GetProperty("id").GetGuid();
        var afterRotation = await Validate(rotated.GetProperty("secret").GetString()!);
        var (_, unpinnedView) = await Send(Root, "PATCH", $"/api/keys/{newId}", new { mcpAccountLabel = "" });
        var unpinned = await Validate(rotated.GetProperty("secret").GetString()!);

        Assert.That(bad, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(badBody.GetProperty("errors").TryGetProperty("mcpAccountLabel", out _), Is.True, badBody.ToString());
        Assert.That(pinned.Principal.McpAccountLabel, Is.EqualTo("work"));
        Assert.That(rotated.GetProperty("key").GetProperty("mcpAccountLabel").GetString(), Is.EqualTo("work"));
        Assert.That(afterRotation.Principal.McpAccountLabel, Is.EqualTo("work"), "rotation keeps the pin");
        Assert.That(unpinnedView.GetProperty("mcpAccountLabel").ValueKind, Is.EqualTo(JsonValueKind.Null), unpinnedView.ToString());
        Assert.That(unpinned.Principal.McpAccountLabel, Is.Empty);
    }

    [Test]
    public async Task Rotation_keeps_the_old_key_working_for_the_grace_period_only()
    {
        var (id, oldSecret) = await CreateKey(Root);

        var (status, rotated) = await Send(Root, "POST", $"/api/keys/{id}/rotate", new { graceHours = 1 });
        var newSecret = rotated.GetProperty("secret").GetString()!;
        var duringGraceOld = await Validate(oldSecret);
        var duringGraceNew = await Validate(newSecret);
        var rotateAgain = await Send(Root, "POST", $"/api/keys/{id}/rotate");
        Host.Time.Advance(TimeSpan.FromMinutes(61));
        var afterGraceOld = await Validate(oldSecret);
        var afterGraceNew = await Validate(newSecret);

        Assert.That(status, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(duringGraceOld.ResultCase, Is.EqualTo(ValidateKeyResponse.ResultOneofCase.Principal));
        Assert.That(duringGraceNew.Principal.KeyLineageId, Is.EqualTo(duringGraceOld.Principal.KeyLineageId), "the lineage survives rotation");
        Assert.That(afterGraceOld.Rejection.Reason, Is.EqualTo(RejectionReason.Revoked));
        Assert.That(afterGraceOld.Rejection.Message, Does.Contain("rotated"));
        Assert.That(afterGraceNew.ResultCase, Is.EqualTo(ValidateKeyResponse.ResultOneofCase.Principal));
        Assert.That(rotateAgain.Status, Is.EqualTo(HttpStatusCode.BadRequest), "a rotated key is not rotated twice");
    }

    [Test]
    public async Task Every_change_leaves_an_audit_event_with_actor_and_origin()
    {
        await using var probe = await BusProbe<AdminActionRecorded>.StartAsync(Host.RabbitMqUri);

        var (id, _) = await CreateKey(Root);
        var (recorded, _) = await probe.WaitAsync(a => a.Action == "key.create", TimeSpan.FromSeconds(5));

        Assert.That(recorded.TargetId, Is.EqualTo(id.ToString()));
        Assert.That(recorded.ClientIp, Is.EqualTo("10.0.0.1"));
        Assert.That(recorded.ActorUserId, Is.EqualTo(await Host.QueryAsync<Guid>("SELECT id FROM users WHERE role = 'super_admin'") + ""));
        Assert.That(recorded.DetailsJson, Does.Not.Contain("tw-"), "no secret in the audit trail");
    }

    [Test]
    public async Task Developers_see_and_change_only_their_own_keys()
    {
        var (_, alice) = await Host.CreateUserAsync("developer");
        var (bobId, bob) = await Host.CreateUserAsync("developer");
        var (aliceKey, _) = await CreateKey(alice);
        await CreateKey(bob);

        var aliceList = await Send(alice, "GET", "/api/keys");
        var bobReads = await Send(bob, "GET", $"/api/keys/{aliceKey}");
        var bobRevokes = await Send(bob, "POST", $"/api/keys/{aliceKey}/revoke");
        var bobCreatesForAlice = await Send(bob, "POST", "/api/keys", new { name = "x", surfaces = new[] { "ai_gateway" }, ownerUserId = aliceKey });
        var aliceCreatesForBob = await Send(alice, "POST", "/api/keys", new { name = "x", surfaces = new[] { "ai_gateway" }, ownerUserId = bobId });
        var adminList = await Send(Root, "GET", "/api/keys");

        Assert.That(aliceList.Body.GetProperty("total").GetInt64(), Is.EqualTo(1));
        Assert.That(bobReads.Status, Is.EqualTo(HttpStatusCode.NotFound), "others' keys do not exist for a developer");
        Assert.That(bobRevokes.Status, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(bobCreatesForAlice.Status, Is.EqualTo(HttpStatusCode.BadRequest), "not a user id");
        Assert.That(aliceCreatesForBob.Status, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(adminList.Body.GetProperty("total").GetInt64(), Is.EqualTo(2));
    }

    [Test]
    public async Task Team_managers_manage_the_keys_of_their_teams_members_only()
    {
        var (managerId, manager) = await Host.CreateUserAsync("team_manager");
        var (memberId, member) = await Host.CreateUserAsync("developer");
        var (outsiderId, outsider) = await Host.CreateUserAsync("developer");
        var team = Guid.CreateVersion7();
        await Host.ExecuteAsync("INSERT INTO teams (id, name, created_at) VALUES (@team, 'platform', now())", new { team });
        await Host.ExecuteAsync("INSERT INTO team_members VALUES (@team, @managerId, true), (@team, @memberId, false)", new { team, managerId, memberId });
        var (memberKey, _) = await CreateKey(member);
        var (outsiderKey, _) = await CreateKey(outsider);

        var list = await Send(manager, "GET", "/api/keys");
        var revokeMember = await Send(manager, "POST", $"/api/keys/{memberKey}/revoke");
        var revokeOutsider = await Send(manager, "POST", $"/api/keys/{outsiderKey}/revoke");
        var createForMember = await Send(manager, "POST", "/api/keys", new { name = "ci", surfaces = new[] { "ai_gateway" }, ownerUserId = memberId, teamId = team });
        var createForOutsider = await Send(manager, "POST", "/api/keys", new { name = "ci", surfaces = new[] { "ai_gateway" }, ownerUserId = outsiderId });

        Assert.That(list.Body.GetProperty("total").GetInt64(), Is.EqualTo(1));
        Assert.That(revokeMember.Status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(revokeOutsider.Status, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(createForMember.Status, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(createForOutsider.Status, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    [Test]
    public async Task Viewers_cannot_create_keys_and_cannot_get_mcp_access()
    {
        var (_, viewer) = await Host.CreateUserAsync("viewer");
        var (viewerId, _) = await Host.CreateUserAsync("viewer");

        var create = await Send(viewer, "POST", "/api/keys", new { name = "x", surfaces = new[] { "ai_gateway" } });
        var forViewer = await Send(Root, "POST", "/api/keys", new { name = "x", surfaces = new[] { "mcp_gateway" }, ownerUserId = viewerId });

        Assert.That(create.Status, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(forViewer.Status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(forViewer.Body.GetProperty("errors").GetProperty("surfaces")[0].GetString(), Does.Contain("may not use the MCP gateway"));
    }

    [Test]
    public async Task Bad_key_requests_name_each_field_and_write_nothing()
    {
        var (status, body) = await Send(Root, "POST", "/api/keys", new
        {
            name = "", surfaces = new[] { "everything" }, allowedModels = new[] { "gpt'; DROP TABLE api_keys;--" },
            expiresAt = DateTimeOffset.UnixEpoch, inactivityTimeoutDays = 0,
        });

        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(body.GetProperty("errors").EnumerateObject().Select(p => p.Name),
            Is.EquivalentTo(new[] { "name", "surfaces", "allowedModels", "expiresAt", "inactivityTimeoutDays" }));
        Assert.That(await Host.QueryAsync<long>("SELECT count(*) FROM api_keys"), Is.Zero);
    }
}
