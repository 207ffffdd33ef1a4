using Microsoft.Extensions.Options;

namespace ThinkWatch.AiGateway.Proxy;

/// <summary>
/// The one connection pool to upstreams: no redirects, no decompression, no cookies, no total
/// timeout (generations can be long — idle timeouts are applied per read instead).
/// </summary>
public sealed class UpstreamHttp(IOptions<AiGatewayOptions> options) : IDisposable
{
    private readonly HttpMessageInvoker _invoker = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        UseCookies = false,
        UseProxy = false,
        ConnectTimeout = options.Value.UpstreamConnectTimeout,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        EnableMultipleHttp2Connections = true,
        ActivityHeadersPropagator = null,
    }, disposeHandler: true);

    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        _invoker.SendAsync(request, cancellationToken);

    public void Dispose() => _invoker.Dispose();
}
