using System.Net.Http.Json;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using ThinkWatch.Contracts.Common.V1;
using ThinkWatch.Contracts.Identity.V1;
using ThinkWatch.Identity.Keys;

namespace ThinkWatch.Identity.Tests;

/// <summary>KeyService.Validate over gRPC against a real database.</summary>
[TestFixture]
public sealed class KeyServiceTests
{
    private IdentityHost _host = null!;
    private string _key = null!;

    [SetUp]
    public async Task Start()
    {
        _host = await IdentityHost.StartAsync();
        using var response = await _host.Http.PostAsJsonAsync("/api/setup", new
        {
            email = "ada@example.com", displayName = "Ada", password = "Analytical-Engine-1843",
            apiKey = new { name = "ci", surfaces = new[] { "ai_gateway" }, allowedModels = new[] { "gpt-4o*" }, expiresAt = _host.Time.GetUtcNow().AddDays(30) },
        });
        _key = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("apiKey").GetProperty("key").GetString()!;
    }

    [TearDown]
    public async Task Stop() => await _host.DisposeAsync();

    private async Task<ValidateKeyResponse> Validate(string key, Surface surface = Surface.AiGateway) =>
        await _host.Keys.ValidateAsync(new ValidateKeyRequest { KeyHash = ByteString.CopyFrom(KeyMaterial.Hash(key)), Surface = surface });

    [Test]
    public async Task A_valid_key_yields_its_principal()
    {
        var response = await Validate(_key);

        Assert.That(response.ResultCase, Is.EqualTo(ValidateKeyResponse.ResultOneofCase.Principal));
        var p = response.Principal;
        Assert.That(p.Role, Is.EqualTo("super_admin"));
        Assert.That(p.Permissions, Does.Contain("keys:manage").And.Contain("settings:manage"));
        Assert.That(p.AllowedModels, Is.EqualTo(new[] { "gpt-4o*" }));
        Assert.That(p.Surfaces, Is.EqualTo(new[] { Surface.AiGateway }));
        Assert.That(p.ExpiresAt.ToDateTimeOffset(), Is.EqualTo(_host.Time.GetUtcNow().AddDays(30)));
        Assert.That(p.LimitSubjects, Has.Some.Matches<Subject>(s => s!.Kind == SubjectKind.ApiKey && s.Id == p.KeyLineageId));
        Assert.That(p.LimitSubjects, Has.Some.Matches<Subject>(s => s!.Kind == SubjectKind.User && s.Id == p.UserId));
        Assert.That(await _host.QueryAsync<DateTime?>("SELECT last_used_at FROM api_keys"), Is.EqualTo(_host.Time.GetUtcNow().UtcDateTime));
    }

    [Test]
    public async Task Each_reason_a_key_cannot_be_used_is_reported_precisely()
    {
        var unknown = await Validate(KeyMaterial.Generate());
        var wrongSurface = await Validate(_key, Surface.McpGateway);

        _host.Time.Advance(TimeSpan.FromDays(31));
        var expired = await Validate(_key);

        await _host.ExecuteAsync("UPDATE api_keys SET expires_at = NULL");
        await _host.ExecuteAsync("UPDATE users SET disabled = true");
        var ownerDisabled = await Validate(_key);

        await _host.ExecuteAsync("UPDATE api_keys SET revoked_at = now()");
        var revoked = await Validate(_key);

        Assert.That(unknown.Rejection.Reason, Is.EqualTo(RejectionReason.Unknown));
        Assert.That(wrongSurface.Rejection.Reason, Is.EqualTo(RejectionReason.WrongSurface));
        Assert.That(wrongSurface.Rejection.Message, Does.Contain("mcp_gateway"));
        Assert.That(expired.Rejection.Reason, Is.EqualTo(RejectionReason.Expired));
        Assert.That(ownerDisabled.Rejection.Reason, Is.EqualTo(RejectionReason.OwnerDisabled));
        Assert.That(revoked.Rejection.Reason, Is.EqualTo(RejectionReason.Revoked));
    }

    [Test]
    public async Task Use_is_recorded_at_most_once_a_minute_and_keeps_an_inactivity_timeout_at_bay()
    {
        await _host.ExecuteAsync("UPDATE api_keys SET inactivity_timeout = interval '1 hour'");
        var start = _host.Time.GetUtcNow().UtcDateTime;

        await Validate(_key);
        _host.Time.Advance(TimeSpan.FromSeconds(30));
        await Validate(_key);
        var afterThirtySeconds = await _host.QueryAsync<DateTime>("SELECT last_used_at FROM api_keys");
        _host.Time.Advance(TimeSpan.FromMinutes(50));
        var stillActive = await Validate(_key);
        _host.Time.Advance(TimeSpan.FromMinutes(61));
        var inactive = await Validate(_key);

        Assert.That(afterThirtySeconds, Is.EqualTo(start), "no write within the minute");
        Assert.That(stillActive.ResultCase, Is.EqualTo(ValidateKeyResponse.ResultOneofCase.Principal));
        Assert.That(inactive.Rejection.Reason, Is.EqualTo(RejectionReason.Inactive));
    }

    [Test]
    public async Task Malformed_requests_are_invalid_arguments()
    {
        var shortHash = await Assert.ThrowsAsync<RpcException>(async () =>
            await _host.Keys.ValidateAsync(new ValidateKeyRequest { KeyHash = ByteString.CopyFrom(1, 2, 3), Surface = Surface.AiGateway }));
        var noSurface = await Assert.ThrowsAsync<RpcException>(async () =>
            await _host.Keys.ValidateAsync(new ValidateKeyRequest { KeyHash = ByteString.CopyFrom(KeyMaterial.Hash(_key)) }));

        Assert.That(shortHash!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        Assert.That(noSurface!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
    }
}
