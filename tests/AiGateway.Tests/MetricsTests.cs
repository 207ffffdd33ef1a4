using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using OpenAI;
using OpenAI.Chat;
using ThinkWatch.Testing;

namespace ThinkWatch.AiGateway.Tests;

/// <summary>/metrics on the gateway: its own instruments appear once traffic went through.</summary>
[TestFixture]
public sealed class MetricsTests : GatewayFixture
{
    private const string Token = "gateway-metrics-token-42";

    protected override IReadOnlyDictionary<string, string?>? Settings => new Dictionary<string, string?> { ["METRICS_BEARER_TOKEN"] = Token };

    [Test]
    public async Task Tokens_refusals_breakers_and_the_spool_are_exported()
    {
        Gateway.Upstream.On("POST", "/v1/chat/completions").Respond(FakeResponse.Json(OpenAiShapes.ChatCompletion("gpt-4o", "Hi", 12, 3)));
        var client = new ChatClient("gpt-4o", new ApiKeyCredential(Gateway.Key), new OpenAIClientOptions
        {
            Endpoint = new Uri(Gateway.Address, "v1"), RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0),
        });
        await client.CompleteChatAsync([new UserChatMessage("Hello")]);
        using var http = Gateway.Http();
        using (var refused = await http.PostAsync("/v1/chat/completions", new StringContent("{}")))
        {
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        }

        var text = "";
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        do
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
            using var response = await http.SendAsync(request);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            text = await response.Content.ReadAsStringAsync();
            if (text.Contains("thinkwatch_gateway_tokens{", StringComparison.Ordinal))
            {
                break;
            }
            await Task.Delay(200); // usage is counted once settled, off the request path
        }
        while (DateTime.UtcNow < deadline);

        Assert.Multiple(() =>
        {
            Assert.That(Lines(text, "thinkwatch_gateway_tokens").Any(l => l.Contains("model=\"gpt-4o\"") && l.Contains("direction=\"input\"") && Value(l) > 0), text);
            Assert.That(Lines(text, "thinkwatch_gateway_refused").Any(l => l.Contains("reason=\"authentication\"") && Value(l) >= 1), text);
            Assert.That(Lines(text, "thinkwatch_gateway_breaker_state").Any(l => l.Contains("provider=\"openai-main\"")), text);
            Assert.That(Lines(text, "thinkwatch_spool_depth"), Is.Not.Empty, text);
            Assert.That(Lines(text, "http_request_duration_seconds_bucket").Any(l => l.Contains("/v1/chat/completions")), text);
        });
    }

    private static IEnumerable<string> Lines(string text, string metric) =>
        text.Split('\n').Where(l => l.StartsWith(metric, StringComparison.Ordinal));

    private static double Value(string line) => double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
}
