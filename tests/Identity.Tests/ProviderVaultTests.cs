using ThinkWatch.Security;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Contracts.Identity.V1;
using ThinkWatch.Identity.Providers;

namespace ThinkWatch.Identity.Tests;

[TestFixture]
public sealed class ProviderVaultTests : SignedInFixture
{
    private const string OpenAiKey = "sk-proj-0123456789abcdefSECRET9f3a";

    private ProviderVault.ProviderVaultClient Vault => new(Host.Channel);

    [Test]
    public async Task Credentials_are_sealed_at_rest_hinted_on_the_console_and_opened_only_over_grpc()
    {
        var (status, created) = await Send(Root, "POST", "/api/providers", new
        {
            name = "OpenAI prod", kind = "openai", credentials = new { apiKey = OpenAiKey },
        });
        using var list = await Root.GetAsync("/api/providers");
        var listText = await list.Content.ReadAsStringAsync();
        var stored = await Host.QueryAsync<string>("SELECT row_to_json(p)::text FROM providers p");
        var fromVault = await Vault.ListProvidersAsync(new ListProvidersRequest());

        Assert.That(status, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(created.ToString(), Does.Not.Contain("SECRET"));
        Assert.That(created.GetProperty("credentialsHint").GetString(), Is.EqualTo("sk-…9f3a"));
        Assert.That(listText, Does.Not.Contain("SECRET"));
        Assert.That(stored, Does.Not.Contain("SECRET").And.Not.Contain(Convert.ToHexStringLower(Encoding.UTF8.GetBytes("SECRET"))));
        Assert.That(fromVault.Providers.Single().Credentials.ApiKey, Is.EqualTo(OpenAiKey));
        Assert.That(fromVault.Providers.Single().Kind, Is.EqualTo("openai"));
    }

    [TestCase(null)]
    [TestCase("Xw3Nc8Rt1Lp5Vb9Qm2Hk6Jd4Fs7Ga0Zy3Ue8Io2")]
    public async Task Grpc_callers_without_the_internal_token_get_nothing(string? token)
    {
        await Send(Root, "POST", "/api/providers", new { name = "OpenAI prod", kind = "openai", credentials = new { apiKey = OpenAiKey } });
        using var channel = Host.Open(token);

        var vault = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () => await new ProviderVault.ProviderVaultClient(channel).ListProvidersAsync(new ListProvidersRequest()));
        var keys = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () => await new KeyService.KeyServiceClient(channel).ValidateAsync(
            new ValidateKeyRequest { KeyHash = Google.Protobuf.ByteString.CopyFrom(new byte[32]), Surface = ThinkWatch.Contracts.Common.V1.Surface.AiGateway }));

