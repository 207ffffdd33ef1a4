using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using ThinkWatch.AiGateway.Conversion;

namespace ThinkWatch.AiGateway.Streaming;

/// <summary>Turns an upstream's stream events into canonical ones.</summary>
public abstract class StreamDecoder
{
    /// <summary>Cuts the next whole message off <paramref name="buffer"/> and decodes it; false when none is whole yet. Server-sent events unless overridden.</summary>
    public virtual bool TryRead(ref ReadOnlySequence<byte> buffer, List<StreamEvent> output)
    {
        if (!Sse.TryReadEvent(ref buffer, out var raw))
        {
            return false;
        }
        var (name, data) = Sse.Parse(raw);
        Decode(name, data, output);
        return true;
    }

    public abstract void Decode(string? eventName, string data, List<StreamEvent> output);

    /// <summary>The connection closed: formats without an end marker complete here if the answer was whole.</summary>
    public virtual void EndOfStream(List<StreamEvent> output)
    {
    }
}

/// <summary>Writes canonical stream events in a client's format.</summary>
public abstract class StreamEncoder
{
    public abstract void Encode(StreamEvent e, IBufferWriter<byte> output);
}

/// <summary>Keeps the canonical block numbering for decoders whose upstream numbers blocks its own way.</summary>
internal sealed class BlockTracker
{
    private readonly List<int> _open = [];
    private int _next;

    public int Open(Part block, List<StreamEvent> output)
    {
        CloseAll(output);
        var index = _next++;
        _open.Add(index);
        output.Add(new BlockStarted(index, block));
        return index;
    }

    public void CloseAll(List<StreamEvent> output)
    {
        foreach (var index in _open)
        {
            output.Add(new BlockStopped(index));
        }
        _open.Clear();
    }

    public bool IsOpen(int index) => _open.Contains(index);

    /// <summary>
    /// Appends to the block of kind <paramref name="empty"/> kept in <paramref name="slot"/>, opening a new one
    /// (and closing the others) unless it is still open; returns the block's index.
    /// </summary>
    public int Append(ref int slot, Part empty, DeltaKind kind, string value, List<StreamEvent> output)
    {
        if (!IsOpen(slot))
        {
            slot = Open(empty, output);
        }
        if (value.Length > 0)
        {
            output.Add(new BlockDelta(slot, kind, value));
        }
        return slot;
    }
}

public sealed class OpenAiChatDecoder : StreamDecoder
{
    private readonly BlockTracker _blocks = new();
    private readonly Dictionary<int, int> _tools = [];
    private int _text = -1, _thinking = -1;
    private bool _started, _completed;

    public override void Decode(string? eventName, string data, List<StreamEvent> output)
    {
        if (data == "[DONE]")
        {
            Complete(output);
            return;
        }
        if (JsonNode.Parse(data) is not JsonObject chunk)
        {
            return;
        }
        if (chunk["error"] is JsonObject error)
        {
            output.Add(new StreamFailed((string?)error["type"] ?? "api_error", (string?)error["message"] ?? "The upstream failed mid-stream."));
            return;
        }
        if (!_started)
        {
            _started = true;
            output.Add(new StreamStarted((string?)chunk["id"] ?? "", (string?)chunk["model"] ?? "", null));
        }
        if ((chunk["choices"] as JsonArray)?.FirstOrDefault() is JsonObject choice)
        {
            var delta = choice["delta"] as JsonObject ?? [];
            if ((string?)delta["reasoning_content"] is { Length: > 0 } reasoning)
            {
                _blocks.Append(ref _thinking, new ThinkingPart("", null), DeltaKind.Thinking, reasoning, output);
            }
            if ((string?)delta["content"] is { Length: > 0 } text)
            {
                _blocks.Append(ref _text, new TextPart(""), DeltaKind.Text, text, output);
            }
            foreach (var call in (delta["tool_calls"] as JsonArray ?? []).OfType<JsonObject>())
            {
                var upstreamIndex = (int?)call["index"] ?? 0;
                var fn = call["function"] as JsonObject ?? [];
                if (!_tools.TryGetValue(upstreamIndex, out var index))
                {
                    index = _tools[upstreamIndex] = _blocks.Open(new ToolCallPart((string?)call["id"] ?? "", (string?)fn["name"] ?? "", ""), output);
                }
                if ((string?)fn["arguments"] is { Length: > 0 } arguments)
                {
                    output.Add(new BlockDelta(index, DeltaKind.ToolArguments, arguments));
                }
            }
            if ((string?)choice["finish_reason"] is { } finish)
            {
                _blocks.CloseAll(output);
                output.Add(new StreamFinished(OpenAiChat.StopFrom(finish), null));
            }
        }
        if (OpenAiChat.UsageFrom(chunk["usage"] as JsonObject) is { } usage)
        {
            output.Add(new UsageReported(usage));
        }
    }

    private void Complete(List<StreamEvent> output)
    {
        if (!_completed)
        {
            _completed = true;
            _blocks.CloseAll(output);
            output.Add(StreamCompleted.Instance);
        }
    }
}

