// The Responses client of the OpenAI SDK is marked experimental (OPENAI001); it is the official way to call /v1/responses.
#pragma warning disable OPENAI001
using System.ClientModel;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Anthropic;
using Anthropic.Models.Messages;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Responses;
using ThinkWatch.AiGateway.Proxy;
using ThinkWatch.Testing;

namespace ThinkWatch.AiGateway.Tests;

/// <summary>
/// Every inbound format (OpenAI Chat and Responses through the OpenAI SDK, Messages through the
/// Anthropic SDK) against a fake of every provider kind, answering in that kind's own wire format
/// (<see cref="FakeModels"/>): plain answers, streams with usage, tool calls both ways, images.
/// </summary>
[TestFixture]
public sealed class ProviderMatrixTests : GatewayFixture
{
    public static readonly string[] Kinds = ["openai", "anthropic", "gemini", "azure_openai", "bedrock", "openai_compatible"];

    private const string AccessKeyId = "AKIDTHINKWATCHTEST";
    private const string SecretAccessKey = "bedrock-secret-for-tests";
    private static readonly byte[] Png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==");
    private const string WeatherSchema = """{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""";

    [OneTimeSetUp]
    public async Task RegisterEveryKind()
    {
        Gateway.Upstream.AnswersModels = true;
        var root = Gateway.Upstream.BaseAddress.ToString().TrimEnd('/');
        await Gateway.AddProviderAsync("gemini-main", "gemini", root, "gemini-upstream-key");
        await Gateway.AddProviderAsync("azure-main", "azure_openai", root, "azure-upstream-key", new { api_version = "2024-10-21" });
        await Gateway.AddProviderAsync("bedrock-main", "bedrock", root, (object)new { accessKeyId = AccessKeyId, secretAccessKey = SecretAccessKey }, new { region = "eu-west-1" });
        await Gateway.AddProviderAsync("compat-main", "openai_compatible", root + "/compat/v1", "compat-upstream-key");
        await Gateway.RegisterModelAsync("m-openai", "openai-main", "gpt-4o");
        await Gateway.RegisterModelAsync("m-anthropic", "anthropic-main", "claude-sonnet-4-5");
        await Gateway.RegisterModelAsync("m-gemini", "gemini-main", "gemini-2.5-flash");
        await Gateway.RegisterModelAsync("m-azure_openai", "azure-main", "chat-deployment");
        await Gateway.RegisterModelAsync("m-bedrock", "bedrock-main", "anthropic.claude-3-5-sonnet-20240620-v1:0");
        await Gateway.RegisterModelAsync("m-openai_compatible", "compat-main", "llama-3.1-8b");
        await Gateway.RegisterModelAsync("m-multi", "bedrock-main", "anthropic.claude-3-5-sonnet-20240620-v1:0", priority: 0);
        await Gateway.RegisterModelAsync("m-multi", "gemini-main", "gemini-2.5-flash", priority: 1);
    }

    private static string Model(string kind) => "m-" + kind;

