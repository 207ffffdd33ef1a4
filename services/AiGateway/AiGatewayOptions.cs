using System.ComponentModel.DataAnnotations;
using ThinkWatch.Integrations;

namespace ThinkWatch.AiGateway;

public sealed class AiGatewayOptions
{
    public const string Section = "AiGateway";

    /// <summary>Largest request body accepted (images in base64 make chat bodies large); larger ones get 413.</summary>
    [Range(1024, 1L << 30)]
    public long MaxRequestBodyBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>
    /// An upstream that stays silent this long is given up on: before its answer starts (the next
    /// upstream is tried) and between reads of a stream (it is cut). No total timeout: generations can be long.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan UpstreamIdleTimeout { get; set; } = TimeSpan.FromMinutes(5);


    /// <summary>How often the provider list is reloaded from Identity even without a change event.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ProviderRefreshInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long connecting to an upstream may take before the next one is tried.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:01:00")]
    public TimeSpan UpstreamConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>max_tokens sent to upstreams that require it (Anthropic) when the client set none.</summary>
    [Range(1, 1_000_000)]
    public int DefaultMaxTokens { get; set; } = 4096;

    /// <summary>Retries on the same upstream after a connect error, timeout, 429 or 5xx — only before anything reached the client.</summary>
    [Range(0, 5)]
    public int RetryAttempts { get; set; } = 1;

    /// <summary>First retry delay; later ones double, all with jitter.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:30")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>An upstream asking to wait longer than this (Retry-After) is not retried: the next upstream is tried, or the client is told to wait.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Circuit breaker per upstream: it opens when this share of calls failed …</summary>
    [Range(0.01, 1.0)]
    public double BreakerFailureRatio { get; set; } = 0.5;

    /// <summary>… among at least this many calls …</summary>
    [Range(2, 10_000)]
    public int BreakerMinimumThroughput { get; set; } = 5;

    /// <summary>… within this window.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "01:00:00")]
    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an open breaker refuses calls before one trial call decides whether it closes again.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "01:00:00")]
    public TimeSpan BreakerDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Where /mcp is forwarded (the MCP gateway). Empty: the address service discovery gives
    /// (services:mcpgateway:http:0, set by the AppHost and the Kubernetes manifests).
    /// </summary>
    public string? McpGatewayUrl { get; set; }

    /// <summary>A forwarded /mcp exchange silent this long is cut (MCP keeps server-to-client streams open for long).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan McpIdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>When the Quota service does not answer (Redis outages are the Quota service's own Quota:FailureMode).</summary>
    public QuotaUnreachable QuotaFailureMode { get; set; } = QuotaUnreachable.Open;

    /// <summary>How long a call to the Quota service may take.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:00:30")]
    public TimeSpan QuotaTimeout { get; set; } = TimeSpan.FromSeconds(2);
}