public sealed class AnthropicDecoder : StreamDecoder
{
    private Usage _usage = Usage.None;
    private bool _completed;

    public override void Decode(string? eventName, string data, List<StreamEvent> output)
    {
        if (JsonNode.Parse(data) is not JsonObject e)
        {
            return;
        }
        switch ((string?)e["type"])
        {
            case "message_start":
                var message = e["message"] as JsonObject ?? [];
                _usage = Merge(_usage, message["usage"] as JsonObject);
                output.Add(new StreamStarted((string?)message["id"] ?? "", (string?)message["model"] ?? "", _usage));
                output.Add(new UsageReported(_usage));
                break;
            case "content_block_start":
                var index = (int?)e["index"] ?? 0;
                var block = e["content_block"] as JsonObject ?? [];
                output.Add(new BlockStarted(index, (string?)block["type"] switch
                {
                    "text" => new TextPart(""),
                    "tool_use" => new ToolCallPart((string?)block["id"] ?? "", (string?)block["name"] ?? "", ""),
                    "thinking" => new ThinkingPart("", null),
                    "redacted_thinking" => new ThinkingPart("", null, (string?)block["data"]),
                    var type => throw new GatewayException(new GatewayError(ErrorKind.Api, $"The upstream streamed a '{type}' block, which the client's format cannot carry.")),
                }));
                if ((string?)block["text"] is { Length: > 0 } initial)
                {
                    output.Add(new BlockDelta(index, DeltaKind.Text, initial));
                }
                break;
            case "content_block_delta":
                var delta = e["delta"] as JsonObject ?? [];
                var (kind, value) = (string?)delta["type"] switch
                {
                    "text_delta" => (DeltaKind.Text, (string?)delta["text"]),
                    "input_json_delta" => (DeltaKind.ToolArguments, (string?)delta["partial_json"]),
                    "thinking_delta" => (DeltaKind.Thinking, (string?)delta["thinking"]),
                    "signature_delta" => (DeltaKind.Signature, (string?)delta["signature"]),
                    _ => (DeltaKind.Text, null),
                };
                if (!string.IsNullOrEmpty(value))
                {
                    output.Add(new BlockDelta((int?)e["index"] ?? 0, kind, value));
                }
                break;
            case "content_block_stop":
                output.Add(new BlockStopped((int?)e["index"] ?? 0));
                break;
            case "message_delta":
                var d = e["delta"] as JsonObject ?? [];
                output.Add(new StreamFinished(AnthropicMessages.StopFrom((string?)d["stop_reason"]), (string?)d["stop_sequence"]));
                _usage = Merge(_usage, e["usage"] as JsonObject);
                output.Add(new UsageReported(_usage));
                break;
            case "message_stop":
                Complete(output);
                break;
            case "error":
                var error = e["error"] as JsonObject ?? [];
                output.Add(new StreamFailed((string?)error["type"] ?? "api_error", (string?)error["message"] ?? "The upstream failed mid-stream."));
                break;
        }
    }

    private void Complete(List<StreamEvent> output)
    {
        if (!_completed)
        {
            _completed = true;
            output.Add(StreamCompleted.Instance);
        }
    }

    /// <summary>Anthropic reports usage in pieces (input at the start, output at the end): later fields replace earlier ones.</summary>
    private static Usage Merge(Usage current, JsonObject? usage) => usage is null ? current : new Usage(
        (long?)usage["input_tokens"] ?? current.Input,
        (long?)usage["output_tokens"] ?? current.Output,
        (long?)usage["cache_read_input_tokens"] ?? current.CacheRead,
        (long?)usage["cache_creation_input_tokens"] ?? current.CacheWrite);
}

public sealed class OpenAiChatEncoder(string model, long created, bool includeUsage) : StreamEncoder
{
    private readonly Dictionary<int, int> _tools = [];
    private readonly Utf8JsonWriter _json = new(new ArrayBufferWriter<byte>(1), JsonWire.WriterOptions);
    private string _id = "chatcmpl-gateway";
    private Usage _usage = Usage.None;

