using Dapper;
using Npgsql;
using ThinkWatch.Security;
using ThinkWatch.Identity.Keys;
using ThinkWatch.Identity.Passwords;
using ThinkWatch.Identity.Providers;
using ThinkWatch.Integrations;
using ThinkWatch.Contracts.Events;

namespace ThinkWatch.Identity.Setup;

/// <summary>Whether first-run setup happened; once it has, it stays so (cached).</summary>
public sealed class SetupStatus(NpgsqlDataSource dataSource)
{
    private volatile bool _complete;

    public async ValueTask<bool> IsCompleteAsync(CancellationToken cancellationToken)
    {
        if (!_complete)
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            _complete = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT EXISTS (SELECT 1 FROM setup_state)", cancellationToken: cancellationToken));
        }
        return _complete;
    }

    internal void MarkComplete() => _complete = true;
}

/// <summary>Creates the first super admin (and optionally a first key) exactly once, even under concurrent calls.</summary>
public sealed class SetupService(NpgsqlDataSource dataSource, PasswordHasher hasher, ApiKeyStore keys, ProviderManagement providers,
    EventOutbox outbox, SetupStatus status, TimeProvider time)
{
    public async Task<SetupResponse?> RunAsync(SetupRequest request, CancellationToken cancellationToken)
    {
        if (await status.IsCompleteAsync(cancellationToken))
        {
            return null;
        }
        // Hash before taking the lock: Argon2 is deliberately slow.
        var passwordHash = hasher.Hash(request.Password!);
        var now = time.GetUtcNow();
        var user = new UserView(Guid.CreateVersion7(), request.Email!.Trim(), request.DisplayName!.Trim(), Roles.SuperAdmin);

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("LOCK TABLE setup_state IN EXCLUSIVE MODE", transaction: tx, cancellationToken: cancellationToken));
        if (await connection.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT EXISTS (SELECT 1 FROM setup_state)", transaction: tx, cancellationToken: cancellationToken)))
        {
            status.MarkComplete();
            return null;
        }
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO users (id, email, display_name, role, password_hash, created_at, updated_at)
            VALUES (@Id, @Email, @DisplayName, @Role, @passwordHash, @now, @now);
            INSERT INTO setup_state (completed_at, super_admin_id) VALUES (@now, @Id);
            """, new { user.Id, user.Email, user.DisplayName, user.Role, passwordHash, now }, tx, cancellationToken: cancellationToken));

        CreatedKeyView? keyView = null;
        if (request.ApiKey is { } k)
        {
            var newKey = KeyManagement.ToNewKey(k, user.Id);
            var created = await keys.CreateAsync(newKey, connection, tx, cancellationToken: cancellationToken);
            keyView = new CreatedKeyView(created.Id, created.LineageId, created.Key, created.KeyHint, newKey.Name, newKey.Surfaces, newKey.AllowedModels,
                newKey.AllowedMcpTools, newKey.McpAccountLabel, newKey.ExpiresAt, k.InactivityTimeoutDays);
        }
        Guid? providerId = null;
        if (request.Provider is { } provider)
        {
            providerId = Guid.CreateVersion7();
            await providers.InsertAsync(providerId.Value, provider, connection, tx, cancellationToken);
            await outbox.AddAsync(new ConfigChanged(Guid.CreateVersion7(), now, "providers", providerId.ToString()), connection, tx, cancellationToken);
        }
        await tx.CommitAsync(cancellationToken);
        outbox.Flush();
        status.MarkComplete();
        return new SetupResponse(user, keyView, providerId);
    }

    public static Dictionary<string, string[]> Validate(SetupRequest request, DateTimeOffset now)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        InputRules.Email(request.Email, "email", errors);
        InputRules.Name(request.DisplayName, "displayName", errors);
        if (PasswordPolicy.Check(request.Password) is { Count: > 0 } problems)
        {
            errors["password"] = [.. problems];
        }
        if (request.ApiKey is { } key)
        {
            foreach (var (field, messages) in KeyManagement.ValidateNew(key, now))
            {
                errors["apiKey." + field] = messages;
            }
            // The only user and no team exist yet: the key can belong to nobody else.
            if (key.OwnerUserId is not null)
            {
                errors["apiKey.ownerUserId"] = ["The first key belongs to the administrator being created; leave this out."];
            }
            if (key.TeamId is not null)
            {
                errors["apiKey.teamId"] = ["No team exists before setup; leave this out."];
            }
        }
        if (request.Provider is { } provider)
        {
            foreach (var (field, messages) in ProviderManagement.ValidateNew(provider))
            {
                errors["provider." + field] = messages;
            }
        }
        return errors;
    }
}
