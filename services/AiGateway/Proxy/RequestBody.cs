using System.Buffers;
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

    public static JsonObject ParseObject(byte[] body)
    {
        if (body.Length == 0)
        {
            throw GatewayException.Invalid("The request body is empty; send a JSON object.");
        }
        try
        {
            return JsonNode.Parse(body) as JsonObject ?? throw GatewayException.Invalid("The request body must be a JSON object.");
        }
        catch (JsonException ex)
        {
            throw GatewayException.Invalid($"The request body is not valid JSON: {ex.Message}");
        }
    }

    private static GatewayException TooLarge(long limit) =>
        new(new GatewayError(ErrorKind.RequestTooLarge, $"The request body exceeds the gateway's limit of {limit} bytes."));
}
