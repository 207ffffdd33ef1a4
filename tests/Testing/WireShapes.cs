using System.Text.Json.Nodes;

namespace ThinkWatch.Testing;

/// <summary>OpenAI Chat Completions bodies and stream chunks, as the API sends them.</summary>
public static class OpenAiShapes
{
    public static string ChatCompletion(string model, string content, int promptTokens = 10, int completionTokens = 5, string id = "chatcmpl-fake") =>
        new JsonObject
        {
            ["id"] = id,
            ["object"] = "chat.completion",
            ["created"] = 1_700_000_000,
            ["model"] = model,
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = content },
                ["finish_reason"] = "stop",
            }),
            ["usage"] = Usage(promptTokens, completionTokens),
        }.ToJsonString();

    /// <summary>A streamed answer: a role chunk, one chunk per piece, a finish chunk, the usage chunk, [DONE].</summary>
    public static IEnumerable<SseEvent> ChatStream(string model, IEnumerable<string> pieces, int promptTokens = 10, int completionTokens = 5, string id = "chatcmpl-fake")
    {
        JsonObject Chunk(JsonObject delta, string? finish) => new()
        {
            ["id"] = id,
            ["object"] = "chat.completion.chunk",
            ["created"] = 1_700_000_000,
            ["model"] = model,
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finish }),
        };
        yield return new SseEvent(Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null).ToJsonString());
        foreach (var piece in pieces)
        {
            yield return new SseEvent(Chunk(new JsonObject { ["content"] = piece }, null).ToJsonString());
        }
        yield return new SseEvent(Chunk(new JsonObject(), "stop").ToJsonString());
        var usage = Chunk(new JsonObject(), null);
        usage["choices"] = new JsonArray();
        usage["usage"] = Usage(promptTokens, completionTokens);
        yield return new SseEvent(usage.ToJsonString());
        yield return new SseEvent("[DONE]");
    }

    public static string Error(string message, string type = "server_error", string? code = null) =>
        new JsonObject { ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["code"] = code } }.ToJsonString();

    private static JsonObject Usage(int prompt, int completion) => new()
    {
        ["prompt_tokens"] = prompt,
        ["completion_tokens"] = completion,
        ["total_tokens"] = prompt + completion,
    };
}

/// <summary>Anthropic Messages bodies and stream events, as the API sends them.</summary>
public static class AnthropicShapes
{
    public static string Message(string model, string text, int inputTokens = 10, int outputTokens = 5, string id = "msg_fake") =>
        new JsonObject
        {
            ["id"] = id,
            ["type"] = "message",
            ["role"] = "assistant",
            ["model"] = model,
            ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = text }),
            ["stop_reason"] = "end_turn",
            ["stop_sequence"] = null,
            ["usage"] = new JsonObject { ["input_tokens"] = inputTokens, ["output_tokens"] = outputTokens },
        }.ToJsonString();

    public static IEnumerable<SseEvent> MessageStream(string model, IEnumerable<string> pieces, int inputTokens = 10, int outputTokens = 5, string id = "msg_fake")
    {
        yield return new SseEvent(new JsonObject
        {
            ["type"] = "message_start",
            ["message"] = new JsonObject
            {
                ["id"] = id, ["type"] = "message", ["role"] = "assistant", ["model"] = model,
                ["content"] = new JsonArray(), ["stop_reason"] = null, ["stop_sequence"] = null,
                ["usage"] = new JsonObject { ["input_tokens"] = inputTokens, ["output_tokens"] = 1 },
            },
        }.ToJsonString(), "message_start");
        yield return new SseEvent(new JsonObject
        {
            ["type"] = "content_block_start", ["index"] = 0,
            ["content_block"] = new JsonObject { ["type"] = "text", ["text"] = "" },
        }.ToJsonString(), "content_block_start");
        foreach (var piece in pieces)
        {
            yield return new SseEvent(new JsonObject
            {
                ["type"] = "content_block_delta", ["index"] = 0,
                ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = piece },
            }.ToJsonString(), "content_block_delta");
        }
        yield return new SseEvent(new JsonObject { ["type"] = "content_block_stop", ["index"] = 0 }.ToJsonString(), "content_block_stop");
        yield return new SseEvent(new JsonObject
        {
            ["type"] = "message_delta",
            ["delta"] = new JsonObject { ["stop_reason"] = "end_turn", ["stop_sequence"] = null },
            ["usage"] = new JsonObject { ["output_tokens"] = outputTokens },
        }.ToJsonString(), "message_delta");
        yield return new SseEvent(new JsonObject { ["type"] = "message_stop" }.ToJsonString(), "message_stop");
    }

    public static string Error(string message, string type = "api_error") =>
        new JsonObject { ["type"] = "error", ["error"] = new JsonObject { ["type"] = type, ["message"] = message } }.ToJsonString();
}
