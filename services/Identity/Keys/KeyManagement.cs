using Dapper;
using Npgsql;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Identity.Admin;
using ThinkWatch.Identity.Setup;
using ThinkWatch.Integrations;
using ThinkWatch.Security;

namespace ThinkWatch.Identity.Keys;

/// <summary>
/// Creating, listing, rotating and revoking keys on the console, within the actor's scope.
/// Each change commits with its events (cache invalidation for gateways, audit) in one transaction.
/// </summary>
public sealed class KeyManagement(NpgsqlDataSource dataSource, ApiKeyStore store, EventOutbox outbox, AuditTrail audit, TimeProvider time)
{
    private const string Columns = """
        k.id, k.lineage_id AS LineageId, k.key_hint AS KeyHint, k.name, k.owner_user_id AS OwnerUserId, k.team_id AS TeamId,
        k.surfaces, k.allowed_models AS AllowedModels, k.allowed_mcp_tools AS AllowedMcpTools, k.mcp_account_label AS McpAccountLabel, k.expires_at AS ExpiresAt,
        k.inactivity_timeout AS InactivityTimeout, k.last_used_at AS LastUsedAt, k.created_at AS CreatedAt,
        k.revoked_at AS RevokedAt, k.grace_until AS GraceUntil, u.role AS OwnerRole, (NOT u.disabled AND u.deleted_at IS NULL) AS OwnerActive
        """;

