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
}
