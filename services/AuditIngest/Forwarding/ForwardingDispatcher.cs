using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Npgsql;
using ThinkWatch.Integrations;

namespace ThinkWatch.AuditIngest.Forwarding;

/// <summary>
/// Hands each batch to every enabled forwarder that takes its kind, all at once. A forwarder gets
/// <see cref="ForwarderSettings.MaxAttempts"/> tries with backoff; then the batch becomes a dead
/// letter (kept in Postgres, offered again by <see cref="DeadLetterReplayer"/>) and the forwarder
/// counts as down for <see cref="AuditIngestOptions.ForwarderCoolDown"/> — its batches go straight to
/// dead letters meanwhile, so a receiver that is away costs the others nothing. Forwarding has
/// queues of its own, so it never holds up ingestion into ClickHouse.
/// </summary>
public sealed partial class ForwardingDispatcher
{
    private readonly RefreshingValue<IReadOnlyList<Forwarder>> _forwarders;
    private readonly Dictionary<string, IForwarderTransport> _transports;
    private readonly ForwarderStore _store;
    private readonly IOptions<AuditIngestOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ForwardingDispatcher> _logger;
    private readonly ConcurrentDictionary<Guid, DateTimeOffset> _downUntil = new();
    private readonly Counter<long> _forwarded;
    private readonly Counter<long> _failures;
    private readonly Counter<long> _deadLettered;

    public ForwardingDispatcher(ForwarderStore store, IEnumerable<IForwarderTransport> transports, IOptions<AuditIngestOptions> options, IMeterFactory meters,
        TimeProvider time, ILogger<ForwardingDispatcher> logger)
    {
        (_store, _options, _time, _logger) = (store, options, time, logger);
        _transports = transports.SelectMany(t => t.Kinds.Select(k => (k, t))).ToDictionary(x => x.k, x => x.t);
        _forwarders = new("log forwarders", store.LoadAsync, ex => ex is NpgsqlException or TimeoutException, () => options.Value.ForwarderRefreshInterval, time, logger,
            what => new InvalidOperationException($"AuditIngest cannot load its {what}."));
        var meter = meters.Create("ThinkWatch");
        _forwarded = meter.CreateCounter<long>("forwarding.forwarded", description: "Events a forwarder took.");
        _failures = meter.CreateCounter<long>("forwarding.failures", description: "Failed attempts to deliver a batch to a forwarder.");
        _deadLettered = meter.CreateCounter<long>("forwarding.dead_lettered", description: "Events kept as dead letters after a forwarder's attempts.");
    }

    /// <summary>Forwarders changed here: the next batch sees the change (other replicas within the refresh interval).</summary>
    public void Invalidate() => _forwarders.Invalidate();

    public async Task<IReadOnlyList<Forwarder>> ForwardersAsync(CancellationToken cancellationToken) => await _forwarders.GetAsync(cancellationToken);

    public async Task ForwardAsync(string eventKind, IReadOnlyList<ForwardedEvent> events, CancellationToken cancellationToken)
    {
        var targets = (await ForwardersAsync(cancellationToken)).Where(f => f.Enabled && f.EventKinds.Contains(eventKind)).ToList();
        await Task.WhenAll(targets.Select(f => DeliverOrKeepAsync(f, eventKind, events, cancellationToken)));
    }

    private async Task DeliverOrKeepAsync(Forwarder forwarder, string eventKind, IReadOnlyList<ForwardedEvent> events, CancellationToken cancellationToken)
    {
        var tag = new KeyValuePair<string, object?>("forwarder", forwarder.Name);
        string error;
        var attempts = 0;
        if (IsDown(forwarder.Id))
        {
            error = "the forwarder was down; kept for replay";
        }
        else
        {
            (error, attempts) = await TryAsync(forwarder, eventKind, events, forwarder.Settings.EffectiveMaxAttempts, cancellationToken) ?? ("", 0);
            if (error.Length == 0)
            {
                _forwarded.Add(events.Count, tag);
                return;
            }
            MarkDown(forwarder.Id);
            LogDeadLettered(_logger, events.Count, forwarder.Name, attempts, error);
        }
        await _store.AddDeadLetterAsync(forwarder.Id, eventKind, ForwardedEvent.ToJsonArray(events), events.Count, attempts, error, cancellationToken);
        _deadLettered.Add(events.Count, tag);
    }

    /// <summary>Up to <paramref name="maxAttempts"/> tries with backoff; null when delivered, else the last error and the tries made.</summary>
    public async Task<(string Error, int Attempts)?> TryAsync(Forwarder forwarder, string eventKind, IReadOnlyList<ForwardedEvent> events, int maxAttempts,
        CancellationToken cancellationToken)
    {
        if (!_transports.TryGetValue(forwarder.Kind, out var transport))
        {
            return ($"no transport for {forwarder.Kind}", 0);
        }
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await transport.SendAsync(forwarder, eventKind, events, cancellationToken);
                _downUntil.TryRemove(forwarder.Id, out _);
                return null;
            }
            catch (Exception ex) when (ex is ForwardingException or IOException or System.Net.Sockets.SocketException or HttpRequestException
                                           || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                _failures.Add(1, new KeyValuePair<string, object?>("forwarder", forwarder.Name));
                var retryable = ex is not ForwardingException { Retryable: false };
                if (!retryable || attempt >= maxAttempts)
                {
                    return ($"{ex.GetType().Name}: {ex.Message}", attempt);
                }
                var pause = Backoff.Exponential(attempt, TimeSpan.FromMilliseconds(250), _options.Value.MaxRetryDelay);
                await Task.Delay(pause, _time, cancellationToken);
            }
        }
    }

    public bool IsDown(Guid forwarderId) => _downUntil.TryGetValue(forwarderId, out var until) && until > _time.GetUtcNow();

    public void MarkDown(Guid forwarderId) => _downUntil[forwarderId] = _time.GetUtcNow() + _options.Value.ForwarderCoolDown;

    [LoggerMessage(EventId = 6301, Level = LogLevel.Warning, Message = "Forwarder {Forwarder} did not take {Count} events after {Attempts} attempts ({Error}); kept as a dead letter for replay")]
    private static partial void LogDeadLettered(ILogger logger, int count, string forwarder, int attempts, string error);
}
