using System.ClientModel;
using System.ClientModel.Primitives;
using OpenAI;
using OpenAI.Chat;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Testing;

namespace ThinkWatch.AiGateway.Tests;

/// <summary>Every request with a valid key leaves one complete usage record on the bus (RabbitMQ), found here by a unique tag.</summary>
[TestFixture]
public sealed class UsageTests : GatewayFixture
{
    private BusProbe<UsageRecorded> _bus = null!;
    private string _keyId = null!;
    private string _key = null!;

    [OneTimeSetUp]
    public async Task StartProbe()
    {
        _bus = await BusProbe<UsageRecorded>.StartAsync(Gateway.Identity.RabbitMqUri!);
        (_keyId, _key) = await Gateway.CreateKeyAsync(["*"]);
    }

    [OneTimeTearDown]
    public async Task StopProbe() => await _bus.DisposeAsync();

    /// <summary>An OpenAI SDK client whose requests all carry X-ThinkWatch-Tag: <paramref name="tag"/>.</summary>
    private ChatClient Client(string model, string tag)
    {
        var options = new OpenAIClientOptions { Endpoint = new Uri(Gateway.Address, "v1"), RetryPolicy = new ClientRetryPolicy(0) };
        options.AddPolicy(new RequestHeaderPolicy("X-ThinkWatch-Tag", tag + ", team-blue"), PipelinePosition.PerCall);
        return new ChatClient(model, new ApiKeyCredential(_key), options);
    }

    private Task<(UsageRecorded Message, long At)> RecordTagged(string tag) =>
        _bus.WaitAsync(r => r.Tags.Contains(tag), TimeSpan.FromSeconds(30));

    private static string Tag() => "run-" + Guid.NewGuid().ToString("N")[..12];

    [Test]
    public async Task A_forwarded_answer_is_recorded_with_the_upstreams_usage_and_everything_about_the_request()
    {
        var tag = Tag();
        Gateway.Upstream.On("POST", "/v1/chat/completions").Respond(FakeResponse.Json(OpenAiShapes.ChatCompletion("gpt-4o", "Hi", promptTokens: 12, completionTokens: 3)));

        await Client("gpt-4o", tag).CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { Metadata = { ["project"] = "apollo" }, StoredOutputEnabled = true });
        var (record, _) = await RecordTagged(tag);

        Assert.Multiple(() =>
        {
            Assert.That(record.ApiKeyId, Is.EqualTo(_keyId));
            Assert.That(record.UserId, Is.Not.Empty);
            Assert.That(record.Provider, Is.EqualTo("openai-main"));
            Assert.That(record.Model, Is.EqualTo("gpt-4o"));
            Assert.That(record.Endpoint, Is.EqualTo("/v1/chat/completions"));
            Assert.That((record.InputTokens, record.OutputTokens, record.TokensEstimated), Is.EqualTo((12L, 3L, false)));
            Assert.That(record.WeightedTokens, Is.EqualTo(15));
            Assert.That(record.Status, Is.EqualTo(200));
            Assert.That(record.Stream, Is.False);
            Assert.That(record.Tags, Is.SupersetOf(new[] { tag, "team-blue", "project:apollo" }));
            Assert.That(record.TimeToFirstTokenMs, Is.Not.Null);
            Assert.That(record.LatencyMs, Is.GreaterThanOrEqualTo(record.TimeToFirstTokenMs!.Value));
            Assert.That(record.TraceId, Is.Not.Null.And.Not.Empty);
        });
    }

    [Test]
    public async Task A_converted_stream_is_recorded_with_usage_cache_reads_and_time_to_first_token()
    {
        var tag = Tag();
        Gateway.Upstream.On("POST", "/v1/messages").Respond(FakeResponse.Sse(AnthropicShapes.MessageStream("claude-sonnet-4-5", ["Hel", "lo"], inputTokens: 40, outputTokens: 7)));

        await foreach (var _ in Client("claude-sonnet-4-5", tag).CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
        }
        var (record, _) = await RecordTagged(tag);

        Assert.That(record.Provider, Is.EqualTo("anthropic-main"));
        Assert.That(record.Stream, Is.True);
        Assert.That((record.InputTokens, record.OutputTokens, record.TokensEstimated), Is.EqualTo((40L, 7L, false)));
        Assert.That(record.TimeToFirstTokenMs, Is.Not.Null);
    }

    [Test]
    public async Task A_stream_without_usage_is_recorded_with_an_estimate_marked_as_such()
    {
        var tag = Tag();
        var noUsage = OpenAiShapes.ChatStream("gpt-4o", ["A fairly long answer ", "that goes on for a while."]).Where(e => !e.Data.Contains("\"usage\"", StringComparison.Ordinal));
        Gateway.Upstream.On("POST", "/v1/chat/completions").Respond(FakeResponse.Sse(noUsage));

        await foreach (var _ in Client("gpt-4o", tag).CompleteChatStreamingAsync([new UserChatMessage("Tell me something long")]))
        {
        }
        var (record, _) = await RecordTagged(tag);

        Assert.That(record.TokensEstimated, Is.True);
        Assert.That(record.InputTokens, Is.GreaterThan(0));
        Assert.That(record.OutputTokens, Is.GreaterThan(0));
    }

    [Test]
    public async Task A_failed_request_is_recorded_with_its_status_and_no_tokens()
    {
        var tag = Tag();
        Gateway.Upstream.On("POST", "/v1/chat/completions").Respond(FakeResponse.Error(400, OpenAiShapes.Error("bad temperature", "invalid_request_error")));

        await Assert.ThrowsAsync<ClientResultException>(() => Client("gpt-4o", tag).CompleteChatAsync([new UserChatMessage("hi")]));
        var (record, _) = await RecordTagged(tag);

        Assert.That(record.Status, Is.EqualTo(400));
        Assert.That(record.OutputTokens, Is.Zero);
        Assert.That(record.Provider, Is.EqualTo("openai-main"));
    }
}
