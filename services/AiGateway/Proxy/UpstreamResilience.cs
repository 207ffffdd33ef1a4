using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;
using ThinkWatch.AiGateway.Routing;

namespace ThinkWatch.AiGateway.Proxy;

/// <summary>An upstream's health as the console shows it.</summary>
public sealed record UpstreamHealthView(
    string ProviderId, string Provider, string Kind, string Breaker, long Requests, long Failures, double ErrorRate, double LatencyMs, string? LastError, DateTimeOffset? LastErrorAt);

/// <summary>
/// One upstream's resilience pipeline (retry with jittered exponential backoff and Retry-After →
/// circuit breaker → time to first byte) and its health: calls, failures, a moving error rate
/// and latency to response headers.
/// </summary>
public sealed class UpstreamHealth(ResiliencePipeline<HttpResponseMessage> pipeline, CircuitBreakerStateProvider breaker)
{
    private const double Smoothing = 0.1;
    private readonly Lock _gate = new();
    private long _requests;
    private long _failures;
    private double _errorRate;
    private double _latencyMs;
    private string? _lastError;
    private DateTimeOffset? _lastErrorAt;

    public ResiliencePipeline<HttpResponseMessage> Pipeline => pipeline;

    /// <summary>The breaker's state as the console and /v1/explain show it: closed, open, half_open, isolated.</summary>
    public string BreakerName => breaker.CircuitState switch
    {
        CircuitState.Open => "open",
        CircuitState.HalfOpen => "half_open",
        CircuitState.Isolated => "isolated",
        _ => "closed",
    };

    internal UpstreamProvider Provider { get; set; } = null!;

    /// <summary>One attempt: how long until the answer's headers (or the failure), and what failed if anything did.</summary>
    public void Record(TimeSpan latency, string? error, DateTimeOffset now)
    {
        lock (_gate)
        {
            _requests++;
            _errorRate += ((error is null ? 0 : 1) - _errorRate) * Smoothing;
            if (error is null)
            {
                _latencyMs = _latencyMs == 0 ? latency.TotalMilliseconds : _latencyMs + (latency.TotalMilliseconds - _latencyMs) * Smoothing;
                return;
            }
            _failures++;
            _lastError = error;
            _lastErrorAt = now;
        }
    }

    public UpstreamHealthView View()
    {
        lock (_gate)
        {
            return new UpstreamHealthView(Provider.Id, Provider.Name, Provider.Kind, BreakerName, _requests, _failures,
                Math.Round(_errorRate, 4), Math.Round(_latencyMs, 1), _lastError, _lastErrorAt);
        }
    }
}

/// <summary>Every upstream's <see cref="UpstreamHealth"/>, created on first use, by provider id.</summary>
public sealed partial class UpstreamResilience(IOptions<AiGatewayOptions> options, TimeProvider time, ILogger<UpstreamResilience> logger)
{
    private readonly ConcurrentDictionary<string, UpstreamHealth> _upstreams = new(StringComparer.Ordinal);

    public UpstreamHealth For(UpstreamProvider provider)
    {
        var health = _upstreams.GetOrAdd(provider.Id, _ => Build(provider));
        health.Provider = provider;
        return health;
    }

    public IReadOnlyList<UpstreamHealthView> Snapshot() => [.. _upstreams.Values.Select(h => h.View()).OrderBy(v => v.Provider, StringComparer.Ordinal)];

    /// <summary>Failures that say something about the upstream's health (a 429 says it is busy with someone, not broken).</summary>
    public static bool IsFailure(Outcome<HttpResponseMessage> outcome) =>
        outcome.Exception is HttpRequestException or TimeoutRejectedException || outcome.Result is { StatusCode: >= HttpStatusCode.InternalServerError };

    /// <summary>Whether another upstream (or another try) may do better than this answer.</summary>
    public static bool IsRetryable(HttpResponseMessage response) =>
        response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout or >= HttpStatusCode.InternalServerError;

    private UpstreamHealth Build(UpstreamProvider provider)
    {
        var o = options.Value;
        var state = new CircuitBreakerStateProvider();
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time };
        if (o.RetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = o.RetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = o.RetryBaseDelay,
                ShouldHandle = args => ValueTask.FromResult(IsFailure(args.Outcome)
                    || (args.Outcome.Result is { } r && IsRetryable(r) && !(RetryAfter(r) > o.MaxRetryAfter))),
                // The upstream's Retry-After, when it gave one, instead of the computed delay.
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result is { } r ? RetryAfter(r) : null),
                OnRetry = args =>
                {
                    LogRetry(logger, provider.Name, args.AttemptNumber + 1, args.Outcome.Result?.StatusCode, args.Outcome.Exception?.GetType().Name);
                    args.Outcome.Result?.Dispose();
                    return default;
                },
            });
        }
        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
        {
            FailureRatio = o.BreakerFailureRatio,
            MinimumThroughput = o.BreakerMinimumThroughput,
            SamplingDuration = o.BreakerSamplingDuration,
            BreakDuration = o.BreakerDuration,
            StateProvider = state,
            ShouldHandle = args => ValueTask.FromResult(IsFailure(args.Outcome)),
            OnOpened = args =>
            {
                LogBreakerOpened(logger, provider.Name, args.BreakDuration);
                return default;
            },
            OnClosed = _ =>
            {
                LogBreakerClosed(logger, provider.Name);
                return default;
            },
        });
        builder.AddTimeout(o.UpstreamIdleTimeout);
        return new UpstreamHealth(builder.Build(), state) { Provider = provider };
    }

    private TimeSpan? RetryAfter(HttpResponseMessage response) => UpstreamErrors.RetryAfter(response, time.GetUtcNow());

    [LoggerMessage(EventId = 4211, Level = LogLevel.Information, Message = "Retrying provider {Provider} (attempt {Attempt}) after {Status}{Exception}")]
    private static partial void LogRetry(ILogger logger, string provider, int attempt, HttpStatusCode? status, string? exception);

    [LoggerMessage(EventId = 4212, Level = LogLevel.Warning, Message = "Circuit breaker for provider {Provider} opened for {Duration}")]
    private static partial void LogBreakerOpened(ILogger logger, string provider, TimeSpan duration);

    [LoggerMessage(EventId = 4213, Level = LogLevel.Information, Message = "Circuit breaker for provider {Provider} closed again")]
    private static partial void LogBreakerClosed(ILogger logger, string provider);
}
