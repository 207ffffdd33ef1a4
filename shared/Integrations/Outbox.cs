using System.Collections.Frozen;
using System.Data.Common;
using System.Text.Json;
using Dapper;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace ThinkWatch.Integrations;

/// <summary>
/// A transactional outbox: events are written in the same Postgres transaction as the change
/// they describe, then published to RabbitMQ right after commit (and retried until the broker
/// takes them), so a change is never committed without its event, nor an event sent for a
/// change that rolled back. The service's migrations create the table:
/// <code>CREATE TABLE outbox (id bigserial PRIMARY KEY, message_type text NOT NULL, body jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now());</code>
/// </summary>
public sealed class EventOutbox(IReadOnlyCollection<Type> messageTypes)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly SemaphoreSlim _signal = new(0);
    private readonly FrozenDictionary<string, Type> _types = messageTypes.ToFrozenDictionary(t => t.FullName!, t => t);

    /// <summary>Adds <paramref name="message"/> to the transaction; call <see cref="Flush"/> after commit.</summary>
    public Task AddAsync<T>(T message, DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) where T : class
    {
        if (!_types.ContainsKey(typeof(T).FullName!))
        {
            throw new InvalidOperationException($"{typeof(T).Name} is not registered with the outbox.");
        }
        return connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO outbox (message_type, body) VALUES (@type, @body::jsonb)",
            new { type = typeof(T).FullName, body = JsonSerializer.Serialize(message, Json) }, transaction, cancellationToken: cancellationToken));
    }

    /// <summary>Wakes the publisher: committed events go out now rather than at the next sweep.</summary>
    public void Flush() => _signal.Release();

    /// <summary>
    /// Commits a console change with its admin audit record — who (<paramref name="actor"/>), what, on which target, with what
    /// details — added to the change's transaction, then publishes it.
    /// </summary>
    public async Task CommitAuditedAsync(Security.ConsoleActor actor, DateTimeOffset at, string action, string targetKind, string? targetId, object details,
        DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        await AddAsync(new Contracts.Events.AdminActionRecorded(Guid.CreateVersion7(), at, System.Diagnostics.Activity.Current?.TraceId.ToString(), actor.UserId.ToString(),
            action, targetKind, targetId, actor.ClientIp, System.Text.Json.JsonSerializer.Serialize(details)), connection, transaction, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        Flush();
    }

    /// <summary>
    /// Deletes one row (<paramref name="deleteReturning"/>: DELETE … RETURNING its columns) and commits that with its admin audit
    /// record; the deleted row, or null when there was none (nothing is recorded then).
    /// </summary>
    public async Task<T?> DeleteAuditedAsync<T>(NpgsqlDataSource dataSource, Security.ConsoleActor actor, DateTimeOffset at, string deleteReturning, object parameters,
        string action, string targetKind, string targetId, Func<T, object> details, CancellationToken cancellationToken) where T : class
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<T>(new CommandDefinition(deleteReturning, parameters, tx, cancellationToken: cancellationToken));
        if (row is not null)
        {
            await CommitAuditedAsync(actor, at, action, targetKind, targetId, details(row), connection, tx, cancellationToken);
        }
        return row;
    }

    internal Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);

    internal object? Deserialize(string type, string body, out Type? messageType) =>
        _types.TryGetValue(type, out messageType) ? JsonSerializer.Deserialize(body, messageType, Json) : null;
}

internal sealed partial class OutboxPublisher(
    EventOutbox outbox, NpgsqlDataSource dataSource, IServiceScopeFactory scopes, IEnumerable<StartupStep> startup, ILogger<OutboxPublisher> logger) : BackgroundService
{
    private static readonly TimeSpan Sweep = TimeSpan.FromSeconds(1);

    private sealed record Row(long Id, string MessageType, string Body);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The outbox table comes with the migrations.
        await StartupStep.WhenAllCompletedAsync(startup, stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                while (await PublishBatchAsync(stoppingToken) > 0)
                {
                }
            }
            catch (Exception ex) when (ex is NpgsqlException or RequestTimeoutException or MassTransitException or TimeoutException or OperationCanceledException && !stoppingToken.IsCancellationRequested)
            {
                LogPublishFailed(logger, ex);
            }
            await outbox.WaitAsync(Sweep, stoppingToken);
        }
    }

    /// <summary>Publishes and deletes up to 100 events, in order; rows locked by another replica are left to it.</summary>
    private async Task<int> PublishBatchAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var rows = (await connection.QueryAsync<Row>(new CommandDefinition(
            "SELECT id, message_type AS MessageType, body::text AS Body FROM outbox ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED",
            transaction: tx, cancellationToken: cancellationToken))).ToList();
        if (rows.Count == 0)
        {
            return 0;
        }
        using var scope = scopes.CreateScope();
        var publisher = scope.ServiceProvider.GetRequiredService<IPublishEndpoint>();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        foreach (var row in rows)
        {
            if (outbox.Deserialize(row.MessageType, row.Body, out var type) is { } message)
            {
                await publisher.Publish(message, type!, timeout.Token);
            }
            else
            {
                LogUnknownType(logger, row.MessageType, row.Id);
            }
        }
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM outbox WHERE id = ANY(@ids)",
            new { ids = rows.Select(r => r.Id).ToArray() }, tx, cancellationToken: cancellationToken));
        await tx.CommitAsync(cancellationToken);
        return rows.Count;
    }

    [LoggerMessage(EventId = 1020, Level = LogLevel.Warning, Message = "Publishing outbox events failed; they stay in the outbox and are retried")]
    private static partial void LogPublishFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1021, Level = LogLevel.Error, Message = "Outbox row {Id} has unknown message type {Type}; dropped")]
    private static partial void LogUnknownType(ILogger logger, string type, long id);
}

public static class OutboxExtensions
{
    /// <summary>An outbox for these message types, published through the service's MassTransit bus.</summary>
    public static IHostApplicationBuilder AddPostgresOutbox(this IHostApplicationBuilder builder, params Type[] messageTypes)
    {
        builder.Services.AddSingleton(new EventOutbox(messageTypes));
        builder.Services.AddHostedService<OutboxPublisher>();
        return builder;
    }
}
