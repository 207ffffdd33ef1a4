using Microsoft.Extensions.Options;
using ThinkWatch.AiGateway.Conversion;
using ThinkWatch.AiGateway.Proxy;
using Yarp.ReverseProxy.Forwarder;

namespace ThinkWatch.AiGateway.Apis;

/// <summary>
/// /mcp on the public port, forwarded unchanged to the MCP gateway with YARP's forwarder:
/// bodies stream both ways (server-sent events flush as they come), the client's headers —
/// its key included, the MCP gateway authenticates it — go along, and a client that leaves cancels the call.
/// </summary>
public static partial class McpForwardApi
{
    public static IServiceCollection AddMcpForwarding(this IServiceCollection services)
    {
        services.AddHttpForwarder();
        services.AddSingleton<McpForwarder>();
        return services;
    }

    public static IEndpointRouteBuilder MapMcpForward(this IEndpointRouteBuilder app)
    {
        app.Map("/mcp", (HttpContext context, McpForwarder forwarder) => forwarder.ForwardAsync(context));
        app.Map("/mcp/{**rest}", (HttpContext context, McpForwarder forwarder) => forwarder.ForwardAsync(context));
        return app;
    }

    public sealed partial class McpForwarder(IHttpForwarder forwarder, IOptions<AiGatewayOptions> options, IConfiguration configuration, ILogger<McpForwarder> logger)
    {
        private readonly HttpMessageInvoker _client = Security.ForwardingClient.Create(options.Value.UpstreamConnectTimeout);

        private readonly ForwarderRequestConfig _config = new() { ActivityTimeout = options.Value.McpIdleTimeout };

        private string? Destination => options.Value.McpGatewayUrl is { Length: > 0 } url ? url : configuration["services:mcpgateway:http:0"];

        public async Task ForwardAsync(HttpContext context)
        {
            if (Destination is not { } destination)
            {
                await ClientErrors.WriteAsync(context, ClientFormat.OpenAiChat, new GatewayError(ErrorKind.Overloaded, "The MCP gateway is not configured on this gateway."));
                return;
            }
            var error = await forwarder.SendAsync(context, destination, _client, _config, HttpTransformer.Default);
            if (error == ForwarderError.None)
            {
                return;
            }
            LogForwardFailed(logger, error, context.GetForwarderErrorFeature()?.Exception?.GetType().Name);
            if (Security.ForwardingClient.NothingAnswered(context, error))
            {
                // Say what happened in a body a client can show.
                await ClientErrors.WriteAsync(context, ClientFormat.OpenAiChat, new GatewayError(
                    error == ForwarderError.RequestTimedOut ? ErrorKind.UpstreamTimeout : ErrorKind.Api, "The MCP gateway could not be reached."));
            }
        }

        [LoggerMessage(EventId = 4210, Level = LogLevel.Warning, Message = "Forwarding /mcp failed: {Error} ({Exception})")]
        private static partial void LogForwardFailed(ILogger logger, ForwarderError error, string? exception);
    }
}
