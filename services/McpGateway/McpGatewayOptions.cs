using System.ComponentModel.DataAnnotations;

namespace ThinkWatch.McpGateway;

public sealed class McpGatewayOptions
{
    public const string Section = "McpGateway";

    /// <summary>
    /// Lets the gateway reach upstream servers on private, loopback and link-local
    /// addresses. Off by default (SSRF); tests and single-host setups turn it on.
    /// </summary>
    public bool AllowPrivateNetworkUpstreams { get; set; }

    [Range(typeof(TimeSpan), "00:00:05", "01:00:00")]
    public TimeSpan UpstreamHealthProbeInterval { get; set; } = TimeSpan.FromMinutes(1);
}
