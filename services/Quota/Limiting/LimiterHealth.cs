using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ThinkWatch.Quota.Limiting;

/// <summary>
/// Redis outages as the operator sees them: every affected call counted
/// (<c>thinkwatch.quota.limiter_unavailable</c>), one log line per interval rather than one per
/// request, and one line when Redis answers again.
/// </summary>
public sealed partial class LimiterHealth(QuotaMetrics metrics, IOptions<QuotaOptions> options, TimeProvider time, ILogger<LimiterHealth> logger)
{
    private readonly Lock _gate = new();
    private DateTimeOffset? _lastLogged;
    private long _sinceLog;
    private bool _down;

    public static bool IsOutage(Exception ex) =>
        ex is RedisConnectionException or RedisTimeoutException or TimeoutException
        || (ex is RedisServerException s && (s.Message.StartsWith("LOADING", StringComparison.Ordinal) || s.Message.StartsWith("BUSY", StringComparison.Ordinal)));

    public void Unavailable(Exception ex)
    {
        metrics.LimiterUnavailable.Add(1, new KeyValuePair<string, object?>("mode", options.Value.FailureMode.ToString().ToLowerInvariant()));
        var now = time.GetUtcNow();
        long count;
        lock (_gate)
        {
            _down = true;
            _sinceLog++;
            if (_lastLogged is { } last && now - last < options.Value.OutageLogInterval)
            {
                return;
            }
            _lastLogged = now;
            count = _sinceLog;
            _sinceLog = 0;
        }
        LogUnavailable(logger, count, options.Value.FailureMode, ex.GetType().Name, ex.Message);
    }

    public void Reachable()
    {
        if (!Volatile.Read(ref _down))
        {
            return;
        }
        lock (_gate)
        {
            if (!_down)
            {
                return;
            }
            _down = false;
            _lastLogged = null;
            _sinceLog = 0;
        }
        LogRecovered(logger);
    }

    [LoggerMessage(EventId = 5101, Level = LogLevel.Error, Message = "Redis is unreachable ({Count} calls since the last report); failure mode {Mode}: {Error}: {Reason}")]
    private static partial void LogUnavailable(ILogger logger, long count, LimiterFailureMode mode, string error, string reason);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Information, Message = "Redis answers again; limits are enforced")]
    private static partial void LogRecovered(ILogger logger);
}

/// <summary>The quota service's instruments (meter ThinkWatch).</summary>
public sealed class QuotaMetrics : IDisposable
{
    private readonly Meter _meter;

    public QuotaMetrics(IMeterFactory factory)
    {
        _meter = factory.Create("ThinkWatch");
        Checks = _meter.CreateCounter<long>("quota.checks", description: "Checks by outcome (allowed, rejected, degraded).");
        LimiterUnavailable = _meter.CreateCounter<long>("quota.limiter_unavailable", description: "Calls that could not reach Redis.");
        BudgetAlerts = _meter.CreateCounter<long>("quota.budget_alerts", description: "Budget thresholds crossed (once per threshold per period).");
    }

    public Counter<long> Checks { get; }
    public Counter<long> LimiterUnavailable { get; }
    public Counter<long> BudgetAlerts { get; }

    public void Dispose() => _meter.Dispose();
}
