using System.Buffers;
using System.Text;
using System.Text.Json.Nodes;
using ThinkWatch.AiGateway.Conversion;
using ThinkWatch.AiGateway.Keys;
using ThinkWatch.AiGateway.Streaming;
using ThinkWatch.Security;

namespace ThinkWatch.AiGateway.Tests;

/// <summary>The converters and stream codecs on their own: what the end-to-end tests cannot isolate.</summary>
[TestFixture]
public sealed class ConversionTests
{
    private static JsonObject Json(string json) => JsonNode.Parse(json)!.AsObject();

    [Test]
    public void Anthropic_thinking_with_signature_survives_a_tool_turn_and_unsigned_reasoning_is_not_replayed()
    {
        var request = AnthropicMessages.ParseRequest(Json("""
            {"model":"claude-sonnet-4-5","max_tokens":4000,"thinking":{"type":"enabled","budget_tokens":2000},
             "messages":[{"role":"user","content":"2+2?"},
               {"role":"assistant","content":[{"type":"thinking","thinking":"add","signature":"sig-1"},{"type":"tool_use","id":"t1","name":"calc","input":{"e":"2+2"}}]},
               {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"4","cache_control":{"type":"ephemeral"}}]}]}
            """), "test");
        request.Messages.Add(new Message(Role.Assistant, [new ThinkingPart("from another vendor", null), new TextPart("ok")]));

        var written = AnthropicMessages.WriteRequest(request, "claude-sonnet-4-5", "test", 4096);

        var assistant = written["messages"]![1]!["content"]!.AsArray();
        Assert.That(assistant[0]!["signature"]!.GetValue<string>(), Is.EqualTo("sig-1"));
        Assert.That(written["messages"]![2]!["content"]![0]!["cache_control"]!["type"]!.GetValue<string>(), Is.EqualTo("ephemeral"));
        Assert.That(written["messages"]![3]!["content"]!.AsArray().Count, Is.EqualTo(1), "unsigned reasoning is left out");
        Assert.That(written["thinking"]!["budget_tokens"]!.GetValue<int>(), Is.EqualTo(2000));
    }

    [Test]
    public void OpenAi_tool_messages_join_the_next_user_turn_first_and_reasoning_effort_becomes_a_budget()
    {
        var request = OpenAiChat.ParseRequest(Json("""
            {"model":"x","reasoning_effort":"low","max_completion_tokens":8000,"messages":[
              {"role":"user","content":"go"},
              {"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}},{"id":"b","type":"function","function":{"name":"g","arguments":"{\"x\":1}"}}]},
              {"role":"tool","tool_call_id":"a","content":"A"},
              {"role":"tool","tool_call_id":"b","content":"B"},
              {"role":"user","content":"and?"}]}
            """), "test");

        var written = AnthropicMessages.WriteRequest(request, "claude", "test", 4096);

        var turn = written["messages"]![2]!["content"]!.AsArray();
        Assert.That(turn.Select(b => (string?)b!["type"]), Is.EqualTo(new[] { "tool_result", "tool_result", "text" }));
        Assert.That(turn.Select(b => (string?)b!["tool_use_id"]).Take(2), Is.EqualTo(new[] { "a", "b" }));
        Assert.That(written["messages"]![1]!["content"]![1]!["input"]!["x"]!.GetValue<int>(), Is.EqualTo(1));
        Assert.That(written["thinking"]!["budget_tokens"]!.GetValue<int>(), Is.EqualTo(2048));
    }

    [Test]
    public void A_system_message_in_the_middle_of_a_conversation_is_refused_for_a_converting_upstream()
    {
        var error = Assert.Throws<GatewayException>(() => OpenAiChat.ParseRequest(Json("""
            {"model":"x","messages":[{"role":"user","content":"a"},{"role":"system","content":"late"}]}
            """), "Anthropic"));

        Assert.That(error!.Error.Message, Does.Contain("messages[1]").And.Contain("Anthropic"));
    }

