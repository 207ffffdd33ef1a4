using Dapper;
using Npgsql;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Identity.Admin;
using ThinkWatch.Identity.Passwords;
using ThinkWatch.Identity.Setup;
using ThinkWatch.Integrations;
using ThinkWatch.Security;

namespace ThinkWatch.Identity.Users;

/// <summary>
/// Users on the console. An actor grants only roles below its own (a super admin any), changes
/// only users below it, and team managers see only their teams. Disabling or deleting a user
/// ends their sessions and tells the gateways to drop their keys.
/// </summary>
public sealed class UserManagement(NpgsqlDataSource dataSource, PasswordHasher hasher, EventOutbox outbox, AuditTrail audit, TimeProvider time)
{
    // Init properties, not a positional record: Dapper hands arrays to constructors as System.Array.
    private sealed class Row
    {
        public Guid Id { get; init; }
        public string Email { get; init; } = "";
        public string DisplayName { get; init; } = "";
        public string Role { get; init; } = "";
        public bool Disabled { get; init; }
        public bool HasPassword { get; init; }
        public DateTime CreatedAt { get; init; }
        public Guid[] TeamIds { get; init; } = [];
    }

    private const string Select = """
        SELECT u.id, u.email, u.display_name AS DisplayName, u.role, u.disabled, (u.password_hash IS NOT NULL) AS HasPassword, u.created_at AS CreatedAt,
               coalesce(array(SELECT m.team_id FROM team_members m WHERE m.user_id = u.id ORDER BY m.team_id), '{}') AS TeamIds
        FROM users u
        """;

    private const string TeamScope = $"(u.id = @actor OR u.id IN ({Actor.ManagedMembersSql}))";

    public async Task<Paged<UserDetails>> ListAsync(Actor actor, int? page, int? pageSize, string? search, CancellationToken cancellationToken)
    {
        var (p, size) = Paging.Normalize(page, pageSize);
        var where = "u.deleted_at IS NULL" + (actor.IsAdmin ? "" : " AND " + TeamScope)
            + (string.IsNullOrWhiteSpace(search) ? "" : " AND (u.email ILIKE @like OR u.display_name ILIKE @like)");
        var args = new { actor = actor.UserId, like = "%" + EscapeLike(search?.Trim() ?? "") + "%", size, offset = (p - 1) * size };
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var total = await connection.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT count(*) FROM users u WHERE {where}", args, cancellationToken: cancellationToken));
        var rows = await connection.QueryAsync<Row>(new CommandDefinition($"{Select} WHERE {where} ORDER BY u.email LIMIT @size OFFSET @offset", args, cancellationToken: cancellationToken));
        return new Paged<UserDetails>([.. rows.Select(View)], p, size, total);
    }

    public async Task<Outcome<UserDetails>> GetAsync(Actor actor, Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await FindAsync(connection, id, cancellationToken) is { } user && await actor.MayActOnAsync(id, connection, cancellationToken)
            ? new Outcome<UserDetails>.Done(user)
            : new Outcome<UserDetails>.NotFound();
    }

