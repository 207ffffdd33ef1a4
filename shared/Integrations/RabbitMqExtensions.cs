using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace ThinkWatch.Integrations;

public static class RabbitMqExtensions
{
    /// <summary>
    /// Registers MassTransit on RabbitMQ for ConnectionStrings:{connectionName}
    /// (an amqp://user:pass@host:port/vhost URI). MassTransit adds its own health check
    /// tagged "ready", so readiness waits for the bus to connect; the <see cref="ConsumerWatch"/>
    /// fails liveness when a queue this service consumes is left without consumers. MassTransit's
    /// traces and metrics go to OpenTelemetry: it carries the trace context in the message headers,
    /// so a consumer's activity continues the publisher's trace.
    /// </summary>
    /// <paramref name="endpoints"/> adds receive endpoints of its own, e.g. a per-instance
    /// temporary queue for events every replica must see.
    public static IHostApplicationBuilder AddRabbitMqBus(this IHostApplicationBuilder builder, string connectionName,
        Action<IBusRegistrationConfigurator>? configure = null, Action<IBusRegistrationContext, IRabbitMqBusFactoryConfigurator>? endpoints = null)
    {
        var uri = new Uri(ConnectionStrings.Require(builder.Configuration, connectionName));
        if (uri.Scheme is not ("amqp" or "amqps"))
        {
            throw new InvalidOperationException($"Connection string '{connectionName}' must be an amqp:// or amqps:// URI.");
        }
        builder.Services.AddMassTransit(bus =>
        {
            bus.SetKebabCaseEndpointNameFormatter();
            configure?.Invoke(bus);
            bus.UsingRabbitMq((context, cfg) =>
            {
                // Our sockets: a broker that goes away mid-batch cannot wedge the connection (see RabbitMqSockets).
                cfg.Host(uri, host => host.OnRefreshConnectionFactory = factory =>
                {
                    factory.SocketFactory = RabbitMqSockets.Create;
                    return Task.CompletedTask;
                });
                endpoints?.Invoke(context, cfg);
                cfg.ConfigureEndpoints(context);
            });
        });

        // What Aspire's client integrations do for theirs (there is none for MassTransit, which owns its connections).
        builder.Services.AddOpenTelemetry()
            .WithTracing(tracing => tracing.AddSource(MassTransit.Logging.DiagnosticHeaders.DefaultListenerName))
            .WithMetrics(metrics => metrics.AddMeter(MassTransit.Monitoring.InstrumentationOptions.MeterName));

        builder.Services.AddOptions<ConsumerWatchOptions>()
            .BindConfiguration(ConsumerWatchOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => ActivatorUtilities.CreateInstance<ConsumerWatch>(sp, uri));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ConsumerWatch>());
        builder.Services.AddReceiveEndpointObserver(sp => sp.GetRequiredService<ConsumerWatch>());
        builder.Services.AddSingleton<BroadcastSubscription>();
        builder.Services.AddReceiveEndpointObserver(sp => sp.GetRequiredService<BroadcastSubscription>());
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            ConsumerWatch.CheckName, sp => sp.GetRequiredService<ConsumerWatch>(), HealthStatus.Unhealthy, ["live"]));
        return builder;
    }
}
