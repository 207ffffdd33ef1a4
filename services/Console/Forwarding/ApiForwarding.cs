using ThinkWatch.Security;
using Yarp.ReverseProxy.Forwarder;

namespace ThinkWatch.Console.Forwarding;

/// <summary>One console origin: every /api area is forwarded unchanged to the service that owns it (<see cref="ApiAreas"/>).</summary>
public static partial class ApiForwarding
{
    public static IServiceCollection AddApiForwarding(this IServiceCollection services)
    {
        services.AddHttpForwarder();
        services.AddSingleton<ServiceAddresses>();
        services.AddSingleton<ApiForwarder>();
        return services;
    }

    public static IEndpointRouteBuilder MapApiForwarding(this IEndpointRouteBuilder app)
    {
        app.Map("/api/{**rest}", (HttpContext context, ApiForwarder forwarder) => forwarder.ForwardAsync(context))
            .ExcludeFromDescription()
            .DisableAntiforgery();
        return app;
    }

    public sealed partial class ApiForwarder(IHttpForwarder forwarder, ServiceAddresses addresses, ILogger<ApiForwarder> logger)
    {
        private readonly HttpMessageInvoker _client = ForwardingClient.Create(TimeSpan.FromSeconds(5));
        private readonly ForwarderRequestConfig _config = new() { ActivityTimeout = TimeSpan.FromSeconds(100) };

        public async Task ForwardAsync(HttpContext context)
        {
            if (ApiAreas.OwnerOf(context.Request.Path) is not { } service)
            {
                await Results.Problem($"No management API lives at {context.Request.Path}.", statusCode: StatusCodes.Status404NotFound, title: "Not found")
                    .ExecuteAsync(context);
                return;
            }
            if (addresses.Of(service) is not { } destination)
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