    [Test]
    public void Cached_and_reasoning_tokens_keep_their_meaning_across_usage_conventions()
    {
        var usage = OpenAiChat.UsageFrom(Json("""{"prompt_tokens":100,"completion_tokens":30,"prompt_tokens_details":{"cached_tokens":60},"completion_tokens_details":{"reasoning_tokens":20}}"""))!;
        var anthropic = AnthropicMessages.UsageJson(usage);
        var back = OpenAiChat.UsageJson(AnthropicMessages.UsageFrom(Json("""{"input_tokens":40,"output_tokens":30,"cache_read_input_tokens":60,"cache_creation_input_tokens":5}"""))!);

        Assert.That(usage, Is.EqualTo(new Usage(40, 30, 60, 0, 20)));
        Assert.That(anthropic["input_tokens"]!.GetValue<long>(), Is.EqualTo(40));
        Assert.That(anthropic["cache_read_input_tokens"]!.GetValue<long>(), Is.EqualTo(60));
        Assert.That(back["prompt_tokens"]!.GetValue<long>(), Is.EqualTo(105));
        Assert.That(back["prompt_tokens_details"]!["cached_tokens"]!.GetValue<long>(), Is.EqualTo(60));
    }

    [Test]
    public void Parallel_openai_tool_call_deltas_become_separate_anthropic_blocks_in_order()
    {
        string[] chunks =
        [
            """{"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Let me check."}}]}""",
            """{"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":""}}]}}]}""",
            """{"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"q\":"}}]}}]}""",
            """{"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}}]}""",
            """{"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"b","type":"function","function":{"name":"g","arguments":"{}"}}]}}]}""",
            """{"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}""",
            """{"id":"c","model":"m","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}}""",
            "[DONE]",
        ];
        var decoder = new OpenAiChatDecoder();
        var encoder = new AnthropicEncoder("m");
        var events = new List<StreamEvent>();
        var output = new ArrayBufferWriter<byte>();
        foreach (var chunk in chunks)
        {
            decoder.Decode(null, chunk, events);
        }
        foreach (var e in events)
        {
            encoder.Encode(e, output);
        }

        var sse = Encoding.UTF8.GetString(output.WrittenSpan);
        var names = sse.Split('\n').Where(l => l.StartsWith("event: ", StringComparison.Ordinal)).Select(l => l[7..]).ToList();
        Assert.That(names, Is.EqualTo(new[]
        {
            "message_start",
            "content_block_start", "content_block_delta", "content_block_stop",
            "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
            "content_block_start", "content_block_delta", "content_block_stop",
            "message_delta", "message_stop",
        }));
        Assert.That(sse, Does.Contain("\"partial_json\":\"{\\\"q\\\":\"").And.Contain("\"stop_reason\":\"tool_use\"").And.Contain("\"output_tokens\":4"));
    }

    [Test]
    public void Sse_framing_finds_whole_events_across_reads_and_line_endings()
    {
        var bytes = Encoding.UTF8.GetBytes("event: a\ndata: 1\n\ndata: 2\r\ndata: 3\r\n\r\ndata: partial");
        var buffer = new ReadOnlySequence<byte>(bytes);

        Assert.That(Sse.TryReadEvent(ref buffer, out var first), Is.True);
        Assert.That(Sse.TryReadEvent(ref buffer, out var second), Is.True);
        Assert.That(Sse.TryReadEvent(ref buffer, out _), Is.False);
        Assert.That(Sse.Parse(first), Is.EqualTo(("a", "1")));
        Assert.That(Sse.Parse(second), Is.EqualTo(((string?)null, "2\n3")));
        Assert.That(Encoding.UTF8.GetString(buffer), Is.EqualTo("data: partial"));
    }

    [TestCase("gpt-4o*", "gpt-4o-mini", true)]
    [TestCase("gpt-4o*", "gpt-4", false)]
    [TestCase("*", "anything", true)]
    [TestCase("claude-*-4-5", "claude-sonnet-4-5", true)]
    [TestCase("claude-*-4-5", "claude-sonnet-4-1", false)]
    [TestCase("gpt-4o", "gpt-4o-mini", false)]
    [TestCase("a*a", "a", false)]
    public void Model_patterns(string pattern, string model, bool allowed) =>
        Assert.That(NamePatterns.Matches(pattern, model), Is.EqualTo(allowed));
}
