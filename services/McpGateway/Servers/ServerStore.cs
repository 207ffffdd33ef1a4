using Dapper;
using Npgsql;
using ThinkWatch.Integrations;
using ThinkWatch.Security;

namespace ThinkWatch.McpGateway.Servers;

/// <summary>Upstream servers in Postgres; every change commits with its admin audit record through the outbox.</summary>
public sealed class ServerStore(NpgsqlDataSource dataSource, EventOutbox outbox, Microsoft.Extensions.Options.IOptionsMonitor<McpGatewayOptions> options, TimeProvider time)
{
    private sealed record Row
    {
        public Guid Id { get; init; }
        public string Name { get; init; } = "";
        public string DisplayName { get; init; } = "";
        public string Url { get; init; } = "";
        public string Transport { get; init; } = "";
        public string AuthMode { get; init; } = "";
        public bool Enabled { get; init; }
        public string Status { get; init; } = "";
        public string? StatusDetail { get; init; }
        public DateTime? CheckedAt { get; init; }
        public DateTime CreatedAt { get; init; }
        public DateTime UpdatedAt { get; init; }
        public string? Template { get; init; }
        public string? Scopes { get; init; }
        public string? UserinfoEndpoint { get; init; }

        public McpServer ToServer() => new(Id, Name, DisplayName, new Uri(Url), Transport, AuthMode, Enabled, Status, StatusDetail,
            CheckedAt?.AsUtc(), CreatedAt.AsUtc(), UpdatedAt.AsUtc(), Template, Scopes, UserinfoEndpoint is { } u ? new Uri(u) : null);
    }

    private const string Columns = """
        id AS Id, name AS Name, display_name AS DisplayName, url AS Url, transport AS Transport, auth_mode AS AuthMode, enabled AS Enabled,
        status AS Status, status_detail AS StatusDetail, checked_at AS CheckedAt, created_at AS CreatedAt, updated_at AS UpdatedAt,
        template AS Template, scopes AS Scopes, userinfo_endpoint AS UserinfoEndpoint
        """;

    public async Task<IReadOnlyList<McpServer>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition($"SELECT {Columns} FROM servers ORDER BY name", cancellationToken: cancellationToken));
        return [.. rows.Select(r => r.ToServer())];
    }

    public async Task<Outcome<McpServer>> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM servers WHERE id = @id", new { id }, cancellationToken: cancellationToken));
        return row is null ? new Outcome<McpServer>.NotFound() : new Outcome<McpServer>.Done(row.ToServer());
    }

    public async Task<Outcome<McpServer>> CreateAsync(ConsoleActor actor, McpServerInput input, CancellationToken cancellationToken, string? template = null)
    {
        var errors = ServerValidation.Check(input, options.CurrentValue.StdioServers.Keys);
        if (errors.Count == 0)
        {
            errors = await ServerValidation.CheckDestinationsAsync(input, options.CurrentValue.AllowPrivateNetworkUpstreams, cancellationToken);
        }
        if (errors.Count > 0)
        {
            return new Outcome<McpServer>.Invalid(errors);
        }
        var now = time.GetUtcNow().UtcDateTime;
        var row = new Row
        {
            Id = Guid.CreateVersion7(), Name = input.Name!, DisplayName = input.DisplayName?.Trim() is { Length: > 0 } d ? d : input.Name!,
            Url = new Uri(input.Url!).ToString(), Transport = input.Transport ?? ServerTransports.StreamableHttp, AuthMode = input.AuthMode ?? AuthModes.None,
            Enabled = input.Enabled ?? true, Status = ServerStatus.Unknown, CreatedAt = now, UpdatedAt = now,
            Template = template, Scopes = input.Scopes?.Trim() is { Length: > 0 } scopes ? scopes : null, UserinfoEndpoint = input.UserinfoEndpoint,
        };
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        try
        {
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO servers (id, name, display_name, url, transport, auth_mode, enabled, status, created_at, updated_at, template, scopes, userinfo_endpoint)
                VALUES (@Id, @Name, @DisplayName, @Url, @Transport, @AuthMode, @Enabled, @Status, @CreatedAt, @UpdatedAt, @Template, @Scopes, @UserinfoEndpoint)
                """, row, tx, cancellationToken: cancellationToken));
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return new Outcome<McpServer>.Invalid(new() { ["name"] = [$"A server named '{row.Name}' exists already."] });
        }
        await outbox.CommitAuditedAsync(actor, time.GetUtcNow(), "mcp_server.create", "mcp_server", row.Id.ToString(),
            new { row.Name, row.Url, row.Transport, row.AuthMode, row.Template }, connection, tx, cancellationToken);
        return new Outcome<McpServer>.Done(row.ToServer());
    }

    public async Task<Outcome<McpServer>> DeleteAsync(ConsoleActor actor, Guid id, CancellationToken cancellationToken)
    {
        var row = await outbox.DeleteAuditedAsync<Row>(dataSource, actor, time.GetUtcNow(), $"DELETE FROM servers WHERE id = @id RETURNING {Columns}", new { id },
            "mcp_server.delete", "mcp_server", id.ToString(), r => new { r.Name }, cancellationToken);
        return row is null ? new Outcome<McpServer>.NotFound() : new Outcome<McpServer>.Done(row.ToServer());
    }

    /// <summary>Records a health probe's verdict.</summary>
    public async Task SetStatusAsync(Guid id, string status, string? detail, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE servers SET status = @status, status_detail = @detail, checked_at = @now WHERE id = @id",
            new { id, status, detail, now = time.GetUtcNow().UtcDateTime }, cancellationToken: cancellationToken));
    }
}
