using Microsoft.Extensions.Options;
using Npgsql;

namespace ThinkWatch.AuditIngest.Forwarding;

/// <summary>
/// Offers dead letters to their forwarders again, oldest first, every <see cref="AuditIngestOptions.ForwarderCoolDown"/>:
/// one try each; the first failure ends the forwarder's turn (it is still away). A letter that goes
/// through is deleted — so events a receiver missed reach it once it is back, without anyone acting.
/// </summary>
public sealed partial class DeadLetterReplayer(ForwardingDispatcher dispatcher, ForwarderStore store, IOptions<AuditIngestOptions> options, TimeProvider time,
    ILogger<DeadLetterReplayer> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ForwarderCoolDown, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await ReplayAsync(stoppingToken);
            }
            catch (Exception ex) when ((ex is NpgsqlException or InvalidOperationException) && !stoppingToken.IsCancellationRequested)
            {
                LogFailed(logger, ex.Message);
            }
        }
    }

    /// <summary>One round over every enabled forwarder's dead letters; returns how many letters went through.</summary>
    public async Task<int> ReplayAsync(CancellationToken cancellationToken)
    {
        var delivered = 0;
        foreach (var forwarder in (await dispatcher.ForwardersAsync(cancellationToken)).Where(f => f.Enabled))
        {
            foreach (var letter in await store.DeadLettersAsync(forwarder.Id, 100, cancellationToken))
            {
                var failure = await dispatcher.TryAsync(forwarder, letter.EventKind, ForwardedEvent.FromJsonArray(letter.Events), maxAttempts: 1, cancellationToken);
                if (failure is { } f)
                {
                    dispatcher.MarkDown(forwarder.Id);
                    await store.RecordAttemptAsync(letter.Id, f.Error, cancellationToken);
                    break;
                }
                await store.RemoveDeadLetterAsync(letter.Id, cancellationToken);
                delivered++;
            }
        }
        if (delivered > 0)
        {
            LogReplayed(logger, delivered);
        }
        return delivered;
    }

    [LoggerMessage(EventId = 6311, Level = LogLevel.Information, Message = "Replayed {Count} dead-lettered batches to their forwarders")]
    private static partial void LogReplayed(ILogger logger, int count);

    [LoggerMessage(EventId = 6312, Level = LogLevel.Warning, Message = "Replaying dead letters failed: {Reason}; next round at the next interval")]
    private static partial void LogFailed(ILogger logger, string reason);
}
