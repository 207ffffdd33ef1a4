using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace ThinkWatch.Security;

/// <summary>The HTTP client a forwarder uses: no proxy, redirects, decompression or cookies; trace context passed on.</summary>
public static class ForwardingClient
{
    public static HttpMessageInvoker Create(TimeSpan connectTimeout) => new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        EnableMultipleHttp2Connections = true,
        ActivityHeadersPropagator = new ReverseProxyPropagator(DistributedContextPropagator.Current),
        ConnectTimeout = connectTimeout,
    });

    /// <summary>The forward failed before any answer reached the client (YARP set 502/504): the caller may still write a body saying why.</summary>
    public static bool NothingAnswered(HttpContext context, ForwarderError error) =>
        !context.Response.HasStarted && error is ForwarderError.Request or ForwarderError.RequestTimedOut or ForwarderError.NoAvailableDestinations;
}
