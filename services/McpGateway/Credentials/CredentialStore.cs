using System.Text.Json;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Extensions.Caching.Memory;
using Npgsql;
using ThinkWatch.Integrations;
using ThinkWatch.Security;

namespace ThinkWatch.McpGateway.Credentials;

/// <summary>A user's account on an upstream server, as the user sees it (never the secret).</summary>
public sealed record Connection(
    Guid Id, Guid ServerId, string Label, bool IsDefault, string Kind, string? UpstreamIdentity, DateTimeOffset? ExpiresAt, DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>What a user pastes to connect a static-token server.</summary>
public sealed record StaticTokenInput(string? Label, string? Token, bool? MakeDefault);

/// <summary>The secret part of a credential, sealed as JSON (OAuth adds its refresh token and expiry).</summary>
public sealed record CredentialSecret(string AccessToken, string? RefreshToken = null);

/// <summary>A credential ready for the request path: whose, which account, the token to send upstream and until when it is good.</summary>
public sealed record UserCredential(
    Guid Id, Guid ServerId, string UserId, string Label, string Kind, CredentialSecret Secret, DateTimeOffset? ExpiresAt, DateTimeOffset UpdatedAt)
{
    /// <summary>Names the upstream session this credential opens; a changed token opens a new one.</summary>
    public string SessionIdentity => $"{Id:N}:{UpdatedAt.UtcTicks}";

    /// <summary>Keeps the token out of logs and exception messages that print records.</summary>
    public override string ToString() => $"UserCredential {{ Id = {Id}, ServerId = {ServerId}, Label = {Label}, Kind = {Kind} }}";
}

public static class CredentialKinds
{
    public const string Static = "static";
    public const string OAuth = "oauth";
}

/// <summary>
/// Users' upstream credentials in Postgres, sealed with AES-256-GCM (<see cref="SecretBox"/>, the
/// row id as associated data, so a sealed secret cannot be moved to another row). One default
/// account per (server, user); the first one connected becomes it, removing it promotes the oldest
/// other. The request path reads through a 5-second cache, dropped here on every change.
/// </summary>
public sealed partial class CredentialStore(NpgsqlDataSource dataSource, SecretBox box, EventOutbox outbox, IMemoryCache cache, TimeProvider time)
{
    public const string DefaultLabel = "default";
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(5);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    public static partial Regex Label();

    private sealed record Row
    {
        public Guid Id { get; init; }
        public Guid ServerId { get; init; }
        public string UserId { get; init; } = "";
        public string Label { get; init; } = "";
        public bool IsDefault { get; init; }
        public string Kind { get; init; } = "";
        public byte[] Secret { get; init; } = [];
        public int KeyVersion { get; init; }
        public string? UpstreamIdentity { get; init; }
        public DateTime? ExpiresAt { get; init; }
        public DateTime CreatedAt { get; init; }
        public DateTime UpdatedAt { get; init; }

        public Connection ToConnection() => new(Id, ServerId, Label, IsDefault, Kind, UpstreamIdentity, ExpiresAt?.AsUtc(), CreatedAt.AsUtc(), UpdatedAt.AsUtc());
    }

    private const string Columns = """
        id AS Id, server_id AS ServerId, user_id AS UserId, label AS Label, is_default AS IsDefault, kind AS Kind, secret AS Secret,
        key_version AS KeyVersion, upstream_identity AS UpstreamIdentity, expires_at AS ExpiresAt, created_at AS CreatedAt, updated_at AS UpdatedAt
        """;

    public async Task<IReadOnlyList<Connection>> ListAsync(string userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM credentials WHERE user_id = @userId ORDER BY server_id, label", new { userId }, cancellationToken: cancellationToken));
        return [.. rows.Select(r => r.ToConnection())];
    }

    /// <summary>
    /// The user's credential for the server: the account <paramref name="label"/>, or the default one when null. Found ones are
    /// reused for a few seconds; a miss is not remembered, so an account connected through another replica is used at once.
    /// </summary>
    public async Task<UserCredential?> FindAsync(Guid serverId, string userId, string? label, CancellationToken cancellationToken)
    {
        var key = CacheKey(serverId, userId, label);
        if (cache.TryGetValue(key, out UserCredential? cached))
        {
            return cached;
        }
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            $"""
            SELECT {Columns} FROM credentials
            WHERE server_id = @serverId AND user_id = @userId AND (label = @label OR (@label IS NULL AND is_default))
            """, new { serverId, userId, label }, cancellationToken: cancellationToken));
        return row is null ? null : cache.Set(key, Unsealed(row), Ttl);
    }

    /// <summary>One of the user's credentials by id (for revoking its tokens upstream when it is removed).</summary>
    public async Task<UserCredential?> FindByIdAsync(string userId, Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM credentials WHERE id = @id AND user_id = @userId", new { id, userId }, cancellationToken: cancellationToken));
        return row is null ? null : Unsealed(row);
    }

    /// <summary>Adds the account, or replaces the token of the user's account with this label.</summary>
    public async Task<Connection> SaveAsync(ConsoleActor actor, Guid serverId, string label, string kind, CredentialSecret secret, string? upstreamIdentity,
        DateTimeOffset? expiresAt, bool makeDefault, CancellationToken cancellationToken)
    {
        var userId = actor.UserId.ToString();
        var now = time.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        // One writer per (server, user) at a time: the default flag is decided on what is there.
        await LockAsync(connection, tx, serverId, userId, cancellationToken);
        var id = await connection.QuerySingleOrDefaultAsync<Guid?>(new CommandDefinition(
            "SELECT id FROM credentials WHERE server_id = @serverId AND user_id = @userId AND label = @label", new { serverId, userId, label }, tx,
            cancellationToken: cancellationToken)) ?? Guid.CreateVersion7();
        var hasDefault = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM credentials WHERE server_id = @serverId AND user_id = @userId AND is_default AND id <> @id)",
            new { serverId, userId, id }, tx, cancellationToken: cancellationToken));
        var isDefault = makeDefault || !hasDefault;
        if (isDefault && hasDefault)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE credentials SET is_default = false WHERE server_id = @serverId AND user_id = @userId AND is_default",
                new { serverId, userId }, tx, cancellationToken: cancellationToken));
        }
        var row = await connection.QuerySingleAsync<Row>(new CommandDefinition($"""
            INSERT INTO credentials (id, server_id, user_id, label, is_default, kind, secret, key_version, upstream_identity, expires_at, created_at, updated_at)
            VALUES (@id, @serverId, @userId, @label, @isDefault, @kind, @secret, @version, @upstreamIdentity, @expiresAt, @now, @now)
            ON CONFLICT (server_id, user_id, label) DO UPDATE SET
                is_default = excluded.is_default OR credentials.is_default, kind = excluded.kind, secret = excluded.secret,
                key_version = excluded.key_version, upstream_identity = excluded.upstream_identity, expires_at = excluded.expires_at, updated_at = excluded.updated_at
            RETURNING {Columns}
            """, new
        {
            id, serverId, userId, label, isDefault, kind, secret = box.Seal(JsonSerializer.Serialize(secret, Json), id.ToByteArray()), version = box.CurrentVersion,
            upstreamIdentity, expiresAt = expiresAt?.UtcDateTime, now,
        }, tx, cancellationToken: cancellationToken));
        await outbox.CommitAuditedAsync(actor, time.GetUtcNow(), "mcp_connection.save", "mcp_connection", row.Id.ToString(),
            new { serverId, label, kind, row.IsDefault }, connection, tx, cancellationToken);
        Forget(serverId, userId, label);
        return row.ToConnection();
    }

    public async Task<Outcome<Connection>> MakeDefaultAsync(ConsoleActor actor, Guid id, CancellationToken cancellationToken)
    {
        var userId = actor.UserId.ToString();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var serverId = await connection.QuerySingleOrDefaultAsync<Guid?>(new CommandDefinition(
            "SELECT server_id FROM credentials WHERE id = @id AND user_id = @userId", new { id, userId }, tx, cancellationToken: cancellationToken));
        if (serverId is null)
        {
            return new Outcome<Connection>.NotFound();
        }
        await LockAsync(connection, tx, serverId.Value, userId, cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE credentials SET is_default = false WHERE server_id = @serverId AND user_id = @userId AND is_default AND id <> @id",
            new { serverId, userId, id }, tx, cancellationToken: cancellationToken));
        var row = await connection.QuerySingleAsync<Row>(new CommandDefinition(
            $"UPDATE credentials SET is_default = true WHERE id = @id RETURNING {Columns}", new { id }, tx, cancellationToken: cancellationToken));
        await outbox.CommitAuditedAsync(actor, time.GetUtcNow(), "mcp_connection.default", "mcp_connection", id.ToString(),
            new { row.ServerId, row.Label }, connection, tx, cancellationToken);
        Forget(row.ServerId, userId, row.Label);
        return new Outcome<Connection>.Done(row.ToConnection());
    }

    /// <summary>Removes one of the user's accounts (revoked by the user, or its token refused for good).</summary>
    public async Task<Outcome<Connection>> DeleteAsync(ConsoleActor actor, Guid id, CancellationToken cancellationToken)
    {
        var userId = actor.UserId.ToString();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            $"DELETE FROM credentials WHERE id = @id AND user_id = @userId RETURNING {Columns}", new { id, userId }, tx, cancellationToken: cancellationToken));
        if (row is null)
        {
            return new Outcome<Connection>.NotFound();
        }
        if (row.IsDefault)
        {
            await PromoteOldestAsync(connection, tx, row.ServerId, row.UserId, cancellationToken);
        }
        await outbox.CommitAuditedAsync(actor, time.GetUtcNow(), "mcp_connection.delete", "mcp_connection", id.ToString(),
            new { row.ServerId, row.Label }, connection, tx, cancellationToken);
        Forget(row.ServerId, userId, row.Label);
        return new Outcome<Connection>.Done(row.ToConnection());
    }

    private UserCredential Unsealed(Row row) => new(row.Id, row.ServerId, row.UserId, row.Label, row.Kind,
        JsonSerializer.Deserialize<CredentialSecret>(box.Open(row.Secret, row.KeyVersion, row.Id.ToByteArray()), Json)!, row.ExpiresAt?.AsUtc(), row.UpdatedAt.AsUtc());

    /// <summary>
    /// Renews an OAuth credential at most once across every replica: under a transaction-scoped advisory lock on (server, user,
    /// label), a credential already renewed by someone else since <paramref name="stale"/> was read is returned as it is; otherwise
    /// <paramref name="renew"/> asks the authorization server. A terminal refusal removes the credential (the next call asks the
    /// user to connect again): null. A failure to reach the authorization server changes nothing and throws.
    /// </summary>
    public async Task<UserCredential?> RenewAsync(UserCredential stale, Func<UserCredential, Task<(CredentialSecret Secret, DateTimeOffset? ExpiresAt)?>> renew,
        CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var tx = await connection.BeginTransactionAsync(cancellationToken);
            await LockAsync(connection, tx, $"mcp-refresh:{stale.ServerId:N}:{stale.UserId}:{stale.Label}", cancellationToken);
            var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
                $"SELECT {Columns} FROM credentials WHERE id = @Id", new { stale.Id }, tx, cancellationToken: cancellationToken));
            if (row is null)
            {
                return null;
            }
            var current = Unsealed(row);
            if (current.UpdatedAt > stale.UpdatedAt)
            {
                return current;
            }
            if (await renew(current) is not { } renewed)
            {
                await connection.ExecuteAsync(new CommandDefinition("DELETE FROM credentials WHERE id = @Id", new { stale.Id }, tx, cancellationToken: cancellationToken));
                if (row.IsDefault)
                {
                    await PromoteOldestAsync(connection, tx, row.ServerId, row.UserId, cancellationToken);
                }
                await tx.CommitAsync(cancellationToken);
                return null;
            }
            var updated = await connection.QuerySingleAsync<Row>(new CommandDefinition($"""
                UPDATE credentials SET secret = @secret, key_version = @version, expires_at = @expiresAt, updated_at = greatest(@now, updated_at + interval '1 microsecond')
                WHERE id = @Id RETURNING {Columns}
                """, new
            {
                stale.Id, secret = box.Seal(JsonSerializer.Serialize(renewed.Secret, Json), stale.Id.ToByteArray()), version = box.CurrentVersion,
                expiresAt = renewed.ExpiresAt?.UtcDateTime, now = time.GetUtcNow().UtcDateTime,
            }, tx, cancellationToken: cancellationToken));
            await tx.CommitAsync(cancellationToken);
            return Unsealed(updated);
        }
        finally
        {
            // Whatever came of it, this replica reads the row again next time.
            Forget(stale.ServerId, stale.UserId, stale.Label);
        }
    }

    /// <summary>Serialises changes to one user's accounts on one server (across replicas, until the transaction ends).</summary>
    private static Task LockAsync(NpgsqlConnection connection, NpgsqlTransaction tx, Guid serverId, string userId, CancellationToken cancellationToken) =>
        LockAsync(connection, tx, $"mcp-credential:{serverId:N}:{userId}", cancellationToken);

    /// <summary>A transaction-scoped advisory lock on <paramref name="key"/>, held by one transaction across every replica.</summary>
    private static Task LockAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string key, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(hashtextextended(@key, 0))", new { key }, tx, cancellationToken: cancellationToken));

    /// <summary>After the default account went, the user's oldest remaining account on the server becomes the default.</summary>
    private static Task PromoteOldestAsync(NpgsqlConnection connection, NpgsqlTransaction tx, Guid serverId, string userId, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition("""
            UPDATE credentials SET is_default = true
            WHERE id = (SELECT id FROM credentials WHERE server_id = @serverId AND user_id = @userId ORDER BY created_at LIMIT 1)
            """, new { serverId, userId }, tx, cancellationToken: cancellationToken));

    private void Forget(Guid serverId, string userId, string label)
    {
        cache.Remove(CacheKey(serverId, userId, label));
        cache.Remove(CacheKey(serverId, userId, null));
    }

    private static (string, Guid, string, string?) CacheKey(Guid serverId, string userId, string? label) => ("mcp-credential", serverId, userId, label);
}
