using Microsoft.AspNetCore.Http.HttpResults;
using ThinkWatch.Identity.Admin;
using ThinkWatch.Security;

namespace ThinkWatch.Identity.Keys;

public static class KeysApi
{
    public static RouteGroupBuilder MapKeysApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/keys").WithTags("API keys");
        group.MapGet("/", List).RequirePermission(Permissions.KeysRead);
        group.MapPost("/", Create).RequirePermission(Permissions.KeysCreate);
        group.MapGet("/{id:guid}", Get).RequirePermission(Permissions.KeysRead);
        group.MapPatch("/{id:guid}", Update).RequirePermission(Permissions.KeysCreate);
        group.MapPost("/{id:guid}/rotate", Rotate).RequirePermission(Permissions.KeysCreate);
        group.MapPost("/{id:guid}/revoke", Revoke).RequirePermission(Permissions.KeysRead);
        return group;
    }

    public static async Task<Ok<Paged<KeyView>>> List(int? page, int? pageSize, KeyManagement keys, HttpContext http, CancellationToken cancellationToken) =>
        TypedResults.Ok(await keys.ListAsync(Actor.From(http), page, pageSize, cancellationToken));

    public static async Task<Results<Created<NewKeyView>, ValidationProblem, ProblemHttpResult, NotFound>> Create(
        CreateKeyRequest request, KeyManagement keys, HttpContext http, CancellationToken cancellationToken) =>
        OutcomeResults.Created(await keys.CreateAsync(Actor.From(http), request, cancellationToken), k => $"/api/keys/{k.Key.Id}");

    public static async Task<Results<Ok<KeyView>, ValidationProblem, ProblemHttpResult, NotFound>> Get(
        Guid id, KeyManagement keys, HttpContext http, CancellationToken cancellationToken) =>
        OutcomeResults.Map(await keys.GetAsync(Actor.From(http), id, cancellationToken));

    public static async Task<Results<Ok<KeyView>, ValidationProblem, ProblemHttpResult, NotFound>> Update(
        Guid id, UpdateKeyRequest request, KeyManagement keys, HttpContext http, CancellationToken cancellationToken) =>
        OutcomeResults.Map(await keys.UpdateAsync(Actor.From(http), id, request, cancellationToken));

    public static async Task<Results<Ok<KeyView>, ValidationProblem, ProblemHttpResult, NotFound>> Revoke(
        Guid id, KeyManagement keys, HttpContext http, CancellationToken cancellationToken) =>
        OutcomeResults.Map(await keys.RevokeAsync(Actor.From(http), id, cancellationToken));

    public static async Task<Results<Created<NewKeyView>, ValidationProblem, ProblemHttpResult, NotFound>> Rotate(
        Guid id, RotateKeyRequest? request, KeyManagement keys, HttpContext http, CancellationToken cancellationToken) =>
        OutcomeResults.Created(await keys.RotateAsync(Actor.From(http), id, request ?? new RotateKeyRequest(null), cancellationToken), k => $"/api/keys/{k.Key.Id}");
}
