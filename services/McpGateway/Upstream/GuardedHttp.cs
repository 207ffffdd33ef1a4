using Microsoft.Extensions.Options;

namespace ThinkWatch.McpGateway.Upstream;

/// <summary>
/// The one HTTP client for everything the gateway fetches on someone's behalf — upstream MCP
/// servers, OAuth discovery, registration and token requests: every connection through
/// <see cref="SsrfGuard"/>, no redirects followed (a redirect could lead anywhere), no cookies.
/// </summary>
public sealed class GuardedHttp : IDisposable
{
    public GuardedHttp(IOptionsMonitor<McpGatewayOptions> options) =>
        Client = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = SsrfGuard.Connect(() => options.CurrentValue.AllowPrivateNetworkUpstreams),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            AllowAutoRedirect = false,
            UseCookies = false,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
        })
        { Timeout = Timeout.InfiniteTimeSpan };

    public HttpClient Client { get; }

    public void Dispose() => Client.Dispose();
}
