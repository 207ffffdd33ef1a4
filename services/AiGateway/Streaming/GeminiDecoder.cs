using System.Text.Json.Nodes;
using ThinkWatch.AiGateway.Conversion;

namespace ThinkWatch.AiGateway.Streaming;

/// <summary>
/// streamGenerateContent?alt=sse: each event is a whole GenerateContentResponse holding the next
/// parts. Text and thoughts arrive in pieces, function calls whole; usageMetadata is cumulative.
/// The stream has no end marker: it is whole if a finishReason came before the connection closed.
/// </summary>
public sealed class GeminiDecoder : StreamDecoder
{
    private readonly BlockTracker _blocks = new();
    private int _text = -1, _thinking = -1;
    private bool _started, _finished, _calledTools, _completed;

    public override void Decode(string? eventName, string data, List<StreamEvent> output)
    {
        if (JsonNode.Parse(data) is not JsonObject chunk)
        {
            return;
        }
        if (chunk["error"] is JsonObject error)
        {
            output.Add(new StreamFailed((string?)error["status"] ?? "api_error", (string?)error["message"] ?? "The upstream failed mid-stream."));
            return;
        }
        if (!_started)
        {
            _started = true;
            output.Add(new StreamStarted((string?)chunk["responseId"] ?? Guid.NewGuid().ToString("N"), (string?)chunk["modelVersion"] ?? "", null));
        }
        var candidate = (chunk["candidates"] as JsonArray)?.FirstOrDefault() as JsonObject;
        foreach (var part in (candidate?["content"]?["parts"] as JsonArray ?? []).OfType<JsonObject>())
        {
            foreach (var p in Gemini.PartsOf(part))
            {
                switch (p)
                {
                    case ThinkingPart thinking:
                        _blocks.Append(ref _thinking, new ThinkingPart("", null), DeltaKind.Thinking, thinking.Text, output);
                        if (thinking.Signature is { } signature)
                        {
                            output.Add(new BlockDelta(_thinking, DeltaKind.Signature, signature));
                        }
                        break;
                    case TextPart text when text.Text.Length > 0:
                        _blocks.Append(ref _text, new TextPart(""), DeltaKind.Text, text.Text, output);
                        break;
                    case ToolCallPart call:
                        _calledTools = true;
                        var index = _blocks.Open(call with { Arguments = "" }, output);
                        output.Add(new BlockDelta(index, DeltaKind.ToolArguments, call.Arguments));
                        break;
                }
            }
        }
        if (Gemini.UsageFrom(chunk["usageMetadata"] as JsonObject) is { } usage)
        {
            output.Add(new UsageReported(usage));
        }
        if ((string?)candidate?["finishReason"] is { } finish)
        {
            _finished = true;
            _blocks.CloseAll(output);
            output.Add(new StreamFinished(Gemini.StopFrom(finish, _calledTools), null));
        }
    }

    public override void EndOfStream(List<StreamEvent> output)
    {
        if (_finished && !_completed)
        {
            _completed = true;
            output.Add(StreamCompleted.Instance);
        }
    }
}