    public async Task<Outcome<UserDetails>> CreateAsync(Actor actor, CreateUserRequest request, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        InputRules.Email(request.Email, "email", errors);
        InputRules.Name(request.DisplayName, "displayName", errors);
        RoleRules(actor, request.Role, errors);
        if (request.Password is not null && PasswordPolicy.Check(request.Password) is { Count: > 0 } problems)
        {
            errors["password"] = [.. problems];
        }
        if (errors.Count > 0)
        {
            return new Outcome<UserDetails>.Invalid(errors);
        }
        var id = Guid.CreateVersion7();
        var now = time.GetUtcNow();
        var hash = request.Password is null ? null : hasher.Hash(request.Password);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var inserted = await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO users (id, email, display_name, role, password_hash, created_at, updated_at)
            SELECT @id, @email, @name, @Role, @hash, @now, @now
            WHERE NOT EXISTS (SELECT 1 FROM users WHERE lower(email) = lower(@email) AND deleted_at IS NULL)
            """, new { id, email = request.Email!.Trim(), name = request.DisplayName!.Trim(), request.Role, hash, now }, tx, cancellationToken: cancellationToken));
        if (inserted == 0)
        {
            return new Outcome<UserDetails>.Invalid(new() { ["email"] = ["A user with this email already exists."] });
        }
        var teams = request.TeamIds ?? [];
        if (teams.Length > 0 && await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO team_members (team_id, user_id) SELECT t.id, @id FROM teams t WHERE t.id = ANY(@teams) AND t.deleted_at IS NULL",
                new { id, teams }, tx, cancellationToken: cancellationToken)) != teams.Distinct().Count())
        {
            return new Outcome<UserDetails>.Invalid(new() { ["teamIds"] = ["Every team must exist."] });
        }
        await audit.RecordAsync(actor, "user.create", "user", id.ToString(), new { request.Role, teams }, connection, tx, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        outbox.Flush();
        return new Outcome<UserDetails>.Done((await FindAsync(connection, id, cancellationToken))!);
    }

    public async Task<Outcome<UserDetails>> UpdateAsync(Actor actor, Guid id, UpdateUserRequest request, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (request.DisplayName is not null)
        {
            InputRules.Name(request.DisplayName, "displayName", errors);
        }
        if (request.Role is not null)
        {
            RoleRules(actor, request.Role, errors);
        }
        if (request.Password is not null && PasswordPolicy.Check(request.Password) is { Count: > 0 } problems)
        {
            errors["password"] = [.. problems];
        }
        if (request.Disabled == true && id == actor.UserId)
        {
            errors["disabled"] = ["You cannot disable yourself."];
        }
        if (errors.Count > 0)
        {
            return new Outcome<UserDetails>.Invalid(errors);
        }
        return await ChangeAsync(actor, id, "user.update", new { request.Role, request.Disabled, passwordChanged = request.Password is not null },
            endsAccess: request.Disabled == true || request.Password is not null, keysChange: request.Disabled is not null || request.Role is not null, cancellationToken,
            """
            UPDATE users SET display_name = coalesce(@name, display_name), role = coalesce(@Role, role), disabled = coalesce(@Disabled, disabled),
                   password_hash = coalesce(@hash, password_hash), updated_at = @now
            WHERE id = @id
            """,
            new { id, name = request.DisplayName?.Trim(), request.Role, request.Disabled, hash = request.Password is null ? null : hasher.Hash(request.Password), now = time.GetUtcNow() });
    }

    /// <summary>Soft delete: the user disappears now and is purged later; their keys are revoked.</summary>
    public async Task<Outcome<UserDetails>> DeleteAsync(Actor actor, Guid id, CancellationToken cancellationToken)
    {
        if (id == actor.UserId)
        {
            return new Outcome<UserDetails>.Invalid(new() { ["id"] = ["You cannot delete yourself."] });
        }
        return await ChangeAsync(actor, id, "user.delete", null, endsAccess: true, keysChange: true, cancellationToken, """
            UPDATE users SET deleted_at = @now, updated_at = @now WHERE id = @id;
            UPDATE api_keys SET revoked_at = @now WHERE owner_user_id = @id AND revoked_at IS NULL;
            DELETE FROM team_members WHERE user_id = @id;
            """, new { id, now = time.GetUtcNow() });
    }

    private async Task<Outcome<UserDetails>> ChangeAsync(Actor actor, Guid id, string action, object? details, bool endsAccess, bool keysChange,
        CancellationToken cancellationToken, string sql, object parameters)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var target = await connection.QuerySingleOrDefaultAsync<string?>(new CommandDefinition(
            "SELECT role FROM users WHERE id = @id AND deleted_at IS NULL FOR UPDATE", new { id }, tx, cancellationToken: cancellationToken));
        if (target is null || !await actor.MayActOnAsync(id, connection, cancellationToken))
        {
            return new Outcome<UserDetails>.NotFound();
        }
        if (id != actor.UserId && actor.Role != Roles.SuperAdmin && Roles.Rank(target) >= Roles.Rank(actor.Role))
        {
            return new Outcome<UserDetails>.Forbidden("You can change only users whose role is below yours.");
        }
        await connection.ExecuteAsync(new CommandDefinition(sql, parameters, tx, cancellationToken: cancellationToken));
        if (await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT count(*) FROM users WHERE role = 'super_admin' AND deleted_at IS NULL AND NOT disabled", transaction: tx, cancellationToken: cancellationToken)) == 0)
        {
            return new Outcome<UserDetails>.Invalid(new() { ["role"] = ["At least one active super admin must remain."] });
        }
        var now = time.GetUtcNow();
        if (endsAccess)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE sessions SET revoked_at = @now, revoke_reason = @action WHERE user_id = @id AND revoked_at IS NULL",
                new { id, now, action }, tx, cancellationToken: cancellationToken));
        }
        if (keysChange)
        {
            foreach (var (keyId, hash, revoked) in await connection.QueryAsync<(Guid, byte[], bool)>(new CommandDefinition(
                         "SELECT id, key_hash, revoked_at IS NOT NULL FROM api_keys WHERE owner_user_id = @id", new { id }, tx, cancellationToken: cancellationToken)))
            {
                var hex = Convert.ToHexStringLower(hash);
                await (revoked
                    ? outbox.AddAsync(new KeyRevoked(Guid.CreateVersion7(), now, keyId.ToString(), hex), connection, tx, cancellationToken)
                    : outbox.AddAsync(new KeyChanged(Guid.CreateVersion7(), now, keyId.ToString(), hex), connection, tx, cancellationToken));
            }
        }
        await audit.RecordAsync(actor, action, "user", id.ToString(), details, connection, tx, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        outbox.Flush();
        var after = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition($"{Select} WHERE u.id = @id", new { id }, cancellationToken: cancellationToken));
        return new Outcome<UserDetails>.Done(View(after!));
    }

    private static void RoleRules(Actor actor, string? role, Dictionary<string, string[]> errors)
    {
        if (!Roles.IsRole(role))
        {
            errors["role"] = [$"Use one of: {string.Join(", ", Roles.All)}."];
        }
        else if (actor.Role != Roles.SuperAdmin && Roles.Rank(role!) >= Roles.Rank(actor.Role))
        {
            errors["role"] = ["You can grant only roles below your own."];
        }
    }

    private static async Task<UserDetails?> FindAsync(NpgsqlConnection connection, Guid id, CancellationToken cancellationToken) =>
        await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition($"{Select} WHERE u.id = @id AND u.deleted_at IS NULL", new { id }, cancellationToken: cancellationToken))
            is { } row ? View(row) : null;

    private static UserDetails View(Row r) =>
        new(r.Id, r.Email, r.DisplayName, r.Role, r.Disabled, r.HasPassword, r.CreatedAt.AsUtc(), r.TeamIds);

    private static string EscapeLike(string s) => s.Replace(@"\", @"\\").Replace("%", @"\%").Replace("_", @"\_");
}
