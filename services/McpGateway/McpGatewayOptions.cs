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

    /// <summary>Browser origins allowed to call /mcp (requests without an Origin header, i.e. non-browser clients, always may).</summary>
    public string[] AllowedOrigins { get; set; } = [];

    /// <summary>An MCP session unused this long is forgotten on every replica.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);

    [Range(typeof(TimeSpan), "00:00:05", "01:00:00")]
    public TimeSpan UpstreamHealthProbeInterval { get; set; } = TimeSpan.FromMinutes(1);
}
