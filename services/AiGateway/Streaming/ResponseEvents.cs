using ThinkWatch.AiGateway.Conversion;

namespace ThinkWatch.AiGateway.Streaming;

/// <summary>
/// A whole answer as the stream events that would have carried it, so any client encoder can
/// replay it as a stream in its API's event sequence (an upstream that answered a streaming
/// request with plain JSON).
/// </summary>
public static class ResponseEvents
{
    public static IEnumerable<StreamEvent> Of(ChatResponse response)
    {
        yield return new StreamStarted(response.Id, response.Model, response.Usage with { Output = 0 });
        for (var index = 0; index < response.Content.Count; index++)
        {
            switch (response.Content[index])
            {
                case TextPart text:
                    yield return new BlockStarted(index, new TextPart(""));
                    yield return new BlockDelta(index, DeltaKind.Text, text.Text);
                    break;
                case ToolCallPart call:
                    yield return new BlockStarted(index, call with { Arguments = "" });
                    yield return new BlockDelta(index, DeltaKind.ToolArguments, call.Arguments);
                    break;
                case ThinkingPart { Redacted: not null } redacted:
                    yield return new BlockStarted(index, redacted);
                    break;
                case ThinkingPart thinking:
                    yield return new BlockStarted(index, new ThinkingPart("", null));
                    yield return new BlockDelta(index, DeltaKind.Thinking, thinking.Text);
                    if (thinking.Signature is { Length: > 0 } signature)
                    {
                        yield return new BlockDelta(index, DeltaKind.Signature, signature);
                    }
                    break;
                case var other:
                    throw new GatewayException(new GatewayError(ErrorKind.Api, $"The upstream answered with a {other.GetType().Name}, which cannot be streamed."));
            }
            yield return new BlockStopped(index);
        }
        yield return new StreamFinished(response.StopReason, response.StopSequence);
        yield return new UsageReported(response.Usage);
        yield return StreamCompleted.Instance;
    }
}