        Assert.That(vault!.StatusCode, Is.EqualTo(Grpc.Core.StatusCode.Unauthenticated));
        Assert.That(keys!.StatusCode, Is.EqualTo(Grpc.Core.StatusCode.Unauthenticated));
    }

    [Test]
    public async Task Bedrock_needs_a_region_and_both_keys_and_round_trips_them()
    {
        var (missing, errors) = await Send(Root, "POST", "/api/providers", new { name = "aws", kind = "bedrock", credentials = new { apiKey = "x" } });
        var (status, _) = await Send(Root, "POST", "/api/providers", new
        {
            name = "aws", kind = "bedrock", settings = new Dictionary<string, string> { ["region"] = "eu-west-1" },
            credentials = new { accessKeyId = "AKIAIOSFODNN7EXAMPLE", secretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" },
        });
        var bedrock = (await Vault.ListProvidersAsync(new ListProvidersRequest())).Providers.Single();

        Assert.That(missing, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(errors.GetProperty("errors").EnumerateObject().Select(p => p.Name), Is.EquivalentTo(new[] { "settings", "credentials" }));
        Assert.That(status, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(bedrock.Settings["region"], Is.EqualTo("eu-west-1"));
        Assert.That(bedrock.Credentials.SecretAccessKey, Is.EqualTo("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"));
    }

    [Test]
    public async Task Changing_credentials_tells_the_gateways_and_replaces_the_ciphertext()
    {
        var (_, created) = await Send(Root, "POST", "/api/providers", new { name = "claude", kind = "anthropic", credentials = new { apiKey = "sk-ant-old-0123456789" } });
        var id = created.GetProperty("id").GetString();
        var before = await Host.QueryAsync<byte[]>("SELECT credentials FROM providers");
        await using var probe = await BusProbe<ConfigChanged>.StartAsync(Host.RabbitMqUri);

        var (status, updated) = await Send(Root, "PATCH", $"/api/providers/{id}", new { credentials = new { apiKey = "sk-ant-new-9876543210" } });
        var (changed, _) = await probe.WaitAsync(c => c.EntityId == id, TimeSpan.FromSeconds(5));

        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(updated.GetProperty("credentialsHint").GetString(), Is.EqualTo("sk-…3210"));
        Assert.That(changed.Area, Is.EqualTo("providers"));
        Assert.That(await Host.QueryAsync<byte[]>("SELECT credentials FROM providers"), Is.Not.EqualTo(before));
        Assert.That((await Vault.ListProvidersAsync(new ListProvidersRequest())).Providers.Single().Credentials.ApiKey, Is.EqualTo("sk-ant-new-9876543210"));
    }

    [Test]
    public async Task Ciphertext_moved_to_another_row_does_not_open()
    {
        await Send(Root, "POST", "/api/providers", new { name = "a", kind = "openai", credentials = new { apiKey = "sk-aaaaaaaaaaaaaaaa" } });
        await Send(Root, "POST", "/api/providers", new { name = "b", kind = "openai", credentials = new { apiKey = "sk-bbbbbbbbbbbbbbbb" } });
        await Send(Root, "POST", "/api/providers", new { name = "c", kind = "gemini", credentials = new { apiKey = "AIzaSyCCCCCCCCCCCCCC" } });

        await Host.ExecuteAsync("UPDATE providers SET credentials = (SELECT credentials FROM providers WHERE name = 'a') WHERE name = 'b'");
        var served = await Vault.ListProvidersAsync(new ListProvidersRequest());

        Assert.That(served.Providers.Select(p => p.Name), Is.EquivalentTo(new[] { "a", "c" }), "b's stolen ciphertext is bound to a's id");
    }

    [Test]
    public void Old_key_versions_stay_readable_after_rotation_and_new_writes_use_the_new_one()
    {
        var v1 = new SecretBox(Options.Create(new VaultOptions { Keys = { ["1"] = IdentityHost.VaultKey }, CurrentKeyVersion = 1 }));
        var rotated = new SecretBox(Options.Create(new VaultOptions
        {
            Keys = { ["1"] = IdentityHost.VaultKey, ["2"] = "Zr4Tg8Lm1Qp6Wx3Cv9Bn2Hj7Kd5Sa0Fe8Uy1Io" },
            CurrentKeyVersion = 2,
        }));
        var id = Guid.NewGuid().ToByteArray();

        var old = v1.Seal("sk-old", id);
        var fresh = rotated.Seal("sk-new", id);

        Assert.That(rotated.Open(old, 1, id), Is.EqualTo("sk-old"));
        Assert.That(rotated.CurrentVersion, Is.EqualTo(2));
        Assert.Throws<CryptographicException>(() => v1.Open(fresh, 2, id), "v1 alone has no key 2");
        Assert.Throws<AuthenticationTagMismatchException>(() => rotated.Open(fresh, 1, id), "wrong key");
        Assert.Throws<AuthenticationTagMismatchException>(() => rotated.Open(fresh, 2, Guid.NewGuid().ToByteArray()), "wrong row");
        var tampered = (byte[])fresh.Clone();
        tampered[^1] ^= 1;
        Assert.Throws<AuthenticationTagMismatchException>(() => rotated.Open(tampered, 2, id));
    }

    [Test]
    public async Task Deleting_a_provider_destroys_its_ciphertext_and_stops_serving_it()
    {
        var (_, created) = await Send(Root, "POST", "/api/providers", new { name = "gone", kind = "openai", credentials = new { apiKey = OpenAiKey } });
        var id = created.GetProperty("id").GetString();

        var (first, _) = await Send(Root, "DELETE", $"/api/providers/{id}");
        var (second, _) = await Send(Root, "DELETE", $"/api/providers/{id}");
        var served = await Vault.ListProvidersAsync(new ListProvidersRequest());

        Assert.That(first, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(second, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(served.Providers, Is.Empty);
        Assert.That(await Host.QueryAsync<int>("SELECT length(credentials) FROM providers"), Is.Zero);
    }

    [Test]
    public async Task Bad_provider_input_is_refused_field_by_field()
    {
        var (status, body) = await Send(Root, "POST", "/api/providers", new
        {
            name = "", kind = "azure_openai", baseUrl = "http://user:pass@evil.example", credentials = new { apiKey = "" },
        });
        var (unknownKind, unknown) = await Send(Root, "POST", "/api/providers", new { name = "x", kind = "skynet" });

        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(body.GetProperty("errors").EnumerateObject().Select(p => p.Name), Is.EquivalentTo(new[] { "name", "baseUrl", "settings", "credentials" }));
        Assert.That(unknownKind, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(unknown.GetProperty("errors").GetProperty("kind")[0].GetString(), Does.Contain("openai_compatible"));
        Assert.That(await Host.QueryAsync<long>("SELECT count(*) FROM providers"), Is.Zero);
    }
}
