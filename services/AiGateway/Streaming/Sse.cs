using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ThinkWatch.AiGateway.Streaming;

/// <summary>Server-sent event framing over pooled buffers: finding whole events, reading their fields, writing them.</summary>
public static class Sse
{
    /// <summary>Cuts the next whole event (up to and including its blank line) off the front of <paramref name="buffer"/>.</summary>
    public static bool TryReadEvent(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> rawEvent)
    {
        var reader = new SequenceReader<byte>(buffer);
        while (reader.TryAdvanceTo((byte)'\n', advancePastDelimiter: true))
        {
            // A blank line ends the event: "\n\n" or "\n\r\n".
            if (reader.IsNext((byte)'\n', advancePast: true) || reader.IsNext("\r\n"u8, advancePast: true))
            {
                rawEvent = buffer.Slice(0, reader.Position);
                buffer = buffer.Slice(reader.Position);
                return true;
            }
        }
        rawEvent = default;
        return false;
    }

    /// <summary>The event name and data (data lines joined by "\n") of one raw event.</summary>
    public static (string? Event, string Data) Parse(in ReadOnlySequence<byte> rawEvent)
    {
        var text = Encoding.UTF8.GetString(rawEvent);
        string? name = null;
        var data = new StringBuilder();
        foreach (var line in text.Split('\n'))
        {
            var l = line.TrimEnd('\r');
            if (l.StartsWith("data:", StringComparison.Ordinal))
            {
                if (data.Length > 0)
                {
                    data.Append('\n');
                }
                data.Append(l.AsSpan(l.Length > 5 && l[5] == ' ' ? 6 : 5));
            }
            else if (l.StartsWith("event:", StringComparison.Ordinal))
            {
                name = l[6..].Trim();
            }
        }
        return (name, data.ToString());
    }

    public static bool Contains(in ReadOnlySequence<byte> rawEvent, ReadOnlySpan<byte> marker)
    {
        if (rawEvent.IsSingleSegment)
        {
            return rawEvent.FirstSpan.IndexOf(marker) >= 0;
        }
        return rawEvent.ToArray().AsSpan().IndexOf(marker) >= 0;
    }

    public static void Write(IBufferWriter<byte> output, string? eventName, JsonNode data, Utf8JsonWriter json)
    {
        if (eventName is not null)
        {
            output.Write("event: "u8);
            Encoding.UTF8.GetBytes(eventName, output);
            output.Write("\n"u8);
        }
        output.Write("data: "u8);
        json.Reset(output);
        data.WriteTo(json);
        json.Flush();
        output.Write("\n\n"u8);
    }

    /// <summary>An event whose data starts with "type" (and "sequence_number" if given), then <paramref name="data"/>'s fields: Anthropic's and Responses' shape.</summary>
    public static void WriteTyped(IBufferWriter<byte> output, string type, JsonObject data, Utf8JsonWriter json, int? sequence = null)
    {
        var head = new JsonObject { ["type"] = type };
        if (sequence is { } n)
        {
            head["sequence_number"] = n;
        }
        Write(output, type, Prefixed(head, data), json);
    }

    /// <summary><paramref name="head"/> with <paramref name="fields"/> moved in after its own fields.</summary>
    public static JsonObject Prefixed(JsonObject head, JsonObject fields)
    {
        foreach (var (key, value) in fields.ToList())
        {
            fields.Remove(key);
            head[key] = value;
        }
        return head;
    }

    public static void WriteDone(IBufferWriter<byte> output) => output.Write("data: [DONE]\n\n"u8);
}