    private ChatClient Chat(string kind) => new(Model(kind), new ApiKeyCredential(Gateway.Key), new OpenAIClientOptions
    {
        Endpoint = new Uri(Gateway.Address, "v1"),
        RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0),
    });

    private ResponsesClient Responses() => new(new ApiKeyCredential(Gateway.Key), new ResponsesClientOptions
    {
        Endpoint = new Uri(Gateway.Address, "v1"),
        RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0),
    });

    private AnthropicClient Anthropic() => new() { BaseUrl = Gateway.Address.ToString().TrimEnd('/'), ApiKey = Gateway.Key, MaxRetries = 0 };

    /// <summary>The one request the fake received, checked for the provider kind's address and credentials.</summary>
    private RecordedRequest UpstreamRequest(string kind, bool stream)
    {
        var request = Gateway.Upstream.Requests.Last();
        switch (kind)
        {
            case "openai":
                Assert.That(request.Path, Is.EqualTo("/v1/chat/completions"));
                Assert.That(request.Headers["Authorization"], Is.EqualTo("Bearer " + GatewayHost.OpenAiUpstreamKey));
                break;
            case "anthropic":
                Assert.That(request.Path, Is.EqualTo("/v1/messages"));
                Assert.That(request.Headers["x-api-key"], Is.EqualTo(GatewayHost.AnthropicUpstreamKey));
                break;
            case "gemini":
                Assert.That(request.Path, Is.EqualTo(stream ? "/v1beta/models/gemini-2.5-flash:streamGenerateContent" : "/v1beta/models/gemini-2.5-flash:generateContent"));
                Assert.That(request.Query, Is.EqualTo(stream ? "?alt=sse" : ""));
                Assert.That(request.Headers["x-goog-api-key"], Is.EqualTo("gemini-upstream-key"));
                break;
            case "azure_openai":
                Assert.That(request.Path, Is.EqualTo("/openai/deployments/chat-deployment/chat/completions"));
                Assert.That(request.Query, Is.EqualTo("?api-version=2024-10-21"));
                Assert.That(request.Headers["api-key"], Is.EqualTo("azure-upstream-key"));
                break;
            case "bedrock":
                Assert.That(request.RawTarget, Is.EqualTo($"/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/{(stream ? "converse-stream" : "converse")}"));
                AssertSignedForBedrock(request);
                break;
            case "openai_compatible":
                Assert.That(request.Path, Is.EqualTo("/compat/v1/chat/completions"));
                Assert.That(request.Headers["Authorization"], Is.EqualTo("Bearer compat-upstream-key"));
                break;
        }
        Assert.That(request.Body, Does.Not.Contain(Gateway.Key), "the client's key never goes upstream");
        return request;
    }

    /// <summary>The signature matches the request as it arrived: recomputed here from the wire's path, headers and body.</summary>
    private static void AssertSignedForBedrock(RecordedRequest request)
    {
        var authorization = request.Headers["Authorization"];
        Assert.That(authorization, Does.StartWith($"AWS4-HMAC-SHA256 Credential={AccessKeyId}/"));
        Assert.That(authorization, Does.Contain("/eu-west-1/bedrock/aws4_request"));
        var signed = authorization.Split("SignedHeaders=")[1].Split(',')[0].Split(';');
        Assert.That(signed, Is.SupersetOf(new[] { "host", "x-amz-date", "x-amz-content-sha256" }));
        var headers = signed.ToDictionary(h => h, h => request.Headers[h]);
        var payloadHash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(request.Body)));
        Assert.That(headers["x-amz-content-sha256"], Is.EqualTo(payloadHash));
        var canonicalUri = string.Join('/', request.RawTarget.Split('?')[0].Split('/').Select(SigV4.Encode));
        var expected = SigV4.Authorization("POST", canonicalUri, "", headers, payloadHash, headers["x-amz-date"], "eu-west-1", "bedrock",
            new AwsCredentials(AccessKeyId, SecretAccessKey, null));
        Assert.That(authorization, Is.EqualTo(expected));
    }

    // ---- OpenAI Chat Completions (OpenAI SDK) ---------------------------------------------------

    [TestCaseSource(nameof(Kinds))]
    public async Task Chat_answers(string kind)
    {
        ChatCompletion completion = await Chat(kind).CompleteChatAsync([new SystemChatMessage("Be brief."), new UserChatMessage("Hello")]);

        Assert.That(completion.Content[0].Text, Is.EqualTo("Echo: Hello"));
        Assert.That(completion.FinishReason, Is.EqualTo(ChatFinishReason.Stop));
        Assert.That(completion.Usage.InputTokenCount, Is.EqualTo(FakeModels.InputTokens));
        Assert.That(completion.Usage.OutputTokenCount, Is.EqualTo(FakeModels.OutputTokens));
        UpstreamRequest(kind, stream: false);
    }

    [TestCaseSource(nameof(Kinds))]
    public async Task Chat_streams_with_usage(string kind)
    {
        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        await foreach (var update in Chat(kind).CompleteChatStreamingAsync([new UserChatMessage("Hello")]))
        {
            text.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
            usage ??= update.Usage;
        }

        Assert.That(text.ToString(), Is.EqualTo("Echo: Hello"));
        Assert.That(usage?.InputTokenCount, Is.EqualTo(FakeModels.InputTokens));
        Assert.That(usage?.OutputTokenCount, Is.EqualTo(FakeModels.OutputTokens));
        UpstreamRequest(kind, stream: true);
    }

    [TestCaseSource(nameof(Kinds))]
    public async Task Chat_tool_calls_round_trip(string kind)
    {
        var client = Chat(kind);
        var options = new ChatCompletionOptions { Tools = { ChatTool.CreateFunctionTool("get_weather", "Current weather", BinaryData.FromString(WeatherSchema)) } };
        List<ChatMessage> messages = [new UserChatMessage("Weather in Paris?")];

        ChatCompletion first = await client.CompleteChatAsync(messages, options);
        Assert.That(first.FinishReason, Is.EqualTo(ChatFinishReason.ToolCalls));
        Assert.That(first.ToolCalls[0].FunctionName, Is.EqualTo("get_weather"));
        Assert.That(JsonNode.Parse(first.ToolCalls[0].FunctionArguments)!["city"]!.GetValue<string>(), Is.EqualTo("Paris"));
        messages.Add(new AssistantChatMessage(first));
        messages.Add(new ToolChatMessage(first.ToolCalls[0].Id, "18C"));
        ChatCompletion second = await client.CompleteChatAsync(messages, options);

        Assert.That(second.Content[0].Text, Is.EqualTo("The tool said: 18C"));
        UpstreamRequest(kind, stream: false);
    }

    [TestCaseSource(nameof(Kinds))]
    public async Task Chat_streams_tool_calls(string kind)
    {
        var options = new ChatCompletionOptions { Tools = { ChatTool.CreateFunctionTool("get_weather", "Current weather", BinaryData.FromString(WeatherSchema)) } };
        var arguments = new StringBuilder();
        string? name = null;
        ChatFinishReason? finish = null;
        await foreach (var update in Chat(kind).CompleteChatStreamingAsync([new UserChatMessage("Weather in Paris?")], options))
        {
            foreach (var call in update.ToolCallUpdates)
            {
                name ??= call.FunctionName;
                arguments.Append(call.FunctionArgumentsUpdate?.ToString());
            }
            finish ??= update.FinishReason;
        }

        Assert.That(name, Is.EqualTo("get_weather"));
        Assert.That(JsonNode.Parse(arguments.ToString())!["city"]!.GetValue<string>(), Is.EqualTo("Paris"));
        Assert.That(finish, Is.EqualTo(ChatFinishReason.ToolCalls));
        UpstreamRequest(kind, stream: true);
    }

    [TestCaseSource(nameof(Kinds))]
    public async Task Chat_sends_images(string kind)
    {
        ChatCompletion completion = await Chat(kind).CompleteChatAsync([new UserChatMessage(
            ChatMessageContentPart.CreateTextPart("Hello"),
            ChatMessageContentPart.CreateImagePart(BinaryData.FromBytes(Png), "image/png"))]);

        Assert.That(completion.Content[0].Text, Is.EqualTo("Echo: Hello [1 image(s): image/png]"));
        Assert.That(UpstreamRequest(kind, stream: false).Body, Does.Contain(Convert.ToBase64String(Png)));
    }

    // ---- OpenAI Responses (OpenAI SDK) ----------------------------------------------------------

    [TestCaseSource(nameof(Kinds))]
    public async Task Responses_answer(string kind)
    {
        ResponseResult response = await Responses().CreateResponseAsync(new CreateResponseOptions(Model(kind), [ResponseItem.CreateUserMessageItem("Hello")])
        {
            Instructions = "Be brief.",
        });

        Assert.That(response.GetOutputText(), Is.EqualTo("Echo: Hello"));
        Assert.That(response.Status, Is.EqualTo(ResponseStatus.Completed));
        Assert.That(response.Usage.InputTokenCount, Is.EqualTo(FakeModels.InputTokens));
        Assert.That(response.Usage.OutputTokenCount, Is.EqualTo(FakeModels.OutputTokens));
        UpstreamRequest(kind, stream: false);
    }

    [TestCaseSource(nameof(Kinds))]
    public async Task Responses_stream_with_usage(string kind)
    {
        var text = new StringBuilder();
        ResponseResult? completed = null;
        await foreach (var update in await Responses().CreateResponseStreamingAsync(
            new CreateResponseOptions(Model(kind), [ResponseItem.CreateUserMessageItem("Hello")]) { StreamingEnabled = true }))
        {
            if (update is StreamingResponseOutputTextDeltaUpdate delta)
            {
                text.Append(delta.Delta);
            }
            else if (update is StreamingResponseCompletedUpdate done)
            {
                completed = done.Response;
            }
        }

        Assert.That(text.ToString(), Is.EqualTo("Echo: Hello"));
        Assert.That(completed?.GetOutputText(), Is.EqualTo("Echo: Hello"));
        Assert.That(completed?.Usage.InputTokenCount, Is.EqualTo(FakeModels.InputTokens));
        Assert.That(completed?.Usage.OutputTokenCount, Is.EqualTo(FakeModels.OutputTokens));
        UpstreamRequest(kind, stream: true);
    }

    [TestCaseSource(nameof(Kinds))]
    public async Task Responses_tool_calls_round_trip(string kind)
    {
        var client = Responses();
        var tool = ResponseTool.CreateFunctionTool("get_weather", BinaryData.FromString(WeatherSchema), null, "Current weather");
        List<ResponseItem> input = [ResponseItem.CreateUserMessageItem("Weather in Paris?")];

        ResponseResult first = await client.CreateResponseAsync(new CreateResponseOptions(Model(kind), input) { Tools = { tool } });
        var call = first.OutputItems.OfType<FunctionCallResponseItem>().Single();
        Assert.That(call.FunctionName, Is.EqualTo("get_weather"));
        Assert.That(JsonNode.Parse(call.FunctionArguments.ToString())!["city"]!.GetValue<string>(), Is.EqualTo("Paris"));
        input.AddRange(first.OutputItems);
        input.Add(ResponseItem.CreateFunctionCallOutputItem(call.CallId, "18C"));
        ResponseResult second = await client.CreateResponseAsync(new CreateResponseOptions(Model(kind), input) { Tools = { tool } });

        Assert.That(second.GetOutputText(), Is.EqualTo("The tool said: 18C"));
        UpstreamRequest(kind, stream: false);
    }

    [TestCaseSource(nameof(Kinds))]
    public async Task Responses_stream_tool_calls(string kind)
    {
        var tool = ResponseTool.CreateFunctionTool("get_weather", BinaryData.FromString(WeatherSchema), null, "Current weather");
        FunctionCallResponseItem? call = null;
        await foreach (var update in await Responses().CreateResponseStreamingAsync(
            new CreateResponseOptions(Model(kind), [ResponseItem.CreateUserMessageItem("Weather in Paris?")]) { Tools = { tool }, StreamingEnabled = true }))
        {
            if (update is StreamingResponseOutputItemDoneUpdate { Item: FunctionCallResponseItem done })
            {
                call = done;
            }
        }

        Assert.That(call?.FunctionName, Is.EqualTo("get_weather"));
        Assert.That(JsonNode.Parse(call!.FunctionArguments.ToString())!["city"]!.GetValue<string>(), Is.EqualTo("Paris"));
        UpstreamRequest(kind, stream: true);
    }

    [TestCaseSource(nameof(Kinds))]
    public async Task Responses_send_images(string kind)
    {
        ResponseResult response = await Responses().CreateResponseAsync(new CreateResponseOptions(Model(kind),
        [
            ResponseItem.CreateUserMessageItem([ResponseContentPart.CreateInputTextPart("Hello"), ResponseContentPart.CreateInputImagePart(BinaryData.FromBytes(Png, "image/png"), null)]),
        ]));

        Assert.That(response.GetOutputText(), Is.EqualTo("Echo: Hello [1 image(s): image/png]"));
        Assert.That(UpstreamRequest(kind, stream: false).Body, Does.Contain(Convert.ToBase64String(Png)));
    }

    // ---- Anthropic Messages (Anthropic SDK) ------------------------------------------------------

    private static Tool Weather() => new()
    {
        Name = "get_weather",
        Description = "Current weather",
        InputSchema = new InputSchema { Properties = new Dictionary<string, JsonElement> { ["city"] = JsonDocument.Parse("""{"type":"string"}""").RootElement } },
    };

    [TestCaseSource(nameof(Kinds))]
    public async Task Messages_answer(string kind)
    {
        var message = await Anthropic().Messages.Create(new MessageCreateParams
        {
            Model = Model(kind), MaxTokens = 256, System = "Be brief.", Messages = [new UserMessageParam { Content = "Hello" }],
        });

        Assert.That(message.Content[0].TryPickText(out var text), Is.True);
        Assert.That(text!.Text, Is.EqualTo("Echo: Hello"));
        Assert.That(message.Usage.InputTokens, Is.EqualTo(FakeModels.InputTokens));
        Assert.That(message.Usage.OutputTokens, Is.EqualTo(FakeModels.OutputTokens));
        UpstreamRequest(kind, stream: false);
    }

    [TestCaseSource(nameof(Kinds))]
    public async Task Messages_stream_with_usage(string kind)
    {
        var text = new StringBuilder();
        long inputTokens = 0, outputTokens = 0;
        await foreach (var e in Anthropic().Messages.CreateStreaming(new MessageCreateParams
        {
            Model = Model(kind), MaxTokens = 256, Messages = [new UserMessageParam { Content = "Hello" }],
        }))
        {
            if (e.TryPickContentBlockDelta(out var delta) && delta!.Delta.TryPickText(out var piece))
            {
                text.Append(piece!.Text);
            }
            else if (e.TryPickStart(out var start))
            {
                inputTokens = start!.Message.Usage.InputTokens;
            }
            else if (e.TryPickDelta(out var messageDelta))
            {
                outputTokens = messageDelta!.Usage.OutputTokens;
                inputTokens = messageDelta.Usage.InputTokens ?? inputTokens;
            }
        }

        Assert.That(text.ToString(), Is.EqualTo("Echo: Hello"));
        Assert.That(inputTokens, Is.EqualTo(FakeModels.InputTokens));
        Assert.That(outputTokens, Is.EqualTo(FakeModels.OutputTokens));
        UpstreamRequest(kind, stream: true);
    }

    [TestCaseSource(nameof(Kinds))]
    public async Task Messages_tool_use_round_trips(string kind)
    {
        var client = Anthropic();
        var ask = new MessageCreateParams { Model = Model(kind), MaxTokens = 256, Tools = [Weather()], Messages = [new UserMessageParam { Content = "Weather in Paris?" }] };

        var first = await client.Messages.Create(ask);
        var use = first.Content.Select(c => c.TryPickToolUse(out var u) ? u : null).OfType<ToolUseBlock>().Single();
        Assert.That(use.Name, Is.EqualTo("get_weather"));
        Assert.That(use.Input["city"].GetString(), Is.EqualTo("Paris"));
        var second = await client.Messages.Create(SdkTurns.AnswerToolUse(ask, "Weather in Paris?", use, "18C"));

        Assert.That(second.Content[0].TryPickText(out var text), Is.True);
        Assert.That(text!.Text, Is.EqualTo("The tool said: 18C"));
        UpstreamRequest(kind, stream: false);
    }

    [TestCaseSource(nameof(Kinds))]
    public async Task Messages_stream_tool_use(string kind)
    {
        var arguments = new StringBuilder();
        string? name = null;
        await foreach (var e in Anthropic().Messages.CreateStreaming(new MessageCreateParams
        {
            Model = Model(kind), MaxTokens = 256, Tools = [Weather()], Messages = [new UserMessageParam { Content = "Weather in Paris?" }],
        }))
        {
            if (e.TryPickContentBlockStart(out var start) && start!.ContentBlock.TryPickToolUse(out var use))
            {
                name = use!.Name;
            }
            else if (e.TryPickContentBlockDelta(out var delta) && delta!.Delta.TryPickInputJson(out var json))
            {
                arguments.Append(json!.PartialJson);
            }
        }

        Assert.That(name, Is.EqualTo("get_weather"));
        Assert.That(JsonNode.Parse(arguments.ToString())!["city"]!.GetValue<string>(), Is.EqualTo("Paris"));
        UpstreamRequest(kind, stream: true);
    }

    [TestCaseSource(nameof(Kinds))]
    public async Task Messages_send_images(string kind)
    {
        var message = await Anthropic().Messages.Create(new MessageCreateParams
        {
            Model = Model(kind),
            MaxTokens = 256,
            Messages =
            [
                new UserMessageParam
                {
                    Content = new List<ContentBlockParam>
                    {
                        new TextBlockParam { Text = "Hello" },
                        new ImageBlockParam { Source = new Base64ImageSource { Data = Convert.ToBase64String(Png), MediaType = MediaType.ImagePng } },
                    },
                },
            ],
        });

        Assert.That(message.Content[0].TryPickText(out var text), Is.True);
        Assert.That(text!.Text, Is.EqualTo("Echo: Hello [1 image(s): image/png]"));
        Assert.That(UpstreamRequest(kind, stream: false).Body, Does.Contain(Convert.ToBase64String(Png)));
    }

    // ---- explain ------------------------------------------------------------------------------

    private async Task<JsonObject> ExplainAsync(string path, string body, bool header = false)
    {
        using var http = Gateway.Http();
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new("Bearer", Gateway.Key);
        if (header)
        {
            request.Headers.Add(Explainer.Header, "true");
        }
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.EqualTo(200), text);
        return JsonNode.Parse(text)!.AsObject();
    }

    [Test]
    public async Task Explain_shows_every_route_in_order_with_the_converted_body_and_calls_no_upstream()
    {
        var explained = await ExplainAsync("v1/explain?api=messages",
            """{"model":"m-multi","max_tokens":300,"stream":true,"messages":[{"role":"user","content":"Hello there"}]}""");

        var routes = explained["routes"]!.AsArray();
        Assert.That(routes.Select(r => (string)r!["provider"]!), Is.EqualTo(new[] { "bedrock-main", "gemini-main" }));
        Assert.That((string)routes[0]!["mode"]!, Is.EqualTo("converted"));
        Assert.That((string)routes[0]!["url"]!, Does.EndWith("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream"));
        Assert.That((int)routes[0]!["request"]!["inferenceConfig"]!["maxTokens"]!, Is.EqualTo(300));
        Assert.That((string)routes[1]!["url"]!, Does.EndWith(":streamGenerateContent?alt=sse"));
        Assert.That((string)routes[1]!["circuit"]!, Is.EqualTo("closed"));
        Assert.That((long)explained["pricing"]!["estimated_input_tokens"]!, Is.GreaterThan(0));
        Assert.That(Gateway.Upstream.Requests, Is.Empty);
    }

    [Test]
    public async Task The_explain_header_on_a_normal_request_shows_a_forward_and_a_refusal_without_sending()
    {
        var forwarded = await ExplainAsync("v1/chat/completions", """{"model":"m-openai","messages":[{"role":"user","content":"hi"}]}""", header: true);
        var refused = await ExplainAsync("v1/chat/completions",
            """{"model":"m-bedrock","response_format":{"type":"json_object"},"messages":[{"role":"user","content":"hi"}]}""", header: true);

        Assert.That((string)forwarded["routes"]![0]!["mode"]!, Is.EqualTo("forwarded"));
        Assert.That((string)forwarded["routes"]![0]!["request"]!["model"]!, Is.EqualTo("gpt-4o"), "the registered upstream name replaces the alias");
        Assert.That((string)refused["routes"]![0]!["mode"]!, Is.EqualTo("refused"));
        Assert.That((string)refused["routes"]![0]!["reason"]!, Does.StartWith("A JSON response format cannot be sent to AWS Bedrock Converse"));
        Assert.That(Gateway.Upstream.Requests, Is.Empty);
    }
}
