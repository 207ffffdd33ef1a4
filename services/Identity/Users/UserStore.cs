using Dapper;
using Npgsql;
using ThinkWatch.Identity.Setup;

namespace ThinkWatch.Identity.Users;

/// <summary>Users in Postgres (schema identity); soft-deleted users are invisible here.</summary>
public sealed class UserStore(NpgsqlDataSource dataSource)
{
    public async Task<UserView?> FindAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<UserView>(new CommandDefinition(
            "SELECT id, email, display_name AS DisplayName, role FROM users WHERE id = @id AND deleted_at IS NULL",
            new { id }, cancellationToken: cancellationToken));
    }
}
