using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Testing;

namespace ThinkWatch.AiGateway.Tests;

/// <summary>Rate limits, budgets and pricing on the request path, through the real Quota service.</summary>
[TestFixture]
public sealed class QuotaTests : GatewayFixture
{
    private BusProbe<UsageRecorded> _bus = null!;

    [OneTimeSetUp]
    public async Task StartProbe() => _bus = await BusProbe<UsageRecorded>.StartAsync(Gateway.Identity.RabbitMqUri);

    [OneTimeTearDown]
    public async Task StopProbe() => await _bus.DisposeAsync();

    /// <summary>A fresh key (so its limits are its own): its secret and its lineage id, the subject rules name.</summary>
    private async Task<(string Secret, string Lineage)> KeyAsync()
    {
        using var response = await Gateway.Admin.PostAsJsonAsync("/api/keys", new { name = "limited", surfaces = new[] { "ai_gateway" }, allowedModels = new[] { "*" } });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(response.IsSuccessStatusCode, Is.True, body.ToString());
        return (body.GetProperty("secret").GetString()!, body.GetProperty("key").GetProperty("lineageId").GetString()!);
    }

    private HttpClient Client(string secret)
    {
        var http = Gateway.Http();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        return http;
    }

    private void AnswerChat(int promptTokens = 12, int completionTokens = 3) =>
        Gateway.Upstream.On("POST", "/v1/chat/completions").Respond(FakeResponse.Json(OpenAiShapes.ChatCompletion("gpt-4o", "Hi", promptTokens, completionTokens)));

    private static object Chat(string model = "gpt-4o", string? tag = null) => new
    {
        model,
        max_tokens = 5,
        messages = new[] { new { role = "user", content = "Hello" } },
        metadata = tag is null ? null : new Dictionary<string, string> { ["run"] = tag },
    };

    [Test]
    public async Task Requests_past_a_rule_get_429_naming_the_rule_with_retry_after_and_rate_limit_headers()
    {
        var (secret, lineage) = await KeyAsync();
        await Gateway.Quota.AddRuleAsync("api_key", lineage, "requests", "1m", 2);
        AnswerChat();
        using var http = Client(secret);

        using (var first = await http.PostAsJsonAsync("/v1/chat/completions", Chat()))
        {
            Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(first.Headers.GetValues("x-ratelimit-limit-requests").Single(), Is.EqualTo("2"));
            Assert.That(first.Headers.GetValues("x-ratelimit-remaining-requests").Single(), Is.EqualTo("1"));
            Assert.That(first.Headers.GetValues("x-ratelimit-reset-requests").Single(), Does.EndWith("s"));
        }
        using (var second = await http.PostAsJsonAsync("/v1/chat/completions", Chat()))
        {
            Assert.That(second.Headers.GetValues("x-ratelimit-remaining-requests").Single(), Is.EqualTo("0"));
        }
        var upstreamCalls = Gateway.Upstream.Requests.Count;

        using var refused = await http.PostAsJsonAsync("/v1/chat/completions", Chat());
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
        Assert.That(refused.Headers.GetValues("X-ThinkWatch-Rule").Single(), Is.EqualTo("api_key:requests/1m"));
        Assert.That(int.Parse(refused.Headers.RetryAfter!.ToString(), System.Globalization.CultureInfo.InvariantCulture), Is.InRange(1, 60));
        var error = (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.That(error.GetProperty("code").GetString(), Is.EqualTo("rate_limit_exceeded"));
        Assert.That(error.GetProperty("message").GetString(), Does.Contain("api_key:requests/1m"));
        Assert.That(Gateway.Upstream.Requests, Has.Count.EqualTo(upstreamCalls), "a refused request never reaches the upstream");

        // The same refusal in the Anthropic shape on /v1/messages, and as the OpenAI SDK's 429.
        using var messages = await http.PostAsJsonAsync("/v1/messages", new { model = "claude-sonnet-4-5", max_tokens = 5, messages = new[] { new { role = "user", content = "Hi" } } });
        var anthropic = await messages.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That((messages.StatusCode, anthropic.GetProperty("type").GetString(), anthropic.GetProperty("error").GetProperty("type").GetString()),
            Is.EqualTo((HttpStatusCode.TooManyRequests, "error", "rate_limit_error")));
        var sdk = new ChatClient("gpt-4o", new ApiKeyCredential(secret), new OpenAIClientOptions { Endpoint = new Uri(Gateway.Address, "v1"), RetryPolicy = new ClientRetryPolicy(0) });
        var ex = await Assert.ThrowsAsync<ClientResultException>(async () => await sdk.CompleteChatAsync("Hello"));
        Assert.That(ex!.Status, Is.EqualTo(429));
        Assert.That(ex.Message, Does.Contain("api_key:requests/1m"));
    }

    [Test]
    public async Task Usage_records_carry_weighted_tokens_and_cost_from_the_pricing_table()
    {
        var (secret, _) = await KeyAsync();
        await Gateway.Quota.SetPriceAsync("gpt-priced-test", input: 2, output: 10, cachedInput: 1, inputWeight: 1, outputWeight: 3);
        AnswerChat(promptTokens: 100, completionTokens: 20);
        var tag = Guid.NewGuid().ToString("N");
        using var http = Client(secret);

        using var response = await http.PostAsJsonAsync("/v1/chat/completions", Chat("gpt-priced-test", tag));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var (record, _) = await _bus.WaitAsync(r => r.Tags.Contains($"run:{tag}"), TimeSpan.FromSeconds(30));
        Assert.That((record.InputTokens, record.OutputTokens), Is.EqualTo((100L, 20L)));
        Assert.That(record.WeightedTokens, Is.EqualTo(100 + 20 * 3));
        Assert.That(record.CostMicroUsd, Is.EqualTo(100 * 2 + 20 * 10));
    }

    [Test]
    public async Task A_spent_budget_refuses_the_next_request_until_its_period_ends()
    {
        var (secret, lineage) = await KeyAsync();
        await Gateway.Quota.AddBudgetAsync("api_key", lineage, "daily", limitWeightedTokens: 50);
        AnswerChat(promptTokens: 40, completionTokens: 20);
        var tag = Guid.NewGuid().ToString("N");
        using var http = Client(secret);

        using (var first = await http.PostAsJsonAsync("/v1/chat/completions", Chat(tag: tag)))
        {
            Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK), "a few bytes and max_tokens 5 fit the budget");
        }
        // Settled before its record is published: 60 weighted tokens of 50 are used.
        await _bus.WaitAsync(r => r.Tags.Contains($"run:{tag}"), TimeSpan.FromSeconds(30));

