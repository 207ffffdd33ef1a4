using System.ComponentModel.DataAnnotations;
using ThinkWatch.Integrations;

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

    /// <summary>How often every server is probed (and idle upstream sessions are closed).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan UpstreamHealthProbeInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>An upstream session (a user's, a stdio child process) unused this long is closed; the next call opens it again.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan UpstreamIdleTimeout { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Where users connect their accounts: the console's public address (authorize_url points below it).</summary>
    [Required, Url]
    public string ConsoleUrl { get; set; } = "http://localhost:3001";

    /// <summary>How long a tool call waits for the Quota service before <see cref="QuotaFailureMode"/> applies.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:00:30")]
    public TimeSpan QuotaTimeout { get; set; } = TimeSpan.FromSeconds(2);

    public QuotaUnreachable QuotaFailureMode { get; set; } = QuotaUnreachable.Open;

    /// <summary>An OAuth token this close to expiring is renewed before it is used (zero: only once expired or refused).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan TokenRefreshSkew { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long answers of read-only tools are reused (per user for servers with users' own accounts); zero turns the cache off.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan ResponseCacheTtl { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// MCP servers the gateway may launch as child processes (stdio), by name. Registering a server with transport "stdio" and
    /// url "stdio:{name}" uses one; what runs is decided here, in the gateway's configuration, never through the API.
    /// </summary>
    public Dictionary<string, StdioServerOptions> StdioServers { get; set; } = [];
}

public sealed class StdioServerOptions
{
    [Required]
    public string Command { get; set; } = "";

    public string[] Arguments { get; set; } = [];

    /// <summary>Set in the child's environment (which otherwise holds only PATH, HOME and the like, not the gateway's secrets).</summary>
    public Dictionary<string, string> Environment { get; set; } = [];

    public string? WorkingDirectory { get; set; }

    /// <summary>
    /// For servers used with users' own tokens: the variable the token is passed in. Each user's account then runs in a process
    /// of its own; without a token (anonymous use) the variable is absent.
    /// </summary>
    public string? TokenVariable { get; set; }
}
