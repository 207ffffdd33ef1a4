using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Integrations;

namespace ThinkWatch.Identity.Maintenance;

/// <summary>
/// Periodic housekeeping: warns owners of keys about to expire (once per key), purges users
/// soft-deleted longer ago than <see cref="IdentityOptions.PurgeDeletedAfter"/> with their
/// sessions, keys and memberships, deletes sessions that ended longer ago than
/// <see cref="IdentityOptions.KeepEndedSessions"/> with their refresh tokens, and sign-in throttle
/// rows whose window and lock are over. Replicas may run it at once: each step is idempotent.
/// </summary>
public sealed partial class IdentityMaintenance(
    NpgsqlDataSource dataSource, EventOutbox outbox, IOptions<IdentityOptions> options, TimeProvider time,
    IEnumerable<StartupStep> startup, ILogger<IdentityMaintenance> logger) : BackgroundService
{
    public sealed record Result(int Warned, int Purged, int EndedSessions, int ThrottleRows);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await StartupStep.WhenAllCompletedAsync(startup, stoppingToken);
        using var timer = new PeriodicTimer(options.Value.MaintenanceInterval, time);
        do
        {
            try
            {
                var result = await RunOnceAsync(stoppingToken);
                LogRan(logger, result.Warned, result.Purged, result.EndedSessions, result.ThrottleRows);
            }
            catch (NpgsqlException ex)
            {
                LogFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public async Task<Result> RunOnceAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);

        var expiring = (await connection.QueryAsync<(Guid Id, Guid Owner, string Name, DateTime ExpiresAt)>(new CommandDefinition("""
            UPDATE api_keys SET expiry_warned_at = @now
            WHERE revoked_at IS NULL AND expiry_warned_at IS NULL AND expires_at > @now AND expires_at <= @horizon
            RETURNING id, owner_user_id, name, expires_at
            """, new { now, horizon = now + o.KeyExpiryWarning }, tx, cancellationToken: cancellationToken))).ToList();
        foreach (var key in expiring)
        {
            await outbox.AddAsync(new KeyExpiring(Guid.CreateVersion7(), now, key.Id.ToString(), key.Owner.ToString(), key.Name,
                key.ExpiresAt.AsUtc()), connection, tx, cancellationToken);
        }

        await connection.ExecuteAsync(new CommandDefinition("""
            CREATE TEMP TABLE purge ON COMMIT DROP AS SELECT id FROM users WHERE deleted_at < @cutoff;
            DELETE FROM refresh_tokens WHERE session_id IN (SELECT s.id FROM sessions s JOIN purge p ON p.id = s.user_id);
            DELETE FROM sessions WHERE user_id IN (SELECT id FROM purge);
            DELETE FROM api_keys WHERE owner_user_id IN (SELECT id FROM purge);
            DELETE FROM team_members WHERE user_id IN (SELECT id FROM purge);
            DELETE FROM users WHERE id IN (SELECT id FROM purge);
            """, new { cutoff = now - o.PurgeDeletedAfter }, tx, cancellationToken: cancellationToken));
        var users = await connection.ExecuteScalarAsync<int>(new CommandDefinition("SELECT count(*)::int FROM purge", transaction: tx, cancellationToken: cancellationToken));

        // A session ended when it was revoked or expired, whichever came first (least ignores a NULL revoked_at).
        await connection.ExecuteAsync(new CommandDefinition("""
            CREATE TEMP TABLE ended ON COMMIT DROP AS SELECT id FROM sessions WHERE least(revoked_at, expires_at) < @endedBefore;
            DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM ended);
            DELETE FROM sessions WHERE id IN (SELECT id FROM ended);
            """, new { endedBefore = now - o.KeepEndedSessions }, tx, cancellationToken: cancellationToken));
        var sessions = await connection.ExecuteScalarAsync<int>(new CommandDefinition("SELECT count(*)::int FROM ended", transaction: tx, cancellationToken: cancellationToken));
        // A row whose window is over counts from zero again anyway; one still locked stays.
        var throttle = await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM login_throttle WHERE window_started_at < @windowStart AND (locked_until IS NULL OR locked_until <= @now)",
            new { now, windowStart = now - o.LoginFailureWindow }, tx, cancellationToken: cancellationToken));
        await tx.CommitAsync(cancellationToken);
        outbox.Flush();
        return new Result(expiring.Count, users, sessions, throttle);
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information,
        Message = "Maintenance: {Warned} expiry warnings, {Purged} deleted users purged, {Sessions} ended sessions and {Throttle} sign-in throttle rows removed")]
    private static partial void LogRan(ILogger logger, int warned, int purged, int sessions, int throttle);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "Maintenance failed; retried at the next interval")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
