using Microsoft.Extensions.Options;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Protocol;
using ThinkWatch.McpGateway.Upstream;
using ThinkWatch.Security;

namespace ThinkWatch.McpGateway.Mcp;

/// <summary>
/// /mcp: the SDK's streamable-HTTP server (POST with JSON or SSE answers, the GET stream, DELETE,
/// Mcp-Session-Id, MCP-Protocol-Version checks, ping) with the gateway's handlers behind it: every
/// list and call is answered from the aggregated upstream <see cref="Catalog"/> for the caller the
/// request authenticated (<see cref="McpCaller"/>), tools/call through <see cref="ToolCalls"/>. Sessions are stateful per replica and migrate through Redis
/// (<see cref="RedisSessions"/>), so any replica can serve any session.
/// </summary>
public static class GatewayEndpoint
{
    public const string SessionIdHeader = "Mcp-Session-Id";

    public static IServiceCollection AddMcpGatewayServer(this IServiceCollection services)
    {
        services.AddSingleton<RedisSessions>();
        services.AddMcpServer(o =>
            {
                o.ServerInfo = new Implementation { Name = "thinkwatch-mcp-gateway", Title = "ThinkWatch MCP gateway", Version = "1.0.0" };
                o.ServerInstructions = "Tools, resources and prompts of the organisation's MCP servers; names are prefixed with their server (server__tool).";
            })
            .WithHttpTransport()
            .WithListToolsHandler(async (context, ct) => new ListToolsResult { Tools = [.. await Catalog(context).ListToolsAsync(Caller(context), ct)] })
            .WithCallToolHandler(async (context, ct) =>
                await context.Services!.GetRequiredService<ToolCalls>().CallAsync(Caller(context), context.Params!.Name, context.Params.Arguments, ct))
            .WithListPromptsHandler(async (context, ct) => new ListPromptsResult { Prompts = [.. await Catalog(context).ListPromptsAsync(Caller(context), ct)] })
            .WithGetPromptHandler(async (context, ct) => await Catalog(context).GetPromptAsync(Caller(context), context.Params!.Name, context.Params.Arguments, ct))
            .WithListResourcesHandler(async (context, ct) =>
                new ListResourcesResult { Resources = [.. await Catalog(context).ListResourcesAsync(Caller(context), ct)] })
            .WithListResourceTemplatesHandler(async (context, ct) =>
                new ListResourceTemplatesResult { ResourceTemplates = [.. await Catalog(context).ListResourceTemplatesAsync(Caller(context), ct)] })
            .WithReadResourceHandler(async (context, ct) => await Catalog(context).ReadResourceAsync(Caller(context), context.Params!.Uri, ct));
        services.AddOptions<HttpServerTransportOptions>().Configure<RedisSessions, IOptions<McpGatewayOptions>>((transport, sessions, options) =>
        {
            // Sessions (Mcp-Session-Id, the GET stream, DELETE) for the 2025-03-26 … 2025-11-25 clients in use today; 2026-07-28
            // clients are served statelessly on the same endpoint. The SDK marks stateful mode obsolete for new protocol revisions.
#pragma warning disable MCP9006
            transport.SessionMode = HttpServerSessionMode.StatefulForInitializeClients;
            transport.SessionMigrationHandler = sessions;
            transport.IdleTimeout = options.Value.SessionLifetime;
#pragma warning restore MCP9006
        });
        return services;
    }

    public static IEndpointRouteBuilder MapMcpGateway(this IEndpointRouteBuilder app)
    {
        // mcp:connect for every caller: a console token carries the user's role, a key its owner's current one.
        app.MapMcp("/mcp").RequireAuthorization(policy => policy.AddAuthenticationSchemes(McpKeyHandler.Selector).RequireAuthenticatedUser()
                .RequireAssertion(context => context.User.Can(Permissions.McpConnect)))
            .AddEndpointFilter(async (context, next) =>
            {
                var http = context.HttpContext;
                if (http.Request.Headers.Origin.ToString() is { Length: > 0 } origin
                    && !http.RequestServices.GetRequiredService<IOptions<McpGatewayOptions>>().Value.AllowedOrigins.Contains(origin, StringComparer.OrdinalIgnoreCase))
                {
                    // DNS rebinding defence (spec: servers MUST validate Origin).
                    return JsonRpcErrors.Result(StatusCodes.Status403Forbidden, JsonRpcErrors.Forbidden, $"Origin '{origin}' is not allowed.");
                }
                var sessions = http.RequestServices.GetRequiredService<RedisSessions>();
                var id = http.Request.Headers[SessionIdHeader].ToString();
                if (id.Length > 0 && !await sessions.TouchAsync(id))
                {
                    // Ended (DELETE) or expired on any replica: gone here too, even if this replica still holds it in memory.
                    return JsonRpcErrors.Result(StatusCodes.Status404NotFound, JsonRpcErrors.Unauthorized, "Session not found");
                }
                var result = await next(context);
                if (id.Length > 0 && HttpMethods.IsDelete(http.Request.Method) && http.Response.StatusCode < 300)
                {
                    await sessions.EndAsync(id);
                }
                return result;
            });
        return app;
    }

    private static Catalog Catalog(ModelContextProtocol.Server.MessageContext context) => context.Services!.GetRequiredService<Catalog>();

    /// <summary>The caller of this message (the SDK passes the request's principal to the handlers).</summary>
    private static McpCaller Caller(ModelContextProtocol.Server.MessageContext context) => McpCaller.From(context.User);
}
