using System.Buffers;
using System.Text.Json;

namespace ThinkWatch.AiGateway.Streaming;

/// <summary>
/// Puts the model name the client asked for into a forwarded event whose upstream names its own
/// (an alias routed to another model): clients expect the name they sent back. The first
/// <c>"model":"…"</c> of the event is replaced; a quote inside a JSON string is escaped, so the
/// marker cannot match message text.
/// </summary>
public static class ModelName
{
    private static ReadOnlySpan<byte> Marker => "\"model\":"u8;

    /// <summary>Writes <paramref name="json"/> to <paramref name="output"/> with its model renamed; false (nothing written) when it names none.</summary>
    public static bool TryWriteRenamed(ReadOnlySpan<byte> json, JsonEncodedText clientModel, IBufferWriter<byte> output)
    {
        var at = json.IndexOf(Marker);
        if (at < 0)
        {
            return false;
        }
        var start = at + Marker.Length;
        while (start < json.Length && json[start] is (byte)' ' or (byte)'\t')
        {
            start++;
        }
        if (start >= json.Length || json[start] != '"' || EndOfString(json, start + 1) is not (>= 0 and var end))
        {
            return false;
        }
        output.Write(json[..(start + 1)]);
        output.Write(clientModel.EncodedUtf8Bytes);
        output.Write(json[end..]);
        return true;
    }

    /// <summary>The index of the quote that closes a JSON string whose text starts at <paramref name="from"/>, or -1.</summary>
    private static int EndOfString(ReadOnlySpan<byte> json, int from)
    {
        for (var i = from; i < json.Length; i++)
        {
            if (json[i] == '\\')
            {
                i++;
            }
            else if (json[i] == '"')
            {
                return i;
            }
        }
        return -1;
    }
}
