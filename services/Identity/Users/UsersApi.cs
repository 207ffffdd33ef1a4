using Microsoft.AspNetCore.Http.HttpResults;
using ThinkWatch.Identity.Admin;
using ThinkWatch.Security;

namespace ThinkWatch.Identity.Users;

public static class UsersApi
{
    public static RouteGroupBuilder MapUsersApi(this IEndpointRouteBuilder app)
    {
        var users = app.MapGroup("/api/users").WithTags("Users");
        users.MapGet("/", (int? page, int? pageSize, string? search, UserManagement m, HttpContext http, CancellationToken ct) =>
            m.ListAsync(Actor.From(http), page, pageSize, search, ct)).RequirePermission(Permissions.UsersRead);
        users.MapGet("/{id:guid}", async (Guid id, UserManagement m, HttpContext http, CancellationToken ct) =>
            OutcomeResults.Map(await m.GetAsync(Actor.From(http), id, ct))).RequirePermission(Permissions.UsersRead);
        users.MapPost("/", async (CreateUserRequest request, UserManagement m, HttpContext http, CancellationToken ct) =>
            OutcomeResults.Created(await m.CreateAsync(Actor.From(http), request, ct), u => $"/api/users/{u.Id}")).RequirePermission(Permissions.UsersManage);
        users.MapPatch("/{id:guid}", async (Guid id, UpdateUserRequest request, UserManagement m, HttpContext http, CancellationToken ct) =>
            OutcomeResults.Map(await m.UpdateAsync(Actor.From(http), id, request, ct))).RequirePermission(Permissions.UsersManage);
        users.MapDelete("/{id:guid}", async (Guid id, UserManagement m, HttpContext http, CancellationToken ct) =>
            OutcomeResults.Map(await m.DeleteAsync(Actor.From(http), id, ct))).RequirePermission(Permissions.UsersManage);

        var teams = app.MapGroup("/api/teams").WithTags("Teams");
        teams.MapGet("/", async (TeamManagement m, HttpContext http, CancellationToken ct) =>
            TypedResults.Ok(await m.ListAsync(Actor.From(http), ct))).RequirePermission(Permissions.TeamsRead);
        teams.MapPost("/", async (CreateTeamRequest request, TeamManagement m, HttpContext http, CancellationToken ct) =>
            OutcomeResults.Created(await m.CreateAsync(Actor.From(http), request, ct), t => $"/api/teams/{t.Id}")).RequirePermission(Permissions.TeamsManage);
        teams.MapPut("/{id:guid}/members", async (Guid id, AddMemberRequest request, TeamManagement m, HttpContext http, CancellationToken ct) =>
            OutcomeResults.Map(await m.SetMemberAsync(Actor.From(http), id, request, ct))).RequirePermission(Permissions.TeamsManage);
        teams.MapDelete("/{id:guid}/members/{userId:guid}", async (Guid id, Guid userId, TeamManagement m, HttpContext http, CancellationToken ct) =>
            OutcomeResults.Map(await m.RemoveMemberAsync(Actor.From(http), id, userId, ct))).RequirePermission(Permissions.TeamsManage);
        return users;
    }
}
