using System.ClientModel;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Anthropic;
using Anthropic.Models.Messages;
using OpenAI;
using OpenAI.Chat;
using ThinkWatch.Testing;

namespace ThinkWatch.AiGateway.Tests;

/// <summary>
/// The official OpenAI and Anthropic SDKs against the gateway's real port, for each inbound
/// format × upstream kind: same format is forwarded, different formats are converted both ways.
/// </summary>
[TestFixture]
public sealed class ChatEndToEndTests : GatewayFixture
{
    private FakeUpstream Upstream => Gateway.Upstream;

    private ChatClient OpenAi(string model, string? key = null) =>
        new(model, new ApiKeyCredential(key ?? Gateway.Key), new OpenAIClientOptions
        {
            Endpoint = new Uri(Gateway.Address, "v1"),
            NetworkTimeout = TimeSpan.FromSeconds(30),
            RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0),
        });

    private AnthropicClient Anthropic(string? key = null) =>
        new() { BaseUrl = Gateway.Address.ToString().TrimEnd('/'), ApiKey = key ?? Gateway.Key, MaxRetries = 0 };

    private static MessageCreateParams Hello(string model, string text = "Hello") => new()
    {
        Model = model,
        MaxTokens = 256,
        System = "Be brief.",
        Messages = [new UserMessageParam { Content = text }],
    };

    private JsonObject UpstreamBody(string path) => JsonNode.Parse(Upstream.Requests.Single(r => r.Path == path).Body)!.AsObject();

    // ---- OpenAI SDK ---------------------------------------------------------------------------

    [Test]
    public async Task OpenAi_to_openai_is_forwarded_with_the_providers_key_not_the_clients()
    {
        Upstream.On("POST", "/v1/chat/completions").Respond(FakeResponse.Json(OpenAiShapes.ChatCompletion("gpt-4o-mini", "Hi from OpenAI", 12, 3)));

        ChatCompletion completion = await OpenAi("gpt-4o-mini").CompleteChatAsync([new SystemChatMessage("Be brief."), new UserChatMessage("Hello")]);

        Assert.That(completion.Content[0].Text, Is.EqualTo("Hi from OpenAI"));
        Assert.That(completion.Usage.InputTokenCount, Is.EqualTo(12));
        var request = Upstream.Requests.Single();
        Assert.That(request.Headers["Authorization"], Is.EqualTo("Bearer " + GatewayHost.OpenAiUpstreamKey));
        Assert.That(request.Body, Does.Not.Contain(Gateway.Key));
        Assert.That(JsonNode.Parse(request.Body)!["messages"]![0]!["role"]!.GetValue<string>(), Is.EqualTo("system"));
    }

    [Test]
    public async Task OpenAi_to_anthropic_converts_the_request_and_the_answer()
    {
        Upstream.On("POST", "/v1/messages").Respond(FakeResponse.Json(AnthropicShapes.Message("claude-sonnet-4-5", "Hi from Claude", 20, 4)));

        ChatCompletion completion = await OpenAi("claude-sonnet-4-5").CompleteChatAsync(
            [new SystemChatMessage("Be brief."), new UserChatMessage("Hello")],
            new ChatCompletionOptions { MaxOutputTokenCount = 100, Temperature = 0.5f, StopSequences = { "END" } });

        Assert.That(completion.Content[0].Text, Is.EqualTo("Hi from Claude"));
        Assert.That(completion.FinishReason, Is.EqualTo(ChatFinishReason.Stop));
        Assert.That(completion.Usage.InputTokenCount, Is.EqualTo(20));
        Assert.That(completion.Usage.OutputTokenCount, Is.EqualTo(4));
        var request = Upstream.Requests.Single();
        Assert.That(request.Headers["x-api-key"], Is.EqualTo(GatewayHost.AnthropicUpstreamKey));
        Assert.That(request.Headers["anthropic-version"], Is.EqualTo("2023-06-01"));
        var body = UpstreamBody("/v1/messages");
        Assert.That(body["system"]![0]!["text"]!.GetValue<string>(), Is.EqualTo("Be brief."));
        Assert.That(body["messages"]![0]!["content"]![0]!["text"]!.GetValue<string>(), Is.EqualTo("Hello"));
        Assert.That(body["max_tokens"]!.GetValue<int>(), Is.EqualTo(100));
        Assert.That(body["temperature"]!.GetValue<double>(), Is.EqualTo(0.5));
        Assert.That(body["stop_sequences"]![0]!.GetValue<string>(), Is.EqualTo("END"));
    }

    [Test]
    public async Task OpenAi_streaming_from_anthropic_arrives_converted_with_usage()
    {
        Upstream.On("POST", "/v1/messages").Respond(FakeResponse.Sse(AnthropicShapes.MessageStream("claude-sonnet-4-5", ["Bon", "jour", " !"], 30, 6)));

        var (text, usage, finish) = await StreamOpenAi(OpenAi("claude-sonnet-4-5"));

        Assert.That(text, Is.EqualTo("Bonjour !"));
        Assert.That(usage?.InputTokenCount, Is.EqualTo(30));
        Assert.That(usage?.OutputTokenCount, Is.EqualTo(6));
        Assert.That(finish, Is.EqualTo(ChatFinishReason.Stop));
        Assert.That(UpstreamBody("/v1/messages")["stream"]!.GetValue<bool>(), Is.True);
    }

    [Test]
    public async Task OpenAi_streaming_from_openai_is_forwarded_with_usage()
    {
        Upstream.On("POST", "/v1/chat/completions").Respond(FakeResponse.Sse(OpenAiShapes.ChatStream("gpt-4o-mini", ["Hel", "lo"], 7, 2)));

        var (text, usage, _) = await StreamOpenAi(OpenAi("gpt-4o-mini"));

        Assert.That(text, Is.EqualTo("Hello"));
        Assert.That(usage?.InputTokenCount, Is.EqualTo(7));
        Assert.That(usage?.OutputTokenCount, Is.EqualTo(2));
    }

    private static async Task<(string Text, ChatTokenUsage? Usage, ChatFinishReason? Finish)> StreamOpenAi(ChatClient client)
    {
        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("Hello")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }
            usage ??= update.Usage;
            finish ??= update.FinishReason;
        }
        return (text.ToString(), usage, finish);
    }

    [Test]
    public async Task A_usage_chunk_the_client_did_not_ask_for_is_requested_upstream_and_removed()
    {
        Upstream.On("POST", "/v1/chat/completions").Respond(FakeResponse.Sse(OpenAiShapes.ChatStream("gpt-4o-mini", ["a", "b"])));
        using var http = Gateway.Http();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent("""{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new("Bearer", Gateway.Key);

        using var response = await http.SendAsync(request);
        var stream = await response.Content.ReadAsStringAsync();

        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/event-stream"));
        Assert.That(UpstreamBody("/v1/chat/completions")["stream_options"]!["include_usage"]!.GetValue<bool>(), Is.True);
        Assert.That(stream, Does.Contain("\"content\":\"a\"").And.Contain("data: [DONE]"));
        Assert.That(stream, Does.Not.Contain("\"prompt_tokens\""));
    }

    [Test]
    public async Task OpenAi_tool_calls_round_trip_through_an_anthropic_upstream()
    {
        Upstream.On("POST", "/v1/messages").Respond(
            FakeResponse.Json("""
                {"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","stop_reason":"tool_use","stop_sequence":null,
                 "content":[{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}],
                 "usage":{"input_tokens":50,"output_tokens":10}}
                """),
            FakeResponse.Json(AnthropicShapes.Message("claude-sonnet-4-5", "It is sunny in Paris.")));
        var client = OpenAi("claude-sonnet-4-5");
        var weather = ChatTool.CreateFunctionTool("get_weather", "Current weather",
            BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""));
        List<ChatMessage> messages = [new UserChatMessage("Weather in Paris?")];
        var options = new ChatCompletionOptions { Tools = { weather } };

        ChatCompletion first = await client.CompleteChatAsync(messages, options);
        messages.Add(new AssistantChatMessage(first));
        messages.Add(new ToolChatMessage(first.ToolCalls[0].Id, "sunny, 24°C"));
        ChatCompletion second = await client.CompleteChatAsync(messages, options);

        Assert.That(first.FinishReason, Is.EqualTo(ChatFinishReason.ToolCalls));
        Assert.That(first.ToolCalls[0].FunctionName, Is.EqualTo("get_weather"));
        Assert.That(first.ToolCalls[0].Id, Is.EqualTo("toolu_1"));
        Assert.That(JsonDocument.Parse(first.ToolCalls[0].FunctionArguments).RootElement.GetProperty("city").GetString(), Is.EqualTo("Paris"));
        Assert.That(second.Content[0].Text, Is.EqualTo("It is sunny in Paris."));
        var firstBody = JsonNode.Parse(Upstream.Requests[0].Body)!;
        Assert.That(firstBody["tools"]![0]!["input_schema"]!["required"]![0]!.GetValue<string>(), Is.EqualTo("city"));
        var replay = JsonNode.Parse(Upstream.Requests[1].Body)!["messages"]!.AsArray();
        Assert.That(replay[1]!["role"]!.GetValue<string>(), Is.EqualTo("assistant"));
        Assert.That(replay[1]!["content"]![1]!["type"]!.GetValue<string>(), Is.EqualTo("tool_use"));
        Assert.That(replay[1]!["content"]![1]!["input"]!["city"]!.GetValue<string>(), Is.EqualTo("Paris"));
        Assert.That(replay[2]!["role"]!.GetValue<string>(), Is.EqualTo("user"));
        Assert.That(replay[2]!["content"]![0]!["type"]!.GetValue<string>(), Is.EqualTo("tool_result"));
        Assert.That(replay[2]!["content"]![0]!["tool_use_id"]!.GetValue<string>(), Is.EqualTo("toolu_1"));
        Assert.That(replay[2]!["content"]![0]!["content"]![0]!["text"]!.GetValue<string>(), Is.EqualTo("sunny, 24°C"));
    }

    [Test]
    public async Task OpenAi_images_reach_an_anthropic_upstream_as_base64_and_url_sources()
    {
        Upstream.On("POST", "/v1/messages").Respond(FakeResponse.Json(AnthropicShapes.Message("claude-sonnet-4-5", "A red pixel.")));
        var png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==");

        await OpenAi("claude-sonnet-4-5").CompleteChatAsync([new UserChatMessage(
            ChatMessageContentPart.CreateTextPart("What is this?"),
            ChatMessageContentPart.CreateImagePart(BinaryData.FromBytes(png), "image/png"),
            ChatMessageContentPart.CreateImagePart(new Uri("https://example.com/cat.jpg")))]);

        var content = UpstreamBody("/v1/messages")["messages"]![0]!["content"]!.AsArray();
        Assert.That(content[1]!["source"]!["type"]!.GetValue<string>(), Is.EqualTo("base64"));
        Assert.That(content[1]!["source"]!["media_type"]!.GetValue<string>(), Is.EqualTo("image/png"));
        Assert.That(Convert.FromBase64String(content[1]!["source"]!["data"]!.GetValue<string>()), Is.EqualTo(png));
        Assert.That(content[2]!["source"]!["url"]!.GetValue<string>(), Is.EqualTo("https://example.com/cat.jpg"));
    }

    // ---- Anthropic SDK ------------------------------------------------------------------------

    [Test]
    public async Task Anthropic_to_anthropic_is_forwarded()
    {
        Upstream.On("POST", "/v1/messages").Respond(FakeResponse.Json(AnthropicShapes.Message("claude-sonnet-4-5", "Bonjour", 9, 2)));

        var message = await Anthropic().Messages.Create(Hello("claude-sonnet-4-5"));

        Assert.That(message.Content[0].TryPickText(out var text), Is.True);
        Assert.That(text!.Text, Is.EqualTo("Bonjour"));
        Assert.That(message.Usage.InputTokens, Is.EqualTo(9));
        var request = Upstream.Requests.Single();
        Assert.That(request.Headers["x-api-key"], Is.EqualTo(GatewayHost.AnthropicUpstreamKey));
        Assert.That(request.Headers.ContainsKey("Authorization"), Is.False, "the client's key never goes upstream");
    }

    [Test]
    public async Task Anthropic_to_openai_converts_the_request_and_the_answer()
    {
        Upstream.On("POST", "/v1/chat/completions").Respond(FakeResponse.Json(OpenAiShapes.ChatCompletion("gpt-4o", "Hello from GPT", 15, 5)));

        var message = await Anthropic().Messages.Create(Hello("gpt-4o"));

        Assert.That(message.Content[0].TryPickText(out var text), Is.True);
        Assert.That(text!.Text, Is.EqualTo("Hello from GPT"));
        Assert.That(message.Usage.InputTokens, Is.EqualTo(15));
        Assert.That(message.Usage.OutputTokens, Is.EqualTo(5));
        var body = UpstreamBody("/v1/chat/completions");
        Assert.That(body["messages"]![0]!["role"]!.GetValue<string>(), Is.EqualTo("system"));
        Assert.That(body["messages"]![0]!["content"]!.GetValue<string>(), Is.EqualTo("Be brief."));
        Assert.That(body["messages"]![1]!["content"]!.GetValue<string>(), Is.EqualTo("Hello"));
        Assert.That(body["max_completion_tokens"]!.GetValue<int>(), Is.EqualTo(256));
    }

    [TestCase("claude-sonnet-4-5")]
    [TestCase("gpt-4o")]
    public async Task Anthropic_streaming_arrives_with_usage_from_either_upstream(string model)
    {
        Upstream.On("POST", "/v1/messages").Respond(FakeResponse.Sse(AnthropicShapes.MessageStream(model, ["Bon", "jour"], 11, 4)));
        Upstream.On("POST", "/v1/chat/completions").Respond(FakeResponse.Sse(OpenAiShapes.ChatStream(model, ["Bon", "jour"], 11, 4)));

        var text = new StringBuilder();
        long outputTokens = 0, inputTokens = 0;
        string? stopReason = null;
        await foreach (var e in Anthropic().Messages.CreateStreaming(Hello(model)))
        {
            if (e.TryPickContentBlockDelta(out var delta) && delta!.Delta.TryPickText(out var piece))
            {
                text.Append(piece!.Text);
            }
            else if (e.TryPickDelta(out var messageDelta))
            {
                outputTokens = messageDelta!.Usage.OutputTokens;
                inputTokens = messageDelta.Usage.InputTokens ?? inputTokens;
                stopReason = messageDelta.Delta.StopReason?.ToString();
            }
            else if (e.TryPickStart(out var start) && start!.Message.Usage.InputTokens > 0)
            {
                inputTokens = start.Message.Usage.InputTokens;
            }
        }

        Assert.That(text.ToString(), Is.EqualTo("Bonjour"));
        Assert.That(outputTokens, Is.EqualTo(4));
        Assert.That(inputTokens, Is.EqualTo(11));
        Assert.That(stopReason, Does.Contain("end_turn").IgnoreCase.Or.Contain("EndTurn"));
    }

    [Test]
    public async Task Anthropic_tool_use_round_trips_through_an_openai_upstream()
    {
        Upstream.On("POST", "/v1/chat/completions").Respond(
            FakeResponse.Json("""
                {"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o",
                 "choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":null,
                   "tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]}}],
                 "usage":{"prompt_tokens":40,"completion_tokens":8,"total_tokens":48}}
                """),
            FakeResponse.Json(OpenAiShapes.ChatCompletion("gpt-4o", "Cold in Oslo.")));
        var client = Anthropic();
        var tool = new Tool
        {
            Name = "get_weather",
            Description = "Current weather",
            InputSchema = new InputSchema { Properties = new Dictionary<string, JsonElement> { ["city"] = JsonDocument.Parse("""{"type":"string"}""").RootElement } },
        };
        var ask = new MessageCreateParams
        {
            Model = "gpt-4o",
            MaxTokens = 256,
            Tools = [tool],
            Messages = [new UserMessageParam { Content = "Weather in Oslo?" }],
        };

        var first = await client.Messages.Create(ask);
        Assert.That(first.StopReason?.ToString(), Does.Contain("tool_use").IgnoreCase.Or.Contain("ToolUse"));
        Assert.That(first.Content[0].TryPickToolUse(out var use), Is.True);
        Assert.That(use!.Name, Is.EqualTo("get_weather"));
        Assert.That(use.Input["city"].GetString(), Is.EqualTo("Oslo"));

        var second = await client.Messages.Create(SdkTurns.AnswerToolUse(ask, "Weather in Oslo?", use, "-3°C"));

        Assert.That(second.Content[0].TryPickText(out var text), Is.True);
        Assert.That(text!.Text, Is.EqualTo("Cold in Oslo."));
        var replay = JsonNode.Parse(Upstream.Requests[1].Body)!["messages"]!.AsArray();
        Assert.That(replay[1]!["tool_calls"]![0]!["id"]!.GetValue<string>(), Is.EqualTo("call_1"));
        Assert.That(replay[2]!["role"]!.GetValue<string>(), Is.EqualTo("tool"));
        Assert.That(replay[2]!["tool_call_id"]!.GetValue<string>(), Is.EqualTo("call_1"));
        Assert.That(replay[2]!["content"]!.GetValue<string>(), Is.EqualTo("-3°C"));
    }
}