    public override void Encode(StreamEvent e, IBufferWriter<byte> output)
    {
        switch (e)
        {
            case StreamStarted started:
                _id = started.Id.StartsWith("chatcmpl-", StringComparison.Ordinal) ? started.Id : "chatcmpl-" + started.Id;
                Chunk(output, new JsonObject { ["role"] = "assistant", ["content"] = "" });
                break;
            case BlockStarted { Block: ToolCallPart call } block:
                var toolIndex = _tools[block.Index] = _tools.Count;
                Chunk(output, new JsonObject
                {
                    ["tool_calls"] = new JsonArray(new JsonObject
                    {
                        ["index"] = toolIndex, ["id"] = call.Id, ["type"] = "function",
                        ["function"] = new JsonObject { ["name"] = call.Name, ["arguments"] = "" },
                    }),
                });
                break;
            case BlockDelta { Kind: DeltaKind.Text } text:
                Chunk(output, new JsonObject { ["content"] = text.Value });
                break;
            case BlockDelta { Kind: DeltaKind.Thinking } thinking:
                Chunk(output, new JsonObject { ["reasoning_content"] = thinking.Value });
                break;
            case BlockDelta { Kind: DeltaKind.ToolArguments } arguments when _tools.TryGetValue(arguments.Index, out var index):
                Chunk(output, new JsonObject
                {
                    ["tool_calls"] = new JsonArray(new JsonObject { ["index"] = index, ["function"] = new JsonObject { ["arguments"] = arguments.Value } }),
                });
                break;
            case StreamFinished finished:
                Chunk(output, [], OpenAiChat.FinishReason(finished.Reason));
                break;
            case UsageReported reported:
                _usage = reported.Usage;
                break;
            case StreamCompleted:
                if (includeUsage)
                {
                    var usage = Frame();
                    usage["choices"] = new JsonArray();
                    usage["usage"] = OpenAiChat.UsageJson(_usage);
                    Sse.Write(output, null, usage, _json);
                }
                Sse.WriteDone(output);
                break;
            case StreamFailed failed:
                Sse.Write(output, null, new JsonObject { ["error"] = new JsonObject { ["type"] = failed.Type, ["message"] = failed.Message } }, _json);
                break;
        }
    }

    private JsonObject Frame() => new()
    {
        ["id"] = _id,
        ["object"] = "chat.completion.chunk",
        ["created"] = created,
        ["model"] = model,
    };

    private void Chunk(IBufferWriter<byte> output, JsonObject delta, string? finishReason = null)
    {
        var chunk = Frame();
        chunk["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finishReason });
        Sse.Write(output, null, chunk, _json);
    }
}

public sealed class AnthropicEncoder(string model) : StreamEncoder
{
    private readonly Utf8JsonWriter _json = new(new ArrayBufferWriter<byte>(1), JsonWire.WriterOptions);
    private StreamFinished? _finished;
    private Usage _usage = Usage.None;

    public override void Encode(StreamEvent e, IBufferWriter<byte> output)
    {
        switch (e)
        {
            case StreamStarted started:
                _usage = started.Usage ?? _usage;
                Write(output, "message_start", new JsonObject
                {
                    ["message"] = new JsonObject
                    {
                        ["id"] = started.Id.StartsWith("msg_", StringComparison.Ordinal) ? started.Id : "msg_" + started.Id,
                        ["type"] = "message", ["role"] = "assistant", ["model"] = model, ["content"] = new JsonArray(),
                        ["stop_reason"] = null, ["stop_sequence"] = null, ["usage"] = AnthropicMessages.UsageJson(_usage),
                    },
                });
                break;
            case BlockStarted started:
                Write(output, "content_block_start", new JsonObject
                {
                    ["index"] = started.Index,
                    ["content_block"] = started.Block switch
                    {
                        ToolCallPart call => new JsonObject { ["type"] = "tool_use", ["id"] = call.Id, ["name"] = call.Name, ["input"] = new JsonObject() },
                        ThinkingPart { Redacted: { } data } => new JsonObject { ["type"] = "redacted_thinking", ["data"] = data },
                        ThinkingPart => new JsonObject { ["type"] = "thinking", ["thinking"] = "", ["signature"] = "" },
                        _ => new JsonObject { ["type"] = "text", ["text"] = "" },
                    },
                });
                break;
            case BlockDelta delta:
                Write(output, "content_block_delta", new JsonObject
                {
                    ["index"] = delta.Index,
                    ["delta"] = delta.Kind switch
                    {
                        DeltaKind.ToolArguments => new JsonObject { ["type"] = "input_json_delta", ["partial_json"] = delta.Value },
                        DeltaKind.Thinking => new JsonObject { ["type"] = "thinking_delta", ["thinking"] = delta.Value },
                        DeltaKind.Signature => new JsonObject { ["type"] = "signature_delta", ["signature"] = delta.Value },
                        _ => new JsonObject { ["type"] = "text_delta", ["text"] = delta.Value },
                    },
                });
                break;
            case BlockStopped stopped:
                Write(output, "content_block_stop", new JsonObject { ["index"] = stopped.Index });
                break;
            case StreamFinished finished:
                // Held back: an OpenAI upstream sends usage after its finish reason, and message_delta carries both.
                _finished = finished;
                break;
            case UsageReported reported:
                _usage = reported.Usage;
                break;
            case StreamCompleted:
                Write(output, "message_delta", new JsonObject
                {
                    ["delta"] = new JsonObject
                    {
                        ["stop_reason"] = AnthropicMessages.StopReasonName(_finished?.Reason ?? StopReason.EndTurn),
                        ["stop_sequence"] = _finished?.StopSequence,
                    },
                    ["usage"] = AnthropicMessages.UsageJson(_usage),
                });
                Write(output, "message_stop", []);
                break;
            case StreamFailed failed:
                Write(output, "error", new JsonObject { ["error"] = new JsonObject { ["type"] = failed.Type, ["message"] = failed.Message } });
                break;
        }
    }

    private void Write(IBufferWriter<byte> output, string type, JsonObject data) => Sse.WriteTyped(output, type, data, _json);
}