    public async Task<Outcome<NewKeyView>> CreateAsync(Actor actor, CreateKeyRequest request, CancellationToken cancellationToken)
    {
        if (ValidateNew(request, time.GetUtcNow()) is { Count: > 0 } errors)
        {
            return new Outcome<NewKeyView>.Invalid(errors);
        }

        var ownerId = request.OwnerUserId ?? actor.UserId;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var owner = await connection.QuerySingleOrDefaultAsync<(Guid Id, string Role)?>(new CommandDefinition(
            "SELECT id, role FROM users WHERE id = @ownerId AND deleted_at IS NULL AND NOT disabled", new { ownerId }, cancellationToken: cancellationToken));
        if (owner is null)
        {
            return new Outcome<NewKeyView>.Invalid(new() { ["ownerUserId"] = ["No active user with this id."] });
        }
        if (ownerId != actor.UserId && !(actor.Can(Permissions.KeysManage) && await actor.MayActOnAsync(ownerId, connection, cancellationToken)))
        {
            return new Outcome<NewKeyView>.Forbidden("You may create keys only for yourself or for members of teams you manage.");
        }
        if (request.Surfaces!.Contains(KeySurfaces.McpGateway) && !Roles.Has(owner.Value.Role, Permissions.McpConnect))
        {
            return new Outcome<NewKeyView>.Invalid(new() { ["surfaces"] = [$"The owner's role ({owner.Value.Role}) may not use the MCP gateway."] });
        }
        if (request.TeamId is { } team && !await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT EXISTS (SELECT 1 FROM team_members m JOIN teams t ON t.id = m.team_id WHERE m.team_id = @team AND m.user_id = @ownerId AND t.deleted_at IS NULL)",
                new { team, ownerId }, cancellationToken: cancellationToken)))
        {
            return new Outcome<NewKeyView>.Invalid(new() { ["teamId"] = ["The owner is not a member of this team."] });
        }

        var newKey = ToNewKey(request, ownerId);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var created = await store.CreateAsync(newKey, connection, tx, cancellationToken: cancellationToken);
        await outbox.AddAsync(new KeyChanged(Guid.CreateVersion7(), time.GetUtcNow(), created.Id.ToString(), Convert.ToHexStringLower(KeyMaterial.Hash(created.Key))), connection, tx, cancellationToken);
        await audit.RecordAsync(actor, "key.create", "api_key", created.Id.ToString(), new { newKey.Name, owner = ownerId, newKey.Surfaces }, connection, tx, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        outbox.Flush();
        return new Outcome<NewKeyView>.Done(new NewKeyView((await FindAsync(connection, created.Id, cancellationToken))!, created.Key));
    }

    /// <summary>The checks a new key's fields get wherever a key is created (here and in setup), keyed by field name.</summary>
    public static Dictionary<string, string[]> ValidateNew(CreateKeyRequest request, DateTimeOffset now)
    {
        var errors = Validate(request.Name, request.AllowedModels, request.ExpiresAt, now);
        InputRules.Surfaces(request.Surfaces, "surfaces", errors);
        InputRules.ModelPatterns(request.AllowedMcpTools, "allowedMcpTools", errors);
        InputRules.AccountLabel(request.McpAccountLabel, errors);
        if (request.InactivityTimeoutDays is < 1 or > 365)
        {
            errors["inactivityTimeoutDays"] = ["Between 1 and 365 days."];
        }
        return errors;
    }

    /// <summary>A request that passed <see cref="ValidateNew"/>, as the store takes it.</summary>
    public static NewApiKey ToNewKey(CreateKeyRequest request, Guid ownerId) =>
        new(request.Name!.Trim(), ownerId, request.TeamId, request.Surfaces!, request.AllowedModels ?? [], request.AllowedMcpTools ?? [],
            request.ExpiresAt, request.InactivityTimeoutDays is { } days ? TimeSpan.FromDays(days) : null,
            request.McpAccountLabel is { Length: > 0 } label ? label : null);

    public async Task<Paged<KeyView>> ListAsync(Actor actor, int? page, int? pageSize, CancellationToken cancellationToken)
    {
        var (p, size) = Paging.Normalize(page, pageSize);
        // Admins see every key, team managers their own and their teams' members', others their own.
        var scope = actor.IsAdmin && actor.Can(Permissions.KeysManage) ? "TRUE"
            : actor.Role == Roles.TeamManager ? $"(k.owner_user_id = @actor OR k.owner_user_id IN ({Actor.ManagedMembersSql}))"
            : "k.owner_user_id = @actor";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var args = new { actor = actor.UserId, offset = (p - 1) * size, size };
        var total = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            $"SELECT count(*) FROM api_keys k WHERE {scope}", args, cancellationToken: cancellationToken));
        var rows = await connection.QueryAsync<ApiKeyRecord>(new CommandDefinition(
            $"SELECT {Columns} FROM api_keys k JOIN users u ON u.id = k.owner_user_id WHERE {scope} ORDER BY k.created_at DESC, k.id LIMIT @size OFFSET @offset",
            args, cancellationToken: cancellationToken));
        return new Paged<KeyView>([.. rows.Select(View)], p, size, total);
    }

    public async Task<Outcome<KeyView>> GetAsync(Actor actor, Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var key = await FindAsync(connection, id, cancellationToken);
        return key is not null && await MayManageAsync(actor, key.OwnerUserId, connection, cancellationToken)
            ? new Outcome<KeyView>.Done(key)
            : new Outcome<KeyView>.NotFound();
    }

    public async Task<Outcome<KeyView>> UpdateAsync(Actor actor, Guid id, UpdateKeyRequest request, CancellationToken cancellationToken)
    {
        var errors = Validate(request.Name ?? "unchanged", request.AllowedModels, request.ExpiresAt, time.GetUtcNow());
        InputRules.ModelPatterns(request.AllowedMcpTools, "allowedMcpTools", errors);
        InputRules.AccountLabel(request.McpAccountLabel, errors);
        if (errors.Count > 0)
        {
            return new Outcome<KeyView>.Invalid(errors);
        }
        return await ChangeAsync(actor, id, "key.update", request, """
            UPDATE api_keys SET name = coalesce(@Name, name), allowed_models = coalesce(@AllowedModels, allowed_models),
                   allowed_mcp_tools = coalesce(@AllowedMcpTools, allowed_mcp_tools), expires_at = coalesce(@ExpiresAt, expires_at),
                   mcp_account_label = CASE WHEN @McpAccountLabel IS NULL THEN mcp_account_label ELSE nullif(@McpAccountLabel, '') END
            WHERE id = @id AND revoked_at IS NULL
            RETURNING key_hash
            """,
            key => new KeyChanged(Guid.CreateVersion7(), time.GetUtcNow(), id.ToString(), key), cancellationToken,
            new { id, Name = request.Name?.Trim(), request.AllowedModels, request.AllowedMcpTools, request.ExpiresAt, request.McpAccountLabel });
    }

    public Task<Outcome<KeyView>> RevokeAsync(Actor actor, Guid id, CancellationToken cancellationToken) =>
        ChangeAsync(actor, id, "key.revoke", null, "UPDATE api_keys SET revoked_at = @now WHERE id = @id AND revoked_at IS NULL RETURNING key_hash",
            key => new KeyRevoked(Guid.CreateVersion7(), time.GetUtcNow(), id.ToString(), key), cancellationToken, new { id, now = time.GetUtcNow() });

    /// <summary>A new key in the same lineage; the old one keeps working for the grace period, then stops.</summary>
    public async Task<Outcome<NewKeyView>> RotateAsync(Actor actor, Guid id, RotateKeyRequest request, CancellationToken cancellationToken)
    {
        var grace = TimeSpan.FromHours(request.GraceHours ?? 24);
        if (request.GraceHours is < 0 or > 168)
        {
            return new Outcome<NewKeyView>.Invalid(new() { ["graceHours"] = ["Between 0 and 168 hours."] });
        }
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var old = await connection.QuerySingleOrDefaultAsync<ApiKeyRecord>(new CommandDefinition(
            $"SELECT {Columns} FROM api_keys k JOIN users u ON u.id = k.owner_user_id WHERE k.id = @id FOR UPDATE OF k", new { id }, tx, cancellationToken: cancellationToken));
        if (old is null || !await MayManageAsync(actor, old.OwnerUserId, connection, cancellationToken))
        {
            return new Outcome<NewKeyView>.NotFound();
        }
        if (old.RevokedAt is not null || old.GraceUntil is not null)
        {
            return new Outcome<NewKeyView>.Invalid(new() { ["id"] = ["Only an active key that was not rotated yet can be rotated."] });
        }
        var now = time.GetUtcNow();
        var created = await store.CreateAsync(new NewApiKey(old.Name, old.OwnerUserId, old.TeamId, old.Surfaces, old.AllowedModels, old.AllowedMcpTools,
            old.ExpiresAt is { } e ? new DateTimeOffset(e, TimeSpan.Zero) : null, old.InactivityTimeout, old.McpAccountLabel), connection, tx, old.LineageId, cancellationToken);
        var oldHash = await connection.ExecuteScalarAsync<byte[]>(new CommandDefinition(
            "UPDATE api_keys SET grace_until = @until WHERE id = @id RETURNING key_hash", new { id, until = now + grace }, tx, cancellationToken: cancellationToken));
        await outbox.AddAsync(new KeyChanged(Guid.CreateVersion7(), now, id.ToString(), Convert.ToHexStringLower(oldHash!)), connection, tx, cancellationToken);
        await audit.RecordAsync(actor, "key.rotate", "api_key", id.ToString(), new { newKeyId = created.Id, graceHours = grace.TotalHours }, connection, tx, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        outbox.Flush();
        return new Outcome<NewKeyView>.Done(new NewKeyView((await FindAsync(connection, created.Id, cancellationToken))!, created.Key));
    }

    private async Task<Outcome<KeyView>> ChangeAsync<TEvent>(Actor actor, Guid id, string action, object? details, string sql,
        Func<string, TEvent> @event, CancellationToken cancellationToken, object parameters) where TEvent : class
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var owner = await connection.QuerySingleOrDefaultAsync<Guid?>(new CommandDefinition(
            "SELECT owner_user_id FROM api_keys WHERE id = @id FOR UPDATE", new { id }, tx, cancellationToken: cancellationToken));
        if (owner is null || !await MayManageAsync(actor, owner.Value, connection, cancellationToken))
        {
            return new Outcome<KeyView>.NotFound();
        }
        // The change returns the key's hash, or nothing when the key is revoked.
        if (await connection.ExecuteScalarAsync<byte[]>(new CommandDefinition(sql, parameters, tx, cancellationToken: cancellationToken)) is not { } hash)
        {
            return new Outcome<KeyView>.Invalid(new() { ["id"] = ["This key is revoked and cannot change."] });
        }
        await outbox.AddAsync(@event(Convert.ToHexStringLower(hash)), connection, tx, cancellationToken);
        await audit.RecordAsync(actor, action, "api_key", id.ToString(), details, connection, tx, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        outbox.Flush();
        return new Outcome<KeyView>.Done((await FindAsync(connection, id, cancellationToken))!);
    }

    /// <summary>Owners manage their keys; admins and their team managers too. Others do not learn the key exists.</summary>
    private static async Task<bool> MayManageAsync(Actor actor, Guid owner, NpgsqlConnection connection, CancellationToken cancellationToken) =>
        owner == actor.UserId || (actor.Can(Permissions.KeysManage) && await actor.MayActOnAsync(owner, connection, cancellationToken));

    private async Task<KeyView?> FindAsync(NpgsqlConnection connection, Guid id, CancellationToken cancellationToken)
    {
        var row = await connection.QuerySingleOrDefaultAsync<ApiKeyRecord>(new CommandDefinition(
            $"SELECT {Columns} FROM api_keys k JOIN users u ON u.id = k.owner_user_id WHERE k.id = @id", new { id }, cancellationToken: cancellationToken));
        return row is null ? null : View(row);
    }

    private static Dictionary<string, string[]> Validate(string? name, string[]? models, DateTimeOffset? expiresAt, DateTimeOffset now)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        InputRules.Name(name, "name", errors);
        InputRules.ModelPatterns(models, "allowedModels", errors);
        if (expiresAt is { } e && e <= now)
        {
            errors["expiresAt"] = ["The expiry must be in the future."];
        }
        return errors;
    }

    private KeyView View(ApiKeyRecord k)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var status = KeyValidator.Reject(k, Contracts.Common.V1.Surface.AiGateway, now)?.Reason switch
        {
            Contracts.Identity.V1.RejectionReason.Revoked => k.RevokedAt is null ? "rotated" : "revoked",
            Contracts.Identity.V1.RejectionReason.Expired => "expired",
            Contracts.Identity.V1.RejectionReason.Inactive => "inactive",
            Contracts.Identity.V1.RejectionReason.OwnerDisabled => "owner_disabled",
            _ => k.GraceUntil is null ? "active" : "rotating",
        };
        static DateTimeOffset? Utc(DateTime? d) => d?.AsUtc();
        return new KeyView(k.Id, k.LineageId, k.Name, k.KeyHint, k.OwnerUserId, k.TeamId, k.Surfaces, k.AllowedModels, k.AllowedMcpTools,
            k.McpAccountLabel, Utc(k.ExpiresAt), k.InactivityTimeout is { } t ? (int)t.TotalDays : null, Utc(k.LastUsedAt), k.CreatedAt.AsUtc(),
            Utc(k.RevokedAt), Utc(k.GraceUntil), status);
    }
}
