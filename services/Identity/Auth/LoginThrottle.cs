using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ThinkWatch.Identity.Auth;

/// <summary>
/// Failed sign-ins counted per client IP and per account name in Postgres (so every replica
/// sees the same counts); past the limit within the window, the key is locked for a while.
/// </summary>
public sealed class LoginThrottle(NpgsqlDataSource dataSource, IOptions<IdentityOptions> options, TimeProvider time)
{
    public static string IpKey(System.Net.IPAddress? ip) => "ip:" + (ip?.ToString() ?? "unknown");
    public static string AccountKey(string email) => "account:" + email.Trim().ToLowerInvariant();

    /// <summary>How long until the longest lock among <paramref name="keys"/> ends; null when none is locked.</summary>
    public async Task<TimeSpan?> LockedForAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var until = await connection.ExecuteScalarAsync<DateTime?>(new CommandDefinition(
            "SELECT max(locked_until) FROM login_throttle WHERE key = ANY(@keys) AND locked_until > @now",
            new { keys = keys.ToArray(), now = time.GetUtcNow() }, cancellationToken: cancellationToken));
        return until is { } u ? u - time.GetUtcNow().UtcDateTime : null;
    }

    public async Task RecordFailureAsync(string key, int limit, CancellationToken cancellationToken)
    {
        var o = options.Value;
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        // One statement, so concurrent failures all count.
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO login_throttle AS t (key, failures, window_started_at) VALUES (@key, 1, @now)
            ON CONFLICT (key) DO UPDATE SET
                failures = CASE WHEN t.window_started_at < @windowStart THEN 1 ELSE t.failures + 1 END,
                window_started_at = CASE WHEN t.window_started_at < @windowStart THEN @now ELSE t.window_started_at END;
            UPDATE login_throttle SET locked_until = @lockedUntil, failures = 0, window_started_at = @now
            WHERE key = @key AND failures >= @limit;
            """,
            new { key, now, windowStart = now - o.LoginFailureWindow, lockedUntil = now + o.LockoutDuration, limit },
            cancellationToken: cancellationToken));
    }

    public async Task ResetAsync(string key, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM login_throttle WHERE key = @key", new { key }, cancellationToken: cancellationToken));
    }
}