        using var refused = await http.PostAsJsonAsync("/v1/chat/completions", Chat());
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
        Assert.That(refused.Headers.GetValues("X-ThinkWatch-Rule").Single(), Is.EqualTo("api_key:budget/daily"));
        var now = Gateway.Quota.Time.GetUtcNow();
        var untilTomorrow = now.UtcDateTime.Date.AddDays(1) - now.UtcDateTime;
        Assert.That(refused.Headers.RetryAfter!.Delta, Is.EqualTo(untilTomorrow).Within(TimeSpan.FromSeconds(2)), "until the next day (UTC)");
    }

    [Test]
    public async Task Explain_shows_the_limits_and_prices_that_apply_without_counting()
    {
        var (secret, lineage) = await KeyAsync();
        await Gateway.Quota.AddRuleAsync("api_key", lineage, "requests", "1h", 7);
        using var http = Client(secret);

        for (var i = 0; i < 2; i++)
        {
            using var response = await http.PostAsJsonAsync("/v1/explain", new { model = "gpt-4o-2024-08-06", max_tokens = 1000, messages = new[] { new { role = "user", content = "Hello" } } });
            var answer = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), answer.ToString());
            var rule = answer.GetProperty("limits").GetProperty("rules").EnumerateArray().Single();
            Assert.That(rule.GetProperty("label").GetString(), Is.EqualTo("api_key:requests/1h"));
            Assert.That(rule.GetProperty("remaining").GetInt64(), Is.EqualTo(7), "explaining counts nothing");
            var pricing = answer.GetProperty("pricing");
            Assert.That(pricing.GetProperty("price_entry").GetString(), Is.EqualTo("gpt-4o*"));
            Assert.That(pricing.GetProperty("usd_per_million_tokens").GetProperty("output").GetDecimal(), Is.EqualTo(10m));
            Assert.That(pricing.GetProperty("max_cost_usd").GetDecimal(), Is.GreaterThan(0.01m), "1000 output tokens at $10 per million");
        }
    }
}
