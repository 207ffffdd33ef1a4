using ThinkWatch.Security;

namespace ThinkWatch.McpGateway.Servers;

/// <summary>/api/mcp/servers: the upstream MCP servers. Reading needs mcp:connect (users pick servers to connect); changing them mcp:manage.</summary>
public static class ServersApi
{
    public static IEndpointRouteBuilder MapServersApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/mcp/servers").WithTags("MCP servers");
        group.MapGet("/", (ServerStore s, CancellationToken ct) => s.ListAsync(ct)).RequirePermission(Permissions.McpConnect);
        group.MapGet("/{id:guid}", async (ServerStore s, Guid id, CancellationToken ct) => OutcomeResults.Map(await s.GetAsync(id, ct)))
            .RequirePermission(Permissions.McpConnect);
        group.MapPost("/", async (ServerStore s, HttpContext http, McpServerInput input, CancellationToken ct) =>
            OutcomeResults.Created(await s.CreateAsync(ConsoleActor.From(http), input, ct), server => $"/api/mcp/servers/{server.Id}"))
            .RequirePermission(Permissions.McpManage);
        group.MapDelete("/{id:guid}", async (ServerStore s, HttpContext http, Guid id, CancellationToken ct) =>
            OutcomeResults.Map(await s.DeleteAsync(ConsoleActor.From(http), id, ct))).RequirePermission(Permissions.McpManage);
        return app;
    }
}
