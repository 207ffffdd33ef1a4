using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace ThinkWatch.AiGateway.Streaming;

/// <summary>One message of the AWS event-stream encoding: string headers and a payload.</summary>
public sealed record EventStreamMessage(IReadOnlyDictionary<string, string> Headers, byte[] Payload)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>
/// AWS event-stream framing (application/vnd.amazon.eventstream), as Bedrock streams answers:
/// total length, headers length, prelude CRC32, headers, payload, message CRC32 — all big-endian.
/// </summary>
public static class EventStream
{
    private const int PreludeLength = 12;
    private const int MaxMessageLength = 16 * 1024 * 1024;

    /// <summary>Cuts the next whole message off <paramref name="buffer"/>; a corrupt frame throws <see cref="InvalidDataException"/>.</summary>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, out EventStreamMessage message)
    {
        message = null!;
        if (buffer.Length < PreludeLength)
        {
            return false;
        }
        Span<byte> prelude = stackalloc byte[PreludeLength];
        buffer.Slice(0, PreludeLength).CopyTo(prelude);
        var total = BinaryPrimitives.ReadInt32BigEndian(prelude);
        var headersLength = BinaryPrimitives.ReadInt32BigEndian(prelude[4..]);
        if (Crc32.HashToUInt32(prelude[..8]) != BinaryPrimitives.ReadUInt32BigEndian(prelude[8..]))
        {
            throw new InvalidDataException("An event-stream prelude failed its checksum.");
        }
        if (total < PreludeLength + 4 || total > MaxMessageLength || headersLength < 0 || headersLength > total - PreludeLength - 4)
        {
            throw new InvalidDataException("An event-stream message has impossible lengths.");
        }
        if (buffer.Length < total)
        {
            return false;
        }
        var bytes = buffer.Slice(0, total).ToArray();
        if (Crc32.HashToUInt32(bytes.AsSpan(0, total - 4)) != BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(total - 4)))
        {
            throw new InvalidDataException("An event-stream message failed its checksum.");
        }
        message = new EventStreamMessage(ReadHeaders(bytes.AsSpan(PreludeLength, headersLength)), bytes[(PreludeLength + headersLength)..(total - 4)]);
        buffer = buffer.Slice(total);
        return true;
    }

    private static Dictionary<string, string> ReadHeaders(ReadOnlySpan<byte> span)
    {
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        while (span.Length > 0)
        {
            var name = Encoding.UTF8.GetString(span.Slice(1, span[0]));
            span = span[(1 + span[0])..];
            var type = span[0];
            span = span[1..];
            switch (type)
            {
                case 0 or 1: // true, false
                    headers[name] = type == 0 ? "true" : "false";
                    break;
                case 2: // byte
                    span = span[1..];
                    break;
                case 3: // short
                    span = span[2..];
                    break;
                case 4: // int
                    span = span[4..];
                    break;
                case 5 or 8: // long, timestamp
                    span = span[8..];
                    break;
                case 6 or 7: // bytes, string
                    var length = BinaryPrimitives.ReadUInt16BigEndian(span);
                    if (type == 7)
                    {
                        headers[name] = Encoding.UTF8.GetString(span.Slice(2, length));
                    }
                    span = span[(2 + length)..];
                    break;
                case 9: // uuid
                    span = span[16..];
                    break;
                default:
                    throw new InvalidDataException($"An event-stream header has the unknown type {type}.");
            }
        }
        return headers;
    }
}
