using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using MassTransit;
using ThinkWatch.AiGateway.Keys;
using ThinkWatch.Contracts.Identity.V1;
using ThinkWatch.Integrations;
using ThinkWatch.Security;

namespace ThinkWatch.AiGateway.Extensions;

public static class Extensions
{
    public const string DatabaseName = "aigatewaydb";
    public const string Schema = "gateway";
    public const string BusName = "rabbitmq";

    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<AiGatewayOptions>()
            .BindConfiguration(AiGatewayOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<IConfigureOptions<KestrelServerOptions>, ConfigureKestrelLimits>();

        builder.AddNpgsqlDataSource(DatabaseName);
        builder.AddPostgresMigrations(Schema, typeof(Extensions).Assembly);

        builder.Services.AddMemoryCache();
        builder.AddInternalGrpcClient<KeyService.KeyServiceClient>("identity");
        builder.Services.AddSingleton<KeyAuthenticator>();
        // Key events on a queue of this instance's own: every replica must drop its cached copy.
        builder.AddRabbitMqBus(BusName,
            bus => bus.AddConsumer<KeyEventsConsumer>().ExcludeFromConfigureEndpoints(),
            (context, cfg) => cfg.ReceiveEndpoint(new TemporaryEndpointDefinition("aigateway-keys"), e => e.ConfigureConsumer<KeyEventsConsumer>(context)));
        return builder;
    }

    private sealed class ConfigureKestrelLimits(IOptions<AiGatewayOptions> options) : IConfigureOptions<KestrelServerOptions>
    {
        public void Configure(KestrelServerOptions kestrel) =>
            kestrel.Limits.MaxRequestBodySize = options.Value.MaxRequestBodyBytes;
    }
}
