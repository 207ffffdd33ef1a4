using System.Net;
using System.Security.Cryptography;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;
using ThinkWatch.Identity.Passwords;
using ThinkWatch.Identity.Setup;
using ThinkWatch.Security;

namespace ThinkWatch.Identity.Auth;

public abstract record SignInOutcome
{
    public sealed record Success(TokenResponse Tokens) : SignInOutcome;
    /// <summary>Wrong email, wrong password, disabled account or a refused refresh: the caller learns no more.</summary>
    public sealed record Refused(string Message) : SignInOutcome;
    public sealed record Throttled(TimeSpan RetryAfter) : SignInOutcome;
}

/// <summary>Sign-in, refresh and sign-out of console sessions.</summary>
public sealed class SessionService(
    NpgsqlDataSource dataSource, PasswordHasher hasher, LoginThrottle throttle, ConsoleTokenIssuer tokens,
    IOptions<IdentityOptions> options, TimeProvider time)
{
    private const string InvalidCredentials = "Invalid email or password.";
    private const string InvalidRefresh = "The refresh token is not valid; sign in again.";
    // Verified against when the account does not exist, so both cases take as long.
    private readonly Lazy<string> _dummyHash = new(() => hasher.Hash(Convert.ToBase64String(RandomNumberGenerator.GetBytes(16))));

    private sealed record UserRow(Guid Id, string Email, string DisplayName, string Role, string? PasswordHash, bool Disabled);

    public async Task<SignInOutcome> LoginAsync(string email, string password, IPAddress? ip, string? userAgent, CancellationToken cancellationToken)
    {
        var o = options.Value;
        string[] keys = [LoginThrottle.IpKey(ip), LoginThrottle.AccountKey(email)];
        if (await throttle.LockedForAsync(keys, cancellationToken) is { } lockedFor)
        {
            return new SignInOutcome.Throttled(lockedFor);
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var user = await connection.QuerySingleOrDefaultAsync<UserRow>(new CommandDefinition("""
            SELECT id, email, display_name AS DisplayName, role, password_hash AS PasswordHash, disabled
            FROM users WHERE lower(email) = lower(@email) AND deleted_at IS NULL
            """, new { email = email.Trim() }, cancellationToken: cancellationToken));
        var verified = hasher.Verify(password, user?.PasswordHash ?? _dummyHash.Value);
        if (user is null || !verified || user.Disabled)
        {
            await throttle.RecordFailureAsync(keys[0], o.MaxFailedLoginsPerIp, cancellationToken);
            await throttle.RecordFailureAsync(keys[1], o.MaxFailedLoginsPerAccount, cancellationToken);
            return new SignInOutcome.Refused(InvalidCredentials);
        }
        await throttle.ResetAsync(keys[1], cancellationToken);
        if (hasher.NeedsRehash(user.PasswordHash!))
        {
            await connection.ExecuteAsync(new CommandDefinition("UPDATE users SET password_hash = @hash WHERE id = @Id",
                new { hash = hasher.Hash(password), user.Id }, cancellationToken: cancellationToken));
        }

        return new SignInOutcome.Success(await StartSessionAsync(new UserView(user.Id, user.Email, user.DisplayName, user.Role), ip, userAgent, cancellationToken));
    }

    /// <summary>A new console session for a user who proved who they are (password or SSO).</summary>
    public async Task<TokenResponse> StartSessionAsync(UserView user, IPAddress? ip, string? userAgent, CancellationToken cancellationToken)
    {
        var sessionId = Guid.CreateVersion7();
        var now = time.GetUtcNow();
        var refresh = NewRefreshToken();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO sessions (id, user_id, client_ip, user_agent, created_at, expires_at) VALUES (@sessionId, @userId, @ip::inet, @userAgent, @now, @expires);
            INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (@hash, @sessionId, @now);
            """, new { sessionId, userId = user.Id, ip = ip?.ToString(), userAgent = userAgent?[..Math.Min(userAgent.Length, 300)], now, expires = now + options.Value.SessionLifetime, hash = Hash(refresh) },
            cancellationToken: cancellationToken));
        return Tokens(user, sessionId, refresh);
    }

    private sealed record RefreshRow(Guid SessionId, DateTime? UsedAt, string? ClientIp, DateTime ExpiresAt, DateTime? RevokedAt,
        Guid UserId, string Email, string DisplayName, string Role, bool Active);

    /// <summary>
    /// Trades a refresh token for new tokens. Each refresh token works once; a second use, or a
    /// use from another IP than the session's, means it was stolen: the whole session is revoked.
    /// </summary>
    public async Task<SignInOutcome> RefreshAsync(string refreshToken, IPAddress? ip, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<RefreshRow>(new CommandDefinition("""
            SELECT r.session_id AS SessionId, r.used_at AS UsedAt, host(s.client_ip) AS ClientIp, s.expires_at AS ExpiresAt, s.revoked_at AS RevokedAt,
                   u.id AS UserId, u.email, u.display_name AS DisplayName, u.role, (NOT u.disabled AND u.deleted_at IS NULL) AS Active
            FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id JOIN users u ON u.id = s.user_id
            WHERE r.token_hash = @hash
            FOR UPDATE OF r, s
            """, new { hash = Hash(refreshToken) }, tx, cancellationToken: cancellationToken));
        if (row is null || row.RevokedAt is not null || row.ExpiresAt <= now.UtcDateTime || !row.Active)
        {
            return new SignInOutcome.Refused(InvalidRefresh);
        }
        var reuse = row.UsedAt is not null;
        var otherIp = row.ClientIp != ip?.ToString();
        if (reuse || otherIp)
        {
            await RevokeAsync(connection, tx, row.SessionId, reuse ? "refresh token reused" : $"refresh from another IP ({ip})", cancellationToken);
            await tx.CommitAsync(cancellationToken);
            return new SignInOutcome.Refused(InvalidRefresh);
        }
        var next = NewRefreshToken();
        await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE refresh_tokens SET used_at = @now WHERE token_hash = @old;
            INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (@new, @session, @now);
            """, new { now, old = Hash(refreshToken), @new = Hash(next), session = row.SessionId }, tx, cancellationToken: cancellationToken));
        await tx.CommitAsync(cancellationToken);
        return new SignInOutcome.Success(Tokens(new UserView(row.UserId, row.Email, row.DisplayName, row.Role), row.SessionId, next));
    }

    public async Task LogoutAsync(Guid sessionId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await RevokeAsync(connection, null, sessionId, "signed out", cancellationToken);
    }

    /// <summary>Identity's own endpoints also refuse access tokens of sessions that ended.</summary>
    public async Task<bool> IsActiveAsync(Guid sessionId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM sessions WHERE id = @sessionId AND revoked_at IS NULL AND expires_at > @now)",
            new { sessionId, now = time.GetUtcNow() }, cancellationToken: cancellationToken));
    }

    private async Task RevokeAsync(NpgsqlConnection connection, NpgsqlTransaction? tx, Guid sessionId, string reason, CancellationToken cancellationToken) =>
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE sessions SET revoked_at = @now, revoke_reason = @reason WHERE id = @sessionId AND revoked_at IS NULL",
            new { sessionId, reason, now = time.GetUtcNow() }, tx, cancellationToken: cancellationToken));

    private TokenResponse Tokens(UserView user, Guid sessionId, string refreshToken)
    {
        var (access, expires) = tokens.Issue(user.Id, user.Email, user.Role, sessionId);
        return new TokenResponse(access, "Bearer", (int)(expires - time.GetUtcNow()).TotalSeconds, expires, refreshToken, user);
    }

    private static string NewRefreshToken() => System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    private static byte[] Hash(string token) => TokenHash.Of(token);
}
