using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using ThinkWatch.Integrations;
using ThinkWatch.Testing;

namespace ThinkWatch.AiGateway.Tests;

/// <summary>
/// After RabbitMQ restarts, what Identity announces still reaches the gateway at once: a revoked
/// key is refused and a deleted provider stops serving, without waiting for a cache to expire.
/// Identity and the gateway run on a broker of this fixture's own, which the test restarts.
/// </summary>
[TestFixture]
public sealed class BrokerRestartTests
{
    private PrivateInfra _infra = null!;
    private GatewayHost _gateway = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _infra = await PrivateInfra.StartAsync();
        _gateway = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["RabbitMq:ConsumerWatch:Interval"] = "00:00:01",
            ["ApiKeys:CacheTtl"] = "00:10:00", // so that only an event, never expiry, can explain a refusal
        }, _infra.RabbitMqUri);
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        try
        {
            await _gateway.DisposeAsync();
        }
        finally
        {
            await _infra.DisposeAsync(); // never leave the private broker running
        }
    }

    private async Task<HttpStatusCode> ChatAsync(string key, string model)
    {
        using var http = _gateway.Http();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent($$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    [Test]
    public async Task Revocations_and_provider_changes_arrive_at_once_after_a_broker_restart()
    {
        _gateway.Upstream.On("POST", "/v1/chat/completions").Respond(FakeResponse.Json(OpenAiShapes.ChatCompletion("gpt-4o", "Hi")));
        _gateway.Upstream.On("POST", "/v1/messages").Respond(FakeResponse.Json(AnthropicShapes.Message("claude-sonnet-4-5", "Hi")));
        var (keyId, key) = await _gateway.CreateKeyAsync(["*"]);
        var providerId = await _gateway.AddProviderAsync("anthropic-extra", "anthropic", _gateway.Upstream.BaseAddress.ToString().TrimEnd('/'), GatewayHost.AnthropicUpstreamKey);
        await _gateway.RegisterModelAsync("extra-claude", "anthropic-extra", "claude-sonnet-4-5");
        Assert.That(await ChatAsync(key, "gpt-4o"), Is.EqualTo(HttpStatusCode.OK), "the key is cached now");
        Assert.That(await ChatAsync(key, "extra-claude"), Is.EqualTo(HttpStatusCode.OK), "the provider is loaded");

        await _infra.StopAsync("rabbitmq");
        await _infra.StartAsync("rabbitmq");
        var broadcast = _gateway.Services.GetRequiredService<BroadcastSubscription>();
        var watch = _gateway.Services.GetRequiredService<ConsumerWatch>();
        var health = _gateway.Services.GetRequiredService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>();
        async Task<string> State() => string.Join("; ", watch.Queues) + " | " + string.Join("; ", (await health.CheckHealthAsync()).Entries.Select(e => $"{e.Key}={e.Value.Status}:{e.Value.Description}"));
        var back = TimeSpan.Zero;
        try
        {
            back = await Poll.UntilAsync(() => broadcast.Listening, TimeSpan.FromSeconds(90), "the gateway's broadcast subscription listens again");
        }
        catch (AssertionException)
        {
            await TestContext.Out.WriteLineAsync(await State());
            await using var connection = await new RabbitMQ.Client.ConnectionFactory { Uri = new Uri(_infra.RabbitMqUri) }.CreateConnectionAsync();
            foreach (var q in watch.Queues)
            {
                await using var channel = await connection.CreateChannelAsync();
                try
                {
                    var st = await channel.QueueDeclarePassiveAsync(q);
                    await TestContext.Out.WriteLineAsync($"{q}: {st.MessageCount} messages, {st.ConsumerCount} consumers");
                }
                catch (Exception e)
                {
                    await TestContext.Out.WriteLineAsync($"{q}: {e.GetType().Name} {e.Message}");
                }
            }
            throw;
        }
        using var http = _gateway.Http();
        await Poll.UntilAsync(async () =>
        {
            using var ready = await http.GetAsync("/health/ready");
            return ready.StatusCode == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(60), "the gateway is ready again");
        await TestContext.Out.WriteLineAsync($"subscription back {back.TotalSeconds:0.0} s after the broker answered");

        using (var revoke = await _gateway.Admin.PostAsync($"/api/keys/{keyId}/revoke", null))
        {
            Assert.That(revoke.IsSuccessStatusCode, Is.True);
        }
        var revoked = await Poll.UntilAsync(async () => await ChatAsync(key, "gpt-4o") == HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(5), "the revoked key is refused");
        using (var delete = await _gateway.Admin.DeleteAsync($"/api/providers/{providerId}"))
        {
            Assert.That(delete.IsSuccessStatusCode, Is.True);
        }
        var removed = await Poll.UntilAsync(async () => await ChatAsync(_gateway.Key, "extra-claude") != HttpStatusCode.OK, TimeSpan.FromSeconds(5), "the deleted provider stops serving");

        await TestContext.Out.WriteLineAsync($"revocation took effect in {revoked.TotalMilliseconds:0} ms, the provider's deletion in {removed.TotalMilliseconds:0} ms");
        Assert.That(await ChatAsync(_gateway.Key, "gpt-4o"), Is.EqualTo(HttpStatusCode.OK), "other keys and providers are untouched");
    }
}
