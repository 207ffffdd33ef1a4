using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ThinkWatch.AiGateway.Conversion;

namespace ThinkWatch.AiGateway.Streaming;

/// <summary>
/// Canonical stream events as OpenAI Responses streaming events: each block becomes an output
/// item (added, deltas, done) and the stream ends with response.completed carrying every item and the usage.
/// </summary>
public sealed class OpenAiResponsesEncoder(string model, long created) : StreamEncoder
{
    private sealed class Item(int outputIndex, string id, Part start)
    {
        public int OutputIndex { get; } = outputIndex;
        public string Id { get; } = id;
        public Part Start { get; } = start;
        public StringBuilder Text { get; } = new();
        public StringBuilder Signature { get; } = new();

        public Part Finished() => Start switch
        {
            ToolCallPart call => call with { Arguments = Text.ToString() },
            ThinkingPart { Redacted: { } } redacted => redacted,
            ThinkingPart => new ThinkingPart(Text.ToString(), Signature.Length > 0 ? Signature.ToString() : null),
            _ => new TextPart(Text.ToString()),
        };
    }

    private readonly Utf8JsonWriter _json = new(new ArrayBufferWriter<byte>(1), JsonWire.WriterOptions);
    private readonly Dictionary<int, Item> _open = [];
    private readonly JsonArray _done = [];
    private string _id = "gateway";
    private int _sequence, _items;
    private StopReason _stop = StopReason.EndTurn;
    private Usage _usage = Usage.None;

    public override void Encode(StreamEvent e, IBufferWriter<byte> output)
    {
        switch (e)
        {
            case StreamStarted started:
                _id = OpenAiResponses.ResponseId(started.Id);
                Write(output, "response.created", new JsonObject { ["response"] = Response(null) });
                Write(output, "response.in_progress", new JsonObject { ["response"] = Response(null) });
                break;
            case BlockStarted started:
                var opened = _open[started.Index] = new Item(_items, OpenAiResponses.ItemId(started.Block, _id, _items), started.Block);
                _items++;
                Write(output, "response.output_item.added", new JsonObject
                {
                    ["output_index"] = opened.OutputIndex,
                    ["item"] = OpenAiResponses.OutputItem(started.Block, opened.Id, done: false),
                });
                if (started.Block is TextPart)
                {
                    Write(output, "response.content_part.added", Part(opened, OpenAiResponses.TextContent("")));
                }
                else if (started.Block is ThinkingPart { Redacted: null })
                {
                    Write(output, "response.reasoning_summary_part.added", Summary(opened, new JsonObject { ["part"] = OpenAiResponses.SummaryText("") }));
                }
                break;
            case BlockDelta delta when _open.TryGetValue(delta.Index, out var open):
                if (delta.Kind == DeltaKind.Signature)
                {
                    open.Signature.Append(delta.Value);
                    break;
                }
                open.Text.Append(delta.Value);
                switch (delta.Kind)
                {
                    case DeltaKind.Text:
                        var d = Part(open, null);
                        d["delta"] = delta.Value;
                        d["logprobs"] = new JsonArray();
                        Write(output, "response.output_text.delta", d);
                        break;
                    case DeltaKind.ToolArguments:
                        Write(output, "response.function_call_arguments.delta", new JsonObject { ["item_id"] = open.Id, ["output_index"] = open.OutputIndex, ["delta"] = delta.Value });
                        break;
                    case DeltaKind.Thinking:
                        Write(output, "response.reasoning_summary_text.delta", Summary(open, new JsonObject { ["delta"] = delta.Value }));
                        break;
                }
                break;
            case BlockStopped stopped when _open.Remove(stopped.Index, out var closing):
                var part = closing.Finished();
                switch (part)
                {
                    case TextPart text:
                        var done = Part(closing, null);
                        done["text"] = text.Text;
                        done["logprobs"] = new JsonArray();
                        Write(output, "response.output_text.done", done);
                        Write(output, "response.content_part.done", Part(closing, OpenAiResponses.TextContent(text.Text)));
                        break;
                    case ToolCallPart call:
                        Write(output, "response.function_call_arguments.done", new JsonObject { ["item_id"] = closing.Id, ["output_index"] = closing.OutputIndex, ["arguments"] = call.Arguments });
                        break;
                    case ThinkingPart { Redacted: null } thinking:
                        Write(output, "response.reasoning_summary_text.done", Summary(closing, new JsonObject { ["text"] = thinking.Text }));
                        Write(output, "response.reasoning_summary_part.done", Summary(closing, new JsonObject { ["part"] = OpenAiResponses.SummaryText(thinking.Text) }));
                        break;
                }
                var item = OpenAiResponses.OutputItem(part, closing.Id);
                _done.Add(item.DeepClone());
                Write(output, "response.output_item.done", new JsonObject { ["output_index"] = closing.OutputIndex, ["item"] = item });
                break;
            case StreamFinished finished:
                _stop = finished.Reason;
                break;
            case UsageReported reported:
                _usage = reported.Usage;
                break;
            case StreamCompleted:
                var response = Response(_stop);
                Write(output, (string)response["status"]! == "completed" ? "response.completed" : "response.incomplete", new JsonObject { ["response"] = response });
                break;
            case StreamFailed failed:
                Write(output, "error", new JsonObject { ["code"] = failed.Type, ["message"] = failed.Message, ["param"] = null });
                break;
        }
    }

    private JsonObject Response(StopReason? stop) =>
        OpenAiResponses.ResponseObject(_id, model, created, stop, stop is null ? [] : (JsonArray)_done.DeepClone(), stop is null ? null : _usage);

    private static JsonObject Part(Item item, JsonObject? part)
    {
        var o = new JsonObject { ["item_id"] = item.Id, ["output_index"] = item.OutputIndex, ["content_index"] = 0 };
        if (part is not null)
        {
            o["part"] = part;
        }
        return o;
    }

    private static JsonObject Summary(Item item, JsonObject fields) =>
        Sse.Prefixed(new JsonObject { ["item_id"] = item.Id, ["output_index"] = item.OutputIndex, ["summary_index"] = 0 }, fields);

    private void Write(IBufferWriter<byte> output, string type, JsonObject data) => Sse.WriteTyped(output, type, data, _json, _sequence++);
}
