namespace ThinkWatch.McpGateway.Mcp;

/// <summary>Refusals /mcp answers before the SDK sees the request, as JSON-RPC errors an MCP client can show.</summary>
public static class JsonRpcErrors
{
    /// <summary>-32001: no usable credentials, or no such session (the code the SDK uses for the latter too).</summary>
    public const int Unauthorized = -32001;
    public const int Forbidden = -32000;

    public static IResult Result(int status, int code, string message) => Results.Json(Body(code, message), statusCode: status);

    public static object Body(int code, string message) => new { jsonrpc = "2.0", id = (object?)null, error = new { code, message } };
}
