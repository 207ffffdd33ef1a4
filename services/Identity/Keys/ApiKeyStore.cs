using System.Data.Common;
using Dapper;
using Npgsql;

namespace ThinkWatch.Identity.Keys;

/// <summary>API keys in Postgres (schema identity).</summary>
public sealed class ApiKeyStore(NpgsqlDataSource dataSource, TimeProvider time)
{
    /// <summary>Stores a new key and returns its plaintext, which is not kept anywhere.</summary>
    public async Task<CreatedApiKey> CreateAsync(NewApiKey request, DbConnection connection, DbTransaction? transaction, Guid? lineageId = null, CancellationToken cancellationToken = default)
    {
        var key = KeyMaterial.Generate();
        var created = new CreatedApiKey(Guid.CreateVersion7(), lineageId ?? Guid.CreateVersion7(), key, KeyMaterial.Hint(key));
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO api_keys (id, lineage_id, key_hash, key_hint, name, owner_user_id, team_id, surfaces,
                                  allowed_models, allowed_mcp_tools, mcp_account_label, expires_at, inactivity_timeout, created_at)
            VALUES (@Id, @LineageId, @Hash, @Hint, @Name, @Owner, @Team, @Surfaces, @Models, @Tools, @McpAccountLabel, @ExpiresAt, @Inactivity, @Now)
            """,
            new
            {
                created.Id, created.LineageId, Hash = KeyMaterial.Hash(key), Hint = created.KeyHint, request.Name,
                Owner = request.OwnerUserId, Team = request.TeamId, Surfaces = request.Surfaces.ToArray(),
                Models = request.AllowedModels.ToArray(), Tools = request.AllowedMcpTools.ToArray(),
                request.McpAccountLabel, request.ExpiresAt, Inactivity = request.InactivityTimeout, Now = time.GetUtcNow(),
            },
            transaction, cancellationToken: cancellationToken));
        return created;
    }

    public async Task<ApiKeyRecord?> FindByHashAsync(byte[] keyHash, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<ApiKeyRecord>(new CommandDefinition("""
            SELECT k.id, k.lineage_id AS LineageId, k.key_hint AS KeyHint, k.name, k.owner_user_id AS OwnerUserId, k.team_id AS TeamId,
                   k.surfaces, k.allowed_models AS AllowedModels, k.allowed_mcp_tools AS AllowedMcpTools, k.mcp_account_label AS McpAccountLabel, k.expires_at AS ExpiresAt,
                   k.inactivity_timeout AS InactivityTimeout, k.last_used_at AS LastUsedAt, k.created_at AS CreatedAt,
                   k.revoked_at AS RevokedAt, k.grace_until AS GraceUntil,
                   u.role AS OwnerRole, (NOT u.disabled AND u.deleted_at IS NULL) AS OwnerActive
            FROM api_keys k JOIN users u ON u.id = k.owner_user_id
            WHERE k.key_hash = @keyHash
            """, new { keyHash }, cancellationToken: cancellationToken));
    }

    /// <summary>Records use, at most once per <paramref name="resolution"/> per key (no write per request).</summary>
    public async Task TouchAsync(Guid id, DateTimeOffset now, TimeSpan resolution, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE api_keys SET last_used_at = @now WHERE id = @id AND (last_used_at IS NULL OR last_used_at < @stale)",
            new { id, now, stale = now - resolution }, cancellationToken: cancellationToken));
    }
}
