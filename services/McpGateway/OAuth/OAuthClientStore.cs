using Dapper;
using Npgsql;
using ThinkWatch.Integrations;
using ThinkWatch.Security;

namespace ThinkWatch.McpGateway.OAuth;

/// <summary>The gateway as an OAuth client of one server's authorization server.</summary>
public sealed record OAuthClient(
    Guid ServerId, string Issuer, Uri AuthorizationEndpoint, Uri TokenEndpoint, Uri? RevocationEndpoint, Uri? UserinfoEndpoint, string Resource,
    string? Scopes, string ClientId, string? ClientSecret, string RegisteredVia, DateTimeOffset UpdatedAt)
{
    /// <summary>Keeps the client secret out of anything that prints records.</summary>
    public override string ToString() => $"OAuthClient {{ ServerId = {ServerId}, Issuer = {Issuer}, ClientId = {ClientId}, RegisteredVia = {RegisteredVia} }}";

    /// <summary>What the console shows: everything but the secret.</summary>
    public OAuthClientView View(string redirectUri) => new(ServerId, Issuer, AuthorizationEndpoint, TokenEndpoint, RevocationEndpoint, UserinfoEndpoint, Resource,
        Scopes, ClientId, ClientSecret is not null, RegisteredVia, redirectUri, UpdatedAt);
}

public sealed record OAuthClientView(
    Guid ServerId, string Issuer, Uri AuthorizationEndpoint, Uri TokenEndpoint, Uri? RevocationEndpoint, Uri? UserinfoEndpoint, string Resource,
    string? Scopes, string ClientId, bool HasClientSecret, string RegisteredVia, string RedirectUri, DateTimeOffset UpdatedAt);

public static class RegisteredVia
{
    public const string Dynamic = "dynamic";
    public const string Manual = "manual";
}

/// <summary>OAuth clients per server in Postgres; the client secret (confidential clients only) sealed with AES-256-GCM.</summary>
public sealed class OAuthClientStore(NpgsqlDataSource dataSource, SecretBox box, EventOutbox outbox, TimeProvider time)
{
    private sealed record Row
    {
        public Guid ServerId { get; init; }
        public string Issuer { get; init; } = "";
        public string AuthorizationEndpoint { get; init; } = "";
        public string TokenEndpoint { get; init; } = "";
        public string? RevocationEndpoint { get; init; }
        public string? UserinfoEndpoint { get; init; }
        public string Resource { get; init; } = "";
        public string? Scopes { get; init; }
        public string ClientId { get; init; } = "";
        public byte[]? ClientSecret { get; init; }
        public int? KeyVersion { get; init; }
        public string RegisteredVia { get; init; } = "";
        public DateTime UpdatedAt { get; init; }
    }

    private const string Columns = """
        server_id AS ServerId, issuer AS Issuer, authorization_endpoint AS AuthorizationEndpoint, token_endpoint AS TokenEndpoint,
        revocation_endpoint AS RevocationEndpoint, userinfo_endpoint AS UserinfoEndpoint, resource AS Resource, scopes AS Scopes, client_id AS ClientId,
        client_secret AS ClientSecret, key_version AS KeyVersion, registered_via AS RegisteredVia, updated_at AS UpdatedAt
        """;

    public async Task<OAuthClient?> FindAsync(Guid serverId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM oauth_clients WHERE server_id = @serverId", new { serverId }, cancellationToken: cancellationToken));
        return row is null ? null : new OAuthClient(row.ServerId, row.Issuer, new Uri(row.AuthorizationEndpoint), new Uri(row.TokenEndpoint),
            row.RevocationEndpoint is { } r ? new Uri(r) : null, row.UserinfoEndpoint is { } u ? new Uri(u) : null, row.Resource, row.Scopes, row.ClientId,
            row.ClientSecret is { } sealedSecret ? box.Open(sealedSecret, row.KeyVersion!.Value, row.ServerId.ToByteArray()) : null, row.RegisteredVia,
            row.UpdatedAt.AsUtc());
    }

    /// <summary>Stores (or replaces) the server's client; a manual one is an admin's change and audited as such.</summary>
    public async Task SaveAsync(OAuthClient client, ConsoleActor? actor, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO oauth_clients (server_id, issuer, authorization_endpoint, token_endpoint, revocation_endpoint, userinfo_endpoint, resource, scopes,
                                       client_id, client_secret, key_version, registered_via, updated_at)
            VALUES (@ServerId, @Issuer, @AuthorizationEndpoint, @TokenEndpoint, @RevocationEndpoint, @UserinfoEndpoint, @Resource, @Scopes,
                    @ClientId, @Secret, @KeyVersion, @RegisteredVia, @Now)
            ON CONFLICT (server_id) DO UPDATE SET issuer = excluded.issuer, authorization_endpoint = excluded.authorization_endpoint,
                token_endpoint = excluded.token_endpoint, revocation_endpoint = excluded.revocation_endpoint, userinfo_endpoint = excluded.userinfo_endpoint,
                resource = excluded.resource, scopes = excluded.scopes, client_id = excluded.client_id, client_secret = excluded.client_secret,
                key_version = excluded.key_version, registered_via = excluded.registered_via, updated_at = excluded.updated_at
            """, new
        {
            client.ServerId, client.Issuer, AuthorizationEndpoint = client.AuthorizationEndpoint.ToString(), TokenEndpoint = client.TokenEndpoint.ToString(),
            RevocationEndpoint = client.RevocationEndpoint?.ToString(), UserinfoEndpoint = client.UserinfoEndpoint?.ToString(), client.Resource, client.Scopes,
            client.ClientId, Secret = client.ClientSecret is { } s ? box.Seal(s, client.ServerId.ToByteArray()) : null,
            KeyVersion = client.ClientSecret is null ? (int?)null : box.CurrentVersion, client.RegisteredVia, Now = time.GetUtcNow().UtcDateTime,
        }, tx, cancellationToken: cancellationToken));
        if (actor is not null)
        {
            await outbox.CommitAuditedAsync(actor, time.GetUtcNow(), "mcp_oauth_client.save", "mcp_server", client.ServerId.ToString(),
                new { client.Issuer, client.ClientId, client.RegisteredVia }, connection, tx, cancellationToken);
        }
        else
        {
            await tx.CommitAsync(cancellationToken);
        }
    }

    public async Task<bool> DeleteAsync(ConsoleActor actor, Guid serverId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        if (await connection.ExecuteAsync(new CommandDefinition("DELETE FROM oauth_clients WHERE server_id = @serverId", new { serverId }, tx,
                cancellationToken: cancellationToken)) == 0)
        {
            return false;
        }
        await outbox.CommitAuditedAsync(actor, time.GetUtcNow(), "mcp_oauth_client.delete", "mcp_server", serverId.ToString(), new { }, connection, tx, cancellationToken);
        return true;
    }
}
