using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
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

/// <summary>
/// One console origin: the areas other services own (/api/limits → quota, /api/models → aigateway, …)
/// are forwarded unchanged by the service that serves the console, to the address service
/// discovery gives (services:{service}:http:0). The owning service checks the console token itself.
/// </summary>
public static partial class ConsoleForwarding
{
    /// <summary>Area prefix → the service that owns it.</summary>
    public static readonly IReadOnlyDictionary<string, string> Areas = new Dictionary<string, string>
    {
        ["/api/limits"] = "quota",
        ["/api/pricing"] = "quota",
        ["/api/models"] = "aigateway",
        ["/api/routes"] = "aigateway",
        ["/api/mcp"] = "mcpgateway",
        ["/api/logs"] = "auditingest",
        ["/api/analytics"] = "auditingest",
        ["/api/log-forwarders"] = "auditingest",
    };

    public static IServiceCollection AddConsoleForwarding(this IServiceCollection services)
    {
        services.AddHttpForwarder();
        services.AddSingleton<ConsoleForwarder>();
        return services;
    }

    public static IEndpointRouteBuilder MapConsoleForwarding(this IEndpointRouteBuilder app)
    {
        foreach (var (prefix, service) in Areas)
        {
            app.Map(prefix, (HttpContext context, ConsoleForwarder forwarder) => forwarder.ForwardAsync(context, service)).ExcludeFromDescription();
            app.Map(prefix + "/{**rest}", (HttpContext context, ConsoleForwarder forwarder) => forwarder.ForwardAsync(context, service)).ExcludeFromDescription();
        }
        return app;
    }

    public sealed partial class ConsoleForwarder(IHttpForwarder forwarder, IConfiguration configuration, ILogger<ConsoleForwarder> logger)
    {
        private readonly HttpMessageInvoker _client = ForwardingClient.Create(TimeSpan.FromSeconds(5));
        private readonly ForwarderRequestConfig _config = new() { ActivityTimeout = TimeSpan.FromSeconds(100) };

        public async Task ForwardAsync(HttpContext context, string service)
        {
            if (configuration[$"services:{service}:http:0"] is not { Length: > 0 } destination)
            {
                await Results.Problem($"The {service} service is not configured here.", statusCode: StatusCodes.Status503ServiceUnavailable, title: "Service unavailable")
                    .ExecuteAsync(context);
                return;
            }
            var error = await forwarder.SendAsync(context, destination, _client, _config, HttpTransformer.Default);
            if (error == ForwarderError.None)
            {
                return;
            }
            LogForwardFailed(logger, service, error);
            if (ForwardingClient.NothingAnswered(context, error))
            {
                await Results.Problem($"The {service} service could not be reached.", statusCode: context.Response.StatusCode, title: "Bad gateway").ExecuteAsync(context);
            }
        }

        [LoggerMessage(EventId = 1401, Level = LogLevel.Warning, Message = "Forwarding a console request to {Service} failed: {Error}")]
        private static partial void LogForwardFailed(ILogger logger, string service, ForwarderError error);
    }
}
