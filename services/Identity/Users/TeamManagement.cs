using Dapper;
using Npgsql;
using ThinkWatch.Identity.Admin;
using ThinkWatch.Identity.Setup;
using ThinkWatch.Integrations;
using ThinkWatch.Security;

namespace ThinkWatch.Identity.Users;

/// <summary>Teams: admins create them and appoint managers; managers add and remove members of their own teams.</summary>
public sealed class TeamManagement(NpgsqlDataSource dataSource, EventOutbox outbox, AuditTrail audit, TimeProvider time)
{
    private sealed record TeamRow(Guid Id, string Name, DateTime CreatedAt);

    public Task<IReadOnlyList<TeamView>> ListAsync(Actor actor, CancellationToken cancellationToken) =>
        ReadAsync(actor.IsAdmin ? "" : " AND EXISTS (SELECT 1 FROM team_members m WHERE m.team_id = t.id AND m.user_id = @actor)",
            new { actor = actor.UserId }, cancellationToken);

    private async Task<IReadOnlyList<TeamView>> ReadAsync(string filter, object parameters, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var teams = await connection.QueryAsync<TeamRow>(new CommandDefinition(
            "SELECT id, name, created_at AS CreatedAt FROM teams t WHERE deleted_at IS NULL" + filter + " ORDER BY name",
            parameters, cancellationToken: cancellationToken));
        var members = (await connection.QueryAsync<(Guid TeamId, Guid UserId, bool IsManager)>(new CommandDefinition(
            "SELECT team_id, user_id, is_manager FROM team_members WHERE team_id = ANY(@ids) ORDER BY user_id",
            new { ids = teams.Select(t => t.Id).ToArray() }, cancellationToken: cancellationToken))).ToLookup(m => m.TeamId);
        return [.. teams.Select(t => new TeamView(t.Id, t.Name, t.CreatedAt.AsUtc(),
            [.. members[t.Id].Select(m => new TeamMemberView(m.UserId, m.IsManager))]))];
    }

    public async Task<Outcome<TeamView>> CreateAsync(Actor actor, CreateTeamRequest request, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        InputRules.Name(request.Name, "name", errors);
        if (errors.Count > 0)
        {
            return new Outcome<TeamView>.Invalid(errors);
        }
        if (!actor.IsAdmin)
        {
            return new Outcome<TeamView>.Forbidden("Only administrators create teams.");
        }
        var id = Guid.CreateVersion7();
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        if (await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO teams (id, name, created_at) SELECT @id, @name, @now
                WHERE NOT EXISTS (SELECT 1 FROM teams WHERE lower(name) = lower(@name) AND deleted_at IS NULL)
                """, new { id, name = request.Name!.Trim(), now }, tx, cancellationToken: cancellationToken)) == 0)
        {
            return new Outcome<TeamView>.Invalid(new() { ["name"] = ["A team with this name already exists."] });
        }
        await audit.RecordAsync(actor, "team.create", "team", id.ToString(), new { request.Name }, connection, tx, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        outbox.Flush();
        return new Outcome<TeamView>.Done(new TeamView(id, request.Name.Trim(), now, []));
    }

    public async Task<Outcome<TeamView>> SetMemberAsync(Actor actor, Guid teamId, AddMemberRequest request, CancellationToken cancellationToken)
    {
        if (request.UserId is not { } userId)
        {
            return new Outcome<TeamView>.Invalid(new() { ["userId"] = ["A user id is required."] });
        }
        var manager = request.IsManager ?? false;
        return await ChangeMembershipAsync(actor, teamId, manager, "team.member.set", new { userId, manager }, cancellationToken, async (connection, tx) =>
        {
            var role = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
                "SELECT role FROM users WHERE id = @userId AND deleted_at IS NULL", new { userId }, tx, cancellationToken: cancellationToken));
            if (role is null)
            {
                return new() { ["userId"] = ["No user with this id."] };
            }
            if (manager && !Roles.Has(role, Permissions.TeamsManage))
            {
                return new() { ["isManager"] = [$"A {role} cannot manage a team; make them a team_manager first."] };
            }
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO team_members (team_id, user_id, is_manager) VALUES (@teamId, @userId, @manager)
                ON CONFLICT (team_id, user_id) DO UPDATE SET is_manager = excluded.is_manager
                """, new { teamId, userId, manager }, tx, cancellationToken: cancellationToken));
            return null;
        });
    }

    public Task<Outcome<TeamView>> RemoveMemberAsync(Actor actor, Guid teamId, Guid userId, CancellationToken cancellationToken) =>
        ChangeMembershipAsync(actor, teamId, false, "team.member.remove", new { userId }, cancellationToken, async (connection, tx) =>
            await connection.ExecuteAsync(new CommandDefinition("DELETE FROM team_members WHERE team_id = @teamId AND user_id = @userId",
                new { teamId, userId }, tx, cancellationToken: cancellationToken)) == 0
                ? new() { ["userId"] = ["Not a member of this team."] }
                : null);

    /// <summary>Admins change any team; a team's managers change its plain members (appointing managers is for admins).</summary>
    private async Task<Outcome<TeamView>> ChangeMembershipAsync(Actor actor, Guid teamId, bool appointsManager, string action, object details,
        CancellationToken cancellationToken, Func<NpgsqlConnection, NpgsqlTransaction, Task<Dictionary<string, string[]>?>> change)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var managesTeam = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM team_members WHERE team_id = @teamId AND user_id = @actor AND is_manager)",
            new { teamId, actor = actor.UserId }, tx, cancellationToken: cancellationToken));
        var exists = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM teams WHERE id = @teamId AND deleted_at IS NULL)", new { teamId }, tx, cancellationToken: cancellationToken));
        if (!exists || !(actor.IsAdmin || managesTeam))
        {
            return new Outcome<TeamView>.NotFound();
        }
        if (appointsManager && !actor.IsAdmin)
        {
            return new Outcome<TeamView>.Forbidden("Only administrators appoint team managers.");
        }
        if (await change(connection, tx) is { } errors)
        {
            return new Outcome<TeamView>.Invalid(errors);
        }
        await audit.RecordAsync(actor, action, "team", teamId.ToString(), details, connection, tx, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        outbox.Flush();
        return new Outcome<TeamView>.Done((await ReadAsync(" AND t.id = @teamId", new { teamId }, cancellationToken)).Single());
    }
}
