using ThinkWatch.Security;

namespace ThinkWatch.AiGateway.Models;

/// <summary>
/// /api/models on the console side (console token; reading needs models:read, changing
/// providers:manage) and GET /v1/models for keys.
/// </summary>
public static class ModelsApi
{
    public static IEndpointRouteBuilder MapModelsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/models").WithTags("Models");
        group.MapGet("/", (ModelManagement m, CancellationToken ct) => m.ListAsync(ct)).RequirePermission(Permissions.ModelsRead);
        group.MapPost("/", async (ModelManagement m, HttpContext http, ModelInput input, CancellationToken ct) =>
            OutcomeResults.Created(await m.CreateAsync(ConsoleActor.From(http), input, ct), v => $"/api/models/{v.Id}")).RequirePermission(Permissions.ProvidersManage);
        group.MapPut("/{id:guid}", async (ModelManagement m, HttpContext http, Guid id, ModelInput input, CancellationToken ct) =>
            OutcomeResults.Map(await m.UpdateAsync(ConsoleActor.From(http), id, input, ct))).RequirePermission(Permissions.ProvidersManage);
        group.MapDelete("/{id:guid}", async (ModelManagement m, HttpContext http, Guid id, CancellationToken ct) =>
            OutcomeResults.Map(await m.DeleteAsync(ConsoleActor.From(http), id, ct))).RequirePermission(Permissions.ProvidersManage);
        group.MapGet("/upstreams", (Proxy.UpstreamResilience upstreams) => upstreams.Snapshot()).RequirePermission(Permissions.ProvidersRead);

        app.MapGet("/v1/models", (ModelListing listing, HttpContext context) => listing.ListAsync(context));
        app.MapGet("/v1/models/{id}", (ModelListing listing, HttpContext context, string id) => listing.GetAsync(context, id));
        return app;
    }
}
