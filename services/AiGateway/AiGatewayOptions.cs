using System.ComponentModel.DataAnnotations;

namespace ThinkWatch.AiGateway;

public sealed class AiGatewayOptions
{
    public const string Section = "AiGateway";

    /// <summary>Largest request body accepted (images in base64 make chat bodies large); larger ones get 413.</summary>
    [Range(1024, 1L << 30)]
    public long MaxRequestBodyBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>An upstream stream that stays silent this long is cut (no total timeout: generations can be long).</summary>
    [Range(typeof(TimeSpan), "00:00:05", "01:00:00")]
    public TimeSpan UpstreamIdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a key's principal is reused without asking Identity (changes and revocations drop it at once).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan KeyCacheTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a refusal is remembered (a key created a moment ago is not refused for long).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan RejectionCacheTtl { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the provider list is reloaded from Identity even without a change event.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ProviderRefreshInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long connecting to an upstream may take before the next one is tried.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:01:00")]
    public TimeSpan UpstreamConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>max_tokens sent to upstreams that require it (Anthropic) when the client set none.</summary>
    [Range(1, 1_000_000)]
    public int DefaultMaxTokens { get; set; } = 4096;
}
