using System.Text.Json;
using Npgsql;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Integrations;
using ThinkWatch.Security;

namespace ThinkWatch.Quota.Rules;

/// <summary>
/// Commits a change to limits or prices with its events: ConfigChanged (every replica reloads its
/// rule book) and the admin audit record, both through the outbox in the change's transaction.
/// </summary>
public sealed class ConfigChanges(EventOutbox outbox, RuleBookCache cache, TimeProvider time)
{
    public async Task CommitAsync<T>(ConsoleActor actor, string area, string action, string targetKind, string targetId, T details,
        NpgsqlConnection connection, NpgsqlTransaction tx, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await outbox.AddAsync(new ConfigChanged(Guid.CreateVersion7(), now, area, targetId), connection, tx, cancellationToken);
        await outbox.CommitAuditedAsync(actor, now, action, targetKind, targetId, details!, connection, tx, cancellationToken);
        // This replica at once; the others on the event.
        cache.Invalidate();
    }
}
