using System.Buffers;
using System.Text.Unicode;
using System.Text.Json;
using System.Text.Json.Nodes;
using ThinkWatch.AiGateway.Conversion;

namespace ThinkWatch.AiGateway.Proxy;

/// <summary>Reads a client's JSON body within the configured limit.</summary>
public static class RequestBody
{
    public static async Task<byte[]> ReadAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            throw TooLarge(limit);
        }
        var reader = request.BodyReader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken);
                if (result.Buffer.Length > limit)
                {
                    reader.AdvanceTo(result.Buffer.End);
                    throw TooLarge(limit);
                }
                if (result.IsCompleted)
                {
                    var bytes = result.Buffer.ToArray();
                    reader.AdvanceTo(result.Buffer.End);
                    return bytes;
                }
                reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(limit);
        }
    }

    // Duplicate names are refused: the gateway and the upstream must never read different values of
    // the same field (System.Text.Json keeps the last, other parsers the first).
    private static readonly JsonDocumentOptions Strict = new() { AllowDuplicateProperties = false };

    public static JsonObject ParseObject(byte[] body)
    {
        if (body.Length == 0)
        {
            throw GatewayException.Invalid("The request body is empty; send a JSON object.");
        }
        if (!Utf8.IsValid(body))
        {
            throw GatewayException.Invalid($"The request body is not valid UTF-8 (first bad byte at offset {FirstInvalidUtf8(body)}); JSON must be UTF-8.");
        }
        try
        {
            var parsed = JsonNode.Parse(body, documentOptions: Strict) as JsonObject ?? throw GatewayException.Invalid("The request body must be a JSON object.");
            RefuseLoneSurrogates(body);
            return parsed;
        }
        catch (JsonException ex)
        {
            throw GatewayException.Invalid($"The request body is not valid JSON: {ex.Message}");
        }
    }

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        var status = Utf8.ToUtf16(bytes, new char[bytes.Length], out var read, out _, replaceInvalidSequences: false);
        return status == OperationStatus.InvalidData ? read : bytes.Length;
    }

    /// <summary>
    /// An escaped lone surrogate (<c>"\ud800"</c>) is valid JSON syntax but no text: reading it fails
    /// later, deep in a conversion. Only bodies with a surrogate escape are read through.
    /// </summary>
    private static void RefuseLoneSurrogates(ReadOnlySpan<byte> body)
    {
        if (body.IndexOf("\\ud"u8) < 0 && body.IndexOf("\\uD"u8) < 0)
        {
            return;
        }
        var reader = new Utf8JsonReader(body);
        while (reader.Read())
        {
            if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped)
            {
                try
                {
                    reader.GetString();
                }
                catch (InvalidOperationException)
                {
                    throw GatewayException.Invalid($"The request body has a string with an unpaired UTF-16 surrogate escape at byte {reader.TokenStartIndex}; it encodes no text.");
                }
            }
        }
    }

    private static GatewayException TooLarge(long limit) =>
        new(new GatewayError(ErrorKind.RequestTooLarge, $"The request body exceeds the gateway's limit of {limit} bytes."));
}
