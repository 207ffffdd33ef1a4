using System.Buffers;
using System.Text;
using System.Text.Json.Nodes;
using ThinkWatch.AiGateway.Conversion;

namespace ThinkWatch.AiGateway.Streaming;

/// <summary>
/// ConverseStream over event-stream framing: messageStart, contentBlockStart (tool use only),
/// contentBlockDelta, contentBlockStop, messageStop, then metadata with the usage, which ends it.
/// </summary>
public sealed class BedrockDecoder : StreamDecoder
{
    private readonly HashSet<int> _open = [];
    private bool _stopped, _completed;

    public override bool TryRead(ref ReadOnlySequence<byte> buffer, List<StreamEvent> output)
    {
        if (!EventStream.TryRead(ref buffer, out var message))
        {
            return false;
        }
        var payload = Encoding.UTF8.GetString(message.Payload);
        if (message.Header(":message-type") is "exception" or "error")
        {
            var type = message.Header(":exception-type") ?? message.Header(":error-code") ?? "api_error";
            var text = JsonNode.Parse(payload) is JsonObject o ? (string?)o["message"] ?? (string?)o["Message"] : null;
            output.Add(new StreamFailed(type, text ?? message.Header(":error-message") ?? "The upstream failed mid-stream."));
            return true;
        }
        Decode(message.Header(":event-type"), payload, output);
        return true;
    }

    public override void Decode(string? eventName, string data, List<StreamEvent> output)
    {
        if (JsonNode.Parse(data) is not JsonObject e)
        {
            return;
        }
        var index = (int?)e["contentBlockIndex"] ?? 0;
        var toolStart = e["start"]?["toolUse"] as JsonObject;
        switch (eventName)
        {
            case "messageStart":
                output.Add(new StreamStarted(Guid.NewGuid().ToString("N"), "", null));
                break;
            case "contentBlockStart" when toolStart is not null:
                _open.Add(index);
                output.Add(new BlockStarted(index, new ToolCallPart((string?)toolStart["toolUseId"] ?? "", (string?)toolStart["name"] ?? "", "")));
                break;
            case "contentBlockDelta":
                var delta = e["delta"] as JsonObject ?? [];
                var (block, kind, value) = delta switch
                {
                    _ when (string?)delta["text"] is { } text => ((Part)new TextPart(""), DeltaKind.Text, text),
                    _ when delta["toolUse"] is JsonObject use => (new ToolCallPart("", "", ""), DeltaKind.ToolArguments, (string?)use["input"] ?? ""),
                    _ when delta["reasoningContent"] is JsonObject r && (string?)r["text"] is { } thought => (new ThinkingPart("", null), DeltaKind.Thinking, thought),
                    _ when delta["reasoningContent"] is JsonObject r && (string?)r["signature"] is { } signature => (new ThinkingPart("", null), DeltaKind.Signature, signature),
                    _ when delta["reasoningContent"] is JsonObject r && (string?)r["redactedContent"] is { } redacted => (new ThinkingPart("", null, redacted), DeltaKind.Thinking, ""),
                    _ => (null, DeltaKind.Text, ""),
                };
                if (block is null)
                {
                    break;
                }
                if (_open.Add(index))
                {
                    output.Add(new BlockStarted(index, block));
                }
                if (value.Length > 0)
                {
                    output.Add(new BlockDelta(index, kind, value));
                }
                break;
            case "contentBlockStop":
                if (_open.Remove(index))
                {
                    output.Add(new BlockStopped(index));
                }
                break;
            case "messageStop":
                _stopped = true;
                output.Add(new StreamFinished(BedrockConverse.StopFrom((string?)e["stopReason"]), null));
                break;
            case "metadata":
                if (BedrockConverse.UsageFrom(e["usage"] as JsonObject) is { } usage)
                {
                    output.Add(new UsageReported(usage));
                }
                Complete(output);
                break;
        }
    }

    public override void EndOfStream(List<StreamEvent> output)
    {
        if (_stopped)
        {
            Complete(output);
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
}
