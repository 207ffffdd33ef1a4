using System.Data.Common;
using Dapper;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Integrations;
using ThinkWatch.Security;

namespace ThinkWatch.Identity.Admin;

/// <summary>Who is acting on the console, from where.</summary>
public sealed record Actor(Guid UserId, string Role, string? ClientIp)
{
    public static Actor From(HttpContext http)
    {
        var actor = ConsoleActor.From(http);
        return new(actor.UserId, actor.Role, actor.ClientIp);
    }

    public bool Can(string permission) => Roles.Has(Role, permission);

    public bool IsAdmin => Role is Roles.SuperAdmin or Roles.Admin;

    /// <summary>SQL: the users in teams that @actor manages.</summary>
    public const string ManagedMembersSql =
        "SELECT m.user_id FROM team_members m JOIN team_members me ON me.team_id = m.team_id WHERE me.user_id = @actor AND me.is_manager";

    /// <summary>
    /// Whether the actor may act on <paramref name="target"/>'s things: themselves, admins on
    /// anyone, team managers on members of the teams they manage.
    /// </summary>
    public async Task<bool> MayActOnAsync(Guid target, DbConnection connection, CancellationToken cancellationToken)
    {
        if (target == UserId || IsAdmin)
        {
            return true;
        }
        return Role == Roles.TeamManager && await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            $"SELECT @target IN ({ManagedMembersSql})", new { target, actor = UserId }, cancellationToken: cancellationToken));
    }
}

/// <summary>Every administrative change leaves an event on the bus: who, what, to what, from where.</summary>
public sealed class AuditTrail(EventOutbox outbox, TimeProvider time)
{
    public Task RecordAsync(Actor actor, string action, string targetKind, string? targetId, object? details, DbConnection connection, DbTransaction tx, CancellationToken cancellationToken) =>
        outbox.AddAsync(new AdminActionRecorded(
            Guid.CreateVersion7(), time.GetUtcNow(), System.Diagnostics.Activity.Current?.TraceId.ToString(),
            actor.UserId.ToString(), action, targetKind, targetId, actor.ClientIp,
            details is null ? null : System.Text.Json.JsonSerializer.Serialize(details)), connection, tx, cancellationToken);
}

public sealed record Paged<T>(IReadOnlyList<T> Items, int Page, int PageSize, long Total);

public static class Paging
{
    public const int MaxPageSize = 200;

    public static (int Page, int Size) Normalize(int? page, int? pageSize) =>
        (Math.Max(1, page ?? 1), Math.Clamp(pageSize ?? 50, 1, MaxPageSize));
}
