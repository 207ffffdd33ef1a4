using System.ClientModel;
using Anthropic;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using OpenAI;
using OpenAI.Chat;
using ThinkWatch.Testing;

namespace ThinkWatch.Shared.Tests;

/// <summary>
/// The fake upstream must be indistinguishable from the real APIs for the official SDKs,
/// or gateway tests built on it prove nothing.
/// </summary>
[TestFixture]
public sealed class FakeUpstreamTests
{
    private FakeUpstream _fake = null!;

    [SetUp]
    public async Task Start() => _fake = await FakeUpstream.StartAsync();

    [TearDown]
    public async Task Stop() => await _fake.DisposeAsync();

    private ChatClient OpenAi(string model = "gpt-4o-mini") =>
        new(model, new ApiKeyCredential("sk-test"), new OpenAIClientOptions
        {
            Endpoint = new Uri(_fake.BaseAddress, "v1"),
            NetworkTimeout = TimeSpan.FromSeconds(10),
            RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0),
        });

    private AnthropicClient Anthropic() =>
        new() { BaseUrl = _fake.BaseAddress.ToString().TrimEnd('/'), ApiKey = "sk-ant-test", MaxRetries = 0 };

    private static MessageCreateParams Hello(string model = "claude-sonnet-4-5") => new()
    {
        Model = model,
        MaxTokens = 64,
        Messages = [new UserMessageParam { Content = "Hello" }],
    };

    [Test]
    public async Task OpenAi_sdk_reads_a_json_completion_and_the_fake_records_the_request()
    {
        _fake.On("POST", "/v1/chat/completions").Respond(FakeResponse.Json(OpenAiShapes.ChatCompletion("gpt-4o-mini", "Hi there", 12, 3)));

        ChatCompletion completion = await OpenAi().CompleteChatAsync([new UserChatMessage("Hello")]);

        Assert.That(completion.Content[0].Text, Is.EqualTo("Hi there"));
        Assert.That(completion.Usage.InputTokenCount, Is.EqualTo(12));
        Assert.That(completion.Usage.OutputTokenCount, Is.EqualTo(3));
        var request = _fake.Requests.Single();
        Assert.That(request.Headers["Authorization"], Is.EqualTo("Bearer sk-test"));
        Assert.That(request.Body, Does.Contain("\"model\":\"gpt-4o-mini\"").And.Contain("Hello"));
    }

    [Test]
    public async Task OpenAi_sdk_streams_every_piece_and_the_usage_chunk()
    {
        _fake.On("POST", "/v1/chat/completions")
            .Respond(FakeResponse.Sse(OpenAiShapes.ChatStream("gpt-4o-mini", ["Hel", "lo", " world"], 7, 3), TimeSpan.FromMilliseconds(5)));

        var text = new System.Text.StringBuilder();
        ChatTokenUsage? usage = null;
        await foreach (var update in OpenAi().CompleteChatStreamingAsync([new UserChatMessage("Hello")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }
            usage ??= update.Usage;
        }

        Assert.That(text.ToString(), Is.EqualTo("Hello world"));
        Assert.That(usage?.InputTokenCount, Is.EqualTo(7));
        Assert.That(usage?.OutputTokenCount, Is.EqualTo(3));
    }

    [Test]
    public async Task OpenAi_sdk_surfaces_a_scripted_error_then_the_next_scripted_answer()
    {
        _fake.On("POST", "/v1/chat/completions").Respond(
            FakeResponse.Error(429, OpenAiShapes.Error("slow down", "rate_limit_exceeded"), TimeSpan.FromSeconds(1)),
            FakeResponse.Json(OpenAiShapes.ChatCompletion("gpt-4o-mini", "ok")));
        var client = OpenAi();

        var error = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync([new UserChatMessage("Hello")]));
        ChatCompletion second = await client.CompleteChatAsync([new UserChatMessage("Hello")]);

        Assert.That(error!.Status, Is.EqualTo(429));
        Assert.That(error.Message, Does.Contain("slow down"));
        Assert.That(second.Content[0].Text, Is.EqualTo("ok"));
        Assert.That(_fake.On("POST", "/v1/chat/completions").Calls, Is.EqualTo(2));
    }

    [Test]
    public async Task Anthropic_sdk_reads_a_json_message_with_the_headers_the_api_expects()
    {
        _fake.On("POST", "/v1/messages").Respond(FakeResponse.Json(AnthropicShapes.Message("claude-sonnet-4-5", "Bonjour", 9, 2)));

        var message = await Anthropic().Messages.Create(Hello());

        Assert.That(message.Content[0].TryPickText(out var text), Is.True);
        Assert.That(text!.Text, Is.EqualTo("Bonjour"));
        Assert.That(message.Usage.InputTokens, Is.EqualTo(9));
        Assert.That(message.Usage.OutputTokens, Is.EqualTo(2));
        var request = _fake.Requests.Single();
        // This SDK version sends the key as a bearer token; older ones and curl use x-api-key.
        var key = request.Headers.TryGetValue("x-api-key", out var k) ? k : request.Headers["Authorization"].Replace("Bearer ", "", StringComparison.Ordinal);
        Assert.That(key, Is.EqualTo("sk-ant-test"));
        Assert.That(request.Headers.ContainsKey("anthropic-version"), Is.True);
    }

    [Test]
    public async Task Anthropic_sdk_streams_text_deltas_and_usage_events()
    {
        _fake.On("POST", "/v1/messages").Respond(FakeResponse.Sse(AnthropicShapes.MessageStream("claude-sonnet-4-5", ["Bon", "jour"], 11, 4)));

        var text = new System.Text.StringBuilder();
        long inputTokens = 0, outputTokens = 0;
        await foreach (var e in Anthropic().Messages.CreateStreaming(Hello()))
        {
            if (e.TryPickStart(out var start))
            {
                inputTokens = start!.Message.Usage.InputTokens;
            }
            else if (e.TryPickContentBlockDelta(out var delta) && delta!.Delta.TryPickText(out var piece))
            {
                text.Append(piece!.Text);
            }
            else if (e.TryPickDelta(out var messageDelta))
            {
                outputTokens = messageDelta!.Usage.OutputTokens;
            }
        }

        Assert.That(text.ToString(), Is.EqualTo("Bonjour"));
        Assert.That(inputTokens, Is.EqualTo(11));
        Assert.That(outputTokens, Is.EqualTo(4));
    }

    [Test]
    public async Task Anthropic_sdk_maps_a_scripted_overload_error()
    {
        _fake.On("POST", "/v1/messages").Respond(FakeResponse.Error(529, AnthropicShapes.Error("Overloaded", "overloaded_error")));

        var error = await Assert.CatchAsync<AnthropicApiException>(() => Anthropic().Messages.Create(Hello()));

        Assert.That((int)error!.StatusCode, Is.EqualTo(529));
        Assert.That(error.Message, Does.Contain("Overloaded"));
    }

    [Test]
    public async Task A_caller_that_gives_up_mid_stream_is_seen_as_cancelled()
    {
        var hold = new TaskCompletionSource();
        var route = _fake.On("POST", "/v1/chat/completions")
            .Respond(FakeResponse.Sse(OpenAiShapes.ChatStream("gpt-4o-mini", ["a", "b"]), holdAfterFirst: hold.Task));
        using var http = new HttpClient { BaseAddress = _fake.BaseAddress };

        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent("{}") };
        using (var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/event-stream"));
        }
        // Disposing a response read to its headers only closes the connection while the fake is held.
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (route.Cancelled == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.That(route.Cancelled, Is.EqualTo(1));
    }

    [Test]
    public async Task Unscripted_routes_answer_404_in_the_openai_error_shape()
    {
        using var http = new HttpClient { BaseAddress = _fake.BaseAddress };

        using var response = await http.GetAsync("v1/nothing");

        Assert.That((int)response.StatusCode, Is.EqualTo(404));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("no route for GET /v1/nothing"));
    }
}
