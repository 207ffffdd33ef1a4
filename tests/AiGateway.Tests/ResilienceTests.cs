using System.ClientModel;
using System.Net.Http.Json;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;
using ThinkWatch.Testing;

namespace ThinkWatch.AiGateway.Tests;

/// <summary>
/// Retries, failover, circuit breakers and health, through the OpenAI SDK. Every test has its
/// own pair of providers (primary, then secondary for one model) so breakers do not carry over.
/// </summary>
[TestFixture]
public sealed class ResilienceTests : GatewayFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["AiGateway:UpstreamIdleTimeout"] = "00:00:02",
        ["AiGateway:RetryAttempts"] = "1",
        ["AiGateway:RetryBaseDelay"] = "00:00:00.020",
        ["AiGateway:BreakerMinimumThroughput"] = "2",
        ["AiGateway:BreakerFailureRatio"] = "0.5",
        ["AiGateway:BreakerDuration"] = "00:00:01",
    };

    private sealed record Pair(string Model, FakeRoute Primary, FakeRoute Secondary, string PrimaryName);

    /// <summary>A model served by "{name}-a" (priority 0) and then "{name}-b" (priority 1), both OpenAI-kind on the fake.</summary>
    private async Task<Pair> PairAsync(string name, string? primaryBaseUrl = null, Func<Microsoft.AspNetCore.Http.HttpContext, Task>? secondary = null)
    {
        name = $"{name}-{Guid.NewGuid():N}"[..(name.Length + 7)];
        var upstream = Gateway.Upstream.BaseAddress.ToString().TrimEnd('/');
        await Gateway.AddProviderAsync($"{name}-a", "openai", primaryBaseUrl ?? $"{upstream}/{name}-a/v1", "sk-a-0123456789");
        await Gateway.AddProviderAsync($"{name}-b", "openai", $"{upstream}/{name}-b/v1", "sk-b-0123456789");
        await Gateway.RegisterModelAsync(name, $"{name}-a", "gpt-4o", priority: 0);
        await Gateway.RegisterModelAsync(name, $"{name}-b", "gpt-4o", priority: 1);
        var secondaryRoute = Gateway.Upstream.On("POST", $"/{name}-b/v1/chat/completions")
            .Respond(secondary ?? FakeResponse.Json(OpenAiShapes.ChatCompletion("gpt-4o", "from the secondary")));
        return new Pair(name, Gateway.Upstream.On("POST", $"/{name}-a/v1/chat/completions"), secondaryRoute, $"{name}-a");
    }

    private ChatClient Client(string model) => new(model, new ApiKeyCredential(Gateway.Key), new OpenAIClientOptions
    {
        Endpoint = new Uri(Gateway.Address, "v1"),
        NetworkTimeout = TimeSpan.FromSeconds(60),
        RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0),
    });

    private async Task<string> AskAsync(string model) =>
        (await Client(model).CompleteChatAsync([new UserChatMessage("hi")])).Value.Content[0].Text;

    private async Task<JsonElement> HealthOfAsync(string provider)
    {
        using var console = Gateway.Console();
        var all = await console.GetFromJsonAsync<JsonElement>("/api/models/upstreams");
        return all.EnumerateArray().Single(u => u.GetProperty("provider").GetString() == provider);
    }

    [Test]
    public async Task A_failing_primary_is_retried_once_then_the_secondary_answers()
    {
        var pair = await PairAsync("fail500");
        pair.Primary.Respond(FakeResponse.Error(500, OpenAiShapes.Error("boom")));

        Assert.That(await AskAsync(pair.Model), Is.EqualTo("from the secondary"));
        Assert.That(pair.Primary.Calls, Is.EqualTo(2), "one try and one retry");
        Assert.That(pair.Secondary.Calls, Is.EqualTo(1));
        var health = await HealthOfAsync(pair.PrimaryName);
        Assert.That(health.GetProperty("failures").GetInt64(), Is.EqualTo(2));
        Assert.That(health.GetProperty("lastError").GetString(), Is.EqualTo("HTTP 500"));
    }

    [Test]
    public async Task A_silent_primary_times_out_and_the_secondary_answers()
    {
        var pair = await PairAsync("silent");
        pair.Primary.Respond(FakeResponse.Delay(TimeSpan.FromMinutes(2), FakeResponse.Json(OpenAiShapes.ChatCompletion("gpt-4o", "too late"))));

        Assert.That(await AskAsync(pair.Model), Is.EqualTo("from the secondary"));
        Assert.That(pair.Primary.Calls, Is.EqualTo(2));
        Assert.That((await HealthOfAsync(pair.PrimaryName)).GetProperty("lastError").GetString(), Is.EqualTo("no answer in time"));
    }

    [Test]
    public async Task A_primary_that_refuses_connections_fails_over()
    {
        var closed = ServiceReadinessTests<AiGatewayOptions>.ClosedPort();
        var pair = await PairAsync("refused", primaryBaseUrl: $"http://127.0.0.1:{closed}/v1");

        Assert.That(await AskAsync(pair.Model), Is.EqualTo("from the secondary"));
        Assert.That((await HealthOfAsync(pair.PrimaryName)).GetProperty("lastError").GetString(), Does.StartWith("unreachable"));
    }

    [Test]
    public async Task A_breaker_opens_skips_its_upstream_and_closes_again_once_it_recovers()
    {
        var pair = await PairAsync("breaker");
        pair.Primary.Respond(FakeResponse.Error(503, OpenAiShapes.Error("overloaded")));

        // Two failures (try + retry) reach the minimum throughput at a 100 % failure ratio: open.
        Assert.That(await AskAsync(pair.Model), Is.EqualTo("from the secondary"));
        Assert.That((await HealthOfAsync(pair.PrimaryName)).GetProperty("breaker").GetString(), Is.EqualTo("open"));
        var callsWhenOpened = pair.Primary.Calls;
        Assert.That(await AskAsync(pair.Model), Is.EqualTo("from the secondary"));
        Assert.That(pair.Primary.Calls, Is.EqualTo(callsWhenOpened), "an open breaker keeps requests off its upstream");

        // The upstream recovers; once the break is over, one trial call closes the breaker.
        pair.Primary.Respond(FakeResponse.Json(OpenAiShapes.ChatCompletion("gpt-4o", "from the primary")));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        string answer;
        do
        {
            answer = await AskAsync(pair.Model);
            await Task.Delay(100);
        }
        while (answer != "from the primary" && DateTime.UtcNow < deadline);
        Assert.That(answer, Is.EqualTo("from the primary"));
        Assert.That((await HealthOfAsync(pair.PrimaryName)).GetProperty("breaker").GetString(), Is.EqualTo("closed"));
    }

    [Test]
    public async Task Retry_after_is_honoured_when_short_and_sends_the_request_elsewhere_when_long()
    {
        var shortWait = await PairAsync("retryafter");
        shortWait.Primary.Respond(
            FakeResponse.Error(429, OpenAiShapes.Error("slow down", "rate_limit_exceeded"), TimeSpan.FromSeconds(1)),
            FakeResponse.Json(OpenAiShapes.ChatCompletion("gpt-4o", "from the primary")));

        Assert.That(await AskAsync(shortWait.Model), Is.EqualTo("from the primary"));
        var times = Gateway.Upstream.Requests.Where(r => r.Path == $"/{shortWait.PrimaryName}/v1/chat/completions").Select(r => r.ReceivedAt).ToList();
        Assert.That(times, Has.Count.EqualTo(2));
        Assert.That(times[1] - times[0], Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(900)), "the retry waited as the upstream asked");

        var longWait = await PairAsync("retrylong");
        longWait.Primary.Respond(FakeResponse.Error(429, OpenAiShapes.Error("come back in a minute", "rate_limit_exceeded"), TimeSpan.FromSeconds(60)));
        Assert.That(await AskAsync(longWait.Model), Is.EqualTo("from the secondary"));
        Assert.That(longWait.Primary.Calls, Is.EqualTo(1), "a wait longer than MaxRetryAfter is not sat out");
    }

    [Test]
    public async Task When_every_upstream_fails_the_client_gets_the_last_error()
    {
        var pair = await PairAsync("allfail", secondary: FakeResponse.Error(503, OpenAiShapes.Error("secondary overloaded")));
        pair.Primary.Respond(FakeResponse.Error(500, OpenAiShapes.Error("primary down")));

        var error = await Assert.ThrowsAsync<ClientResultException>(() => AskAsync(pair.Model));
        Assert.That(error!.Status, Is.EqualTo(503));
        Assert.That(error.Message, Does.Contain("secondary overloaded"));
    }

    [Test]
    public async Task Nothing_is_retried_once_the_first_byte_reached_the_client()
    {
        var pair = await PairAsync("midstream");
        var breakNow = new TaskCompletionSource();
        pair.Primary.Respond(async context =>
        {
            await FakeResponse.Sse(OpenAiShapes.ChatStream("gpt-4o", ["partial", "never"]).Take(2))(context);
            await breakNow.Task.WaitAsync(context.RequestAborted);
            context.Abort();
        });

        var received = new List<string>();
        var ex = await Assert.CatchAsync(async () =>
        {
            await foreach (var update in Client(pair.Model).CompleteChatStreamingAsync([new UserChatMessage("hi")]))
            {
                received.AddRange(update.ContentUpdate.Select(p => p.Text));
                if (received.Count > 0)
                {
                    breakNow.TrySetResult();
                }
            }
        });

        Assert.That(ex, Is.Not.Null, "the cut stream is not passed off as a whole answer");
        Assert.That(string.Concat(received), Is.EqualTo("partial"));
        Assert.That(pair.Primary.Calls, Is.EqualTo(1), "no retry after the first byte");
        Assert.That(pair.Secondary.Calls, Is.Zero, "no failover after the first byte");
    }
}
