using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ThinkWatch.AiGateway.Conversion;

/// <summary>
/// How the gateway writes JSON to clients and upstreams: as the providers do, without escaping
/// non-ASCII text or quotes into \u sequences (bodies are JSON, never embedded in HTML).
/// </summary>
public static class JsonWire
{
    public static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Bytes(JsonNode node) => JsonSerializer.SerializeToUtf8Bytes(node, Options);
}
