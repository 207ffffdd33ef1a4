using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Extensions.Caching.Memory;
using Npgsql;
using ThinkWatch.Integrations;
using ThinkWatch.Security;

namespace ThinkWatch.McpGateway.Access;

/// <summary>A role may use the tools of a server matching <see cref="Tools"/> (a name or a pattern with '*').</summary>
public sealed record ToolGrant(Guid Id, string Role, Guid ServerId, string Tools, DateTimeOffset CreatedAt);

public sealed record ToolGrantInput(string? Role, Guid? ServerId, string? Tools);

/// <summary>Tool grants in Postgres; changes commit with their admin audit record.</summary>
public sealed partial class GrantStore(NpgsqlDataSource dataSource, EventOutbox outbox, IMemoryCache cache, TimeProvider time)
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(5);
    private const string CacheKey = "mcp-grants";
    private const string Columns = "id AS Id, role AS Role, server_id AS ServerId, tools AS Tools, created_at AS CreatedAt";

    [GeneratedRegex("^[A-Za-z0-9_.*-]{1,128}$")]
    private static partial Regex ToolPattern();

    private sealed record Row(Guid Id, string Role, Guid ServerId, string Tools, DateTime CreatedAt)
    {
        public ToolGrant ToGrant() => new(Id, Role, ServerId, Tools, CreatedAt.AsUtc());
    }

    public async Task<IReadOnlyList<ToolGrant>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition($"SELECT {Columns} FROM grants ORDER BY role, server_id, tools",
            cancellationToken: cancellationToken));
        return [.. rows.Select(r => r.ToGrant())];
    }

    /// <summary>Every grant, as the /mcp path reads them: reused for a few seconds (changes on another replica are seen within that).</summary>
    public async Task<IReadOnlyList<ToolGrant>> CachedAsync(CancellationToken cancellationToken) =>
        await cache.GetOrCreateAsync(CacheKey, async entry =>
        {
            entry.AbsoluteExpirationRelativeToNow = Ttl;
            return await ListAsync(cancellationToken);
        }) ?? [];

    public async Task<Outcome<ToolGrant>> CreateAsync(ConsoleActor actor, ToolGrantInput input, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (!Roles.IsRole(input.Role))
        {
            errors["role"] = [$"One of {string.Join(", ", Roles.All)}."];
        }
        else if (!Roles.Has(input.Role!, Permissions.McpConnect))
        {
            // It could never be used: /mcp refuses the role before any grant is looked at.
            errors["role"] = [$"The role {input.Role} may not connect to /mcp ({Permissions.McpConnect}); a grant would never apply."];
        }
        if (input.ServerId is null)
        {
            errors["serverId"] = ["Required."];
        }
        if (input.Tools is not { } tools || !ToolPattern().IsMatch(tools))
        {
            errors["tools"] = ["Required: a tool name of the server (as the server names it, without the server prefix) or a pattern with '*'."];
        }
        if (errors.Count > 0)
        {
            return new Outcome<ToolGrant>.Invalid(errors);
        }
        var row = new Row(Guid.CreateVersion7(), input.Role!, input.ServerId!.Value, input.Tools!, time.GetUtcNow().UtcDateTime);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO grants (id, role, server_id, tools, created_at) VALUES (@Id, @Role, @ServerId, @Tools, @CreatedAt)", row, tx,
                cancellationToken: cancellationToken));
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return new Outcome<ToolGrant>.Invalid(new() { ["tools"] = ["This role has this grant on this server already."] });
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            return new Outcome<ToolGrant>.Invalid(new() { ["serverId"] = ["No such server."] });
        }
        await outbox.CommitAuditedAsync(actor, time.GetUtcNow(), "mcp_grant.create", "mcp_grant", row.Id.ToString(),
            new { row.Role, row.ServerId, row.Tools }, connection, tx, cancellationToken);
        cache.Remove(CacheKey);
        return new Outcome<ToolGrant>.Done(row.ToGrant());
    }

    public async Task<Outcome<ToolGrant>> DeleteAsync(ConsoleActor actor, Guid id, CancellationToken cancellationToken)
    {
        var row = await outbox.DeleteAuditedAsync<Row>(dataSource, actor, time.GetUtcNow(), $"DELETE FROM grants WHERE id = @id RETURNING {Columns}", new { id },
            "mcp_grant.delete", "mcp_grant", id.ToString(), r => new { r.Role, r.ServerId, r.Tools }, cancellationToken);
        cache.Remove(CacheKey);
        return row is null ? new Outcome<ToolGrant>.NotFound() : new Outcome<ToolGrant>.Done(row.ToGrant());
    }
}

/// <summary>/api/mcp/grants: who may use which tools (mcp:manage).</summary>
public static class GrantsApi
{
    public static IEndpointRouteBuilder MapGrantsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/mcp/grants").WithTags("MCP tool grants").RequirePermission(Permissions.McpManage);
        group.MapGet("/", (GrantStore s, CancellationToken ct) => s.ListAsync(ct));
        group.MapPost("/", async (GrantStore s, HttpContext http, ToolGrantInput input, CancellationToken ct) =>
            OutcomeResults.Created(await s.CreateAsync(ConsoleActor.From(http), input, ct), grant => $"/api/mcp/grants/{grant.Id}"));
        group.MapDelete("/{id:guid}", async (GrantStore s, HttpContext http, Guid id, CancellationToken ct) =>
            OutcomeResults.Map(await s.DeleteAsync(ConsoleActor.From(http), id, ct)));
        return app;
    }
}
