using System.Buffers;
using System.Text;
using System.Text.Json.Nodes;
using ThinkWatch.AiGateway.Conversion;
using ThinkWatch.AiGateway.Proxy;
using ThinkWatch.AiGateway.Streaming;
using ThinkWatch.Testing;

namespace ThinkWatch.AiGateway.Tests;

/// <summary>Gemini, Bedrock and Responses pieces on their own: signing, event-stream framing, what the matrix cannot isolate.</summary>
[TestFixture]
public sealed class WireFormatTests
{
    private static JsonObject Json(string json) => JsonNode.Parse(json)!.AsObject();

    private static readonly AwsCredentials SuiteCredentials = new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", null);
    private const string EmptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    [TestCase("GET", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")]
    [TestCase("POST", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")]
    public void SigV4_reproduces_the_published_test_suite(string method, string signature)
    {
        var headers = new Dictionary<string, string> { ["host"] = "example.amazonaws.com", ["x-amz-date"] = "20150830T123600Z" };

        var authorization = SigV4.Authorization(method, "/", "", headers, EmptyHash, "20150830T123600Z", "us-east-1", "service", SuiteCredentials);

        Assert.That(authorization, Is.EqualTo(
            $"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature={signature}"));
    }

    [Test]
    public void SigV4_encodes_path_segments_twice_and_signs_the_session_token()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-v2%3A1/converse")
        {
            Content = new ByteArrayContent("{}"u8.ToArray()),
        };
        request.Content.Headers.ContentType = new("application/json");

        SigV4.Sign(request, "{}"u8.ToArray(), SuiteCredentials with { SessionToken = "session-1" }, "us-east-1", "bedrock", new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero));

        var authorization = request.Headers.GetValues("Authorization").Single();
        Assert.That(authorization, Does.Contain("SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token"));
        Assert.That(request.Headers.GetValues("x-amz-security-token").Single(), Is.EqualTo("session-1"));
        Assert.That(request.Headers.GetValues("x-amz-date").Single(), Is.EqualTo("20250102T030405Z"));
        var expected = SigV4.Authorization("POST", "/model/anthropic.claude-v2%253A1/converse", "", new Dictionary<string, string>
        {
            ["content-type"] = "application/json", ["host"] = "bedrock-runtime.us-east-1.amazonaws.com", ["x-amz-content-sha256"] = request.Headers.GetValues("x-amz-content-sha256").Single(),
            ["x-amz-date"] = "20250102T030405Z", ["x-amz-security-token"] = "session-1",
        }, request.Headers.GetValues("x-amz-content-sha256").Single(), "20250102T030405Z", "us-east-1", "bedrock", SuiteCredentials);
        Assert.That(authorization, Is.EqualTo(expected));
    }

    private static byte[] Frame(string type, string json) => FakeModels.EventStreamFrame(
        new Dictionary<string, string> { [":event-type"] = type, [":message-type"] = "event", [":content-type"] = "application/json" }, Encoding.UTF8.GetBytes(json));

    [Test]
    public void Event_stream_messages_are_read_whole_even_when_split_across_reads()
    {
        var bytes = Frame("contentBlockDelta", """{"contentBlockIndex":0,"delta":{"text":"Hi"}}""").Concat(Frame("messageStop", """{"stopReason":"end_turn"}""")).ToArray();
        var decoder = new BedrockDecoder();
        var events = new List<StreamEvent>();

        var partial = new ReadOnlySequence<byte>(bytes, 0, 20);
        Assert.That(decoder.TryRead(ref partial, events), Is.False, "half a frame is not a message");
        var whole = new ReadOnlySequence<byte>(bytes);
        while (decoder.TryRead(ref whole, events))
        {
        }
        decoder.EndOfStream(events);

        Assert.That(whole.Length, Is.Zero);
        Assert.That(events, Has.Some.EqualTo(new BlockDelta(0, DeltaKind.Text, "Hi")));
        Assert.That(events, Has.Some.EqualTo(new StreamFinished(StopReason.EndTurn, null)));
        Assert.That(events[^1], Is.EqualTo(StreamCompleted.Instance), "messageStop then the end of the connection completes the answer");
    }

    [Test]
    public void A_corrupt_event_stream_frame_is_refused_not_misread()
    {
        var frame = Frame("contentBlockDelta", """{"contentBlockIndex":0,"delta":{"text":"Hi"}}""");
        frame[^6] ^= 0x20;
        var buffer = new ReadOnlySequence<byte>(frame);

        Assert.Throws<InvalidDataException>(() => new BedrockDecoder().TryRead(ref buffer, []));
    }

    [Test]
    public void A_bedrock_exception_message_fails_the_stream_with_its_type()
    {
        var frame = FakeModels.EventStreamFrame(new Dictionary<string, string> { [":message-type"] = "exception", [":exception-type"] = "throttlingException" },
            Encoding.UTF8.GetBytes("""{"message":"Too many requests"}"""));
        var buffer = new ReadOnlySequence<byte>(frame);
        var events = new List<StreamEvent>();

        new BedrockDecoder().TryRead(ref buffer, events);

        Assert.That(events, Is.EqualTo(new[] { new StreamFailed("throttlingException", "Too many requests") }));
    }

    [Test]
    public void Gemini_thought_signatures_ride_back_on_the_function_call_and_results_name_their_function()
    {
        var response = Gemini.ParseResponse(Json("""
            {"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"lookup","args":{"q":"x"}},"thoughtSignature":"sig-g"}]},"finishReason":"STOP"}],
             "usageMetadata":{"promptTokenCount":30,"cachedContentTokenCount":10,"candidatesTokenCount":5,"thoughtsTokenCount":4}}
            """));
        var call = response.Content.OfType<ToolCallPart>().Single();
        var request = new ChatRequest { Model = "gemini-2.5-pro" };
        request.Messages.Add(new Message(Role.User, [new TextPart("find x")]));
        request.Messages.Add(new Message(Role.Assistant, response.Content));
        request.Messages.Add(new Message(Role.User, [new ToolResultPart(call.Id, [new TextPart("found")], IsError: false)]));

        var written = Gemini.WriteRequest(request, "test");

        Assert.That(response.StopReason, Is.EqualTo(StopReason.ToolUse));
        Assert.That(response.Usage, Is.EqualTo(new Usage(20, 9, CacheRead: 10, Reasoning: 4)));
        var modelPart = written["contents"]![1]!["parts"]![0]!;
        Assert.That(modelPart["thoughtSignature"]!.GetValue<string>(), Is.EqualTo("sig-g"));
        Assert.That(modelPart["functionCall"]!["name"]!.GetValue<string>(), Is.EqualTo("lookup"));
        var result = written["contents"]![2]!["parts"]![0]!["functionResponse"]!;
        Assert.That(result["name"]!.GetValue<string>(), Is.EqualTo("lookup"));
        Assert.That(result["response"]!["result"]!.GetValue<string>(), Is.EqualTo("found"));
    }

    [Test]
    public void Bedrock_carries_signed_reasoning_and_cache_points_and_refuses_what_it_cannot_say()
    {
        var request = AnthropicMessages.ParseRequest(Json("""
            {"model":"m","max_tokens":500,"system":[{"type":"text","text":"rules","cache_control":{"type":"ephemeral"}}],
             "messages":[{"role":"user","content":"q"},
               {"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"sig-b"},{"type":"text","text":"a"}]},
               {"role":"user","content":"more"}]}
            """), "test");

        var written = BedrockConverse.WriteRequest(request, "test", 4096);

        Assert.That(written["system"]![1]!["cachePoint"]!["type"]!.GetValue<string>(), Is.EqualTo("default"));
        Assert.That(written["messages"]![1]!["content"]![0]!["reasoningContent"]!["reasoningText"]!["signature"]!.GetValue<string>(), Is.EqualTo("sig-b"));
        Assert.That(written["inferenceConfig"]!["maxTokens"]!.GetValue<int>(), Is.EqualTo(500));
        request.Format = new OutputFormat(OutputFormatKind.JsonObject);
        var refused = Assert.Throws<GatewayException>(() => BedrockConverse.WriteRequest(request, "AWS Bedrock Converse (provider 'b')", 4096));
        Assert.That(refused!.Error.Message, Does.StartWith("A JSON response format cannot be sent to AWS Bedrock Converse (provider 'b')"));
    }

    [Test]
    public void Responses_reasoning_items_carry_claude_signatures_and_redacted_thinking_both_ways()
    {
        var response = new ChatResponse { Id = "msg_1", Model = "m" };
        response.Content.AddRange([new ThinkingPart("plan", "sig-1"), new ThinkingPart("", null, "opaque"), new ToolCallPart("toolu_1", "calc", "{}")]);

        var written = OpenAiResponses.WriteResponse(response, "m", 0);
        var input = new JsonArray([.. written["output"]!.AsArray().Select(n => n!.DeepClone())]);
        input.Add(new JsonObject { ["type"] = "function_call_output", ["call_id"] = "toolu_1", ["output"] = "4" });
        var parsed = OpenAiResponses.ParseRequest(new JsonObject { ["model"] = "m", ["input"] = input }, "test");

        Assert.That(parsed.Messages[0].Parts, Is.EqualTo(new Part[] { new ThinkingPart("plan", "sig-1"), new ThinkingPart("", null, "opaque"), new ToolCallPart("toolu_1", "calc", "{}") }));
        Assert.That(parsed.Messages[1].Parts.Single(), Is.TypeOf<ToolResultPart>());
    }

    [TestCase("""{"model":"m","input":"hi","previous_response_id":"resp_1"}""", "keeps no conversation state")]
    [TestCase("""{"model":"m","input":"hi","tools":[{"type":"web_search"}]}""", "The built-in tool 'web_search' (tools[0]) cannot be sent")]
    [TestCase("""{"model":"m","input":[{"type":"item_reference","id":"x"}]}""", "An input item of type 'item_reference' (input[0]) cannot be sent")]
    [TestCase("""{"model":"m","input":42}""", "'input' must be a string or an array of items.")]
    public void Responses_requests_the_gateway_cannot_serve_are_refused_clearly(string body, string message)
    {
        var refused = Assert.Throws<GatewayException>(() => OpenAiResponses.ParseRequest(Json(body), "test"));

        Assert.That(refused!.Error.Message, Does.Contain(message));
        Assert.That(refused.Error.Status, Is.EqualTo(400));
    }
}
