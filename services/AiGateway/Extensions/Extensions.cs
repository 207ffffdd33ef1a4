using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using MassTransit;
using ThinkWatch.AiGateway.Apis;
using ThinkWatch.AiGateway.Keys;
using ThinkWatch.AiGateway.Models;
using ThinkWatch.AiGateway.Proxy;
using ThinkWatch.AiGateway.Routing;
using ThinkWatch.AiGateway.Accounting;
using ThinkWatch.Contracts.Events;
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

        builder.AddPostgresDataSource(DatabaseName, Schema);
        builder.AddPostgresMigrations(Schema, typeof(Extensions).Assembly);

        builder.AddConsoleAuthentication();
        builder.AddConsoleApi();

        builder.Services.AddMemoryCache();
        builder.AddInternalGrpcClient<KeyService.KeyServiceClient>("identity");
        builder.AddApiKeyValidation(Contracts.Common.V1.Surface.AiGateway);
        builder.Services.AddSingleton<KeyAuthenticator>();
        builder.AddInternalGrpcClient<ProviderVault.ProviderVaultClient>("identity");
        builder.Services.AddSingleton<ProviderCatalog>();
        builder.Services.AddSingleton<ModelCatalog>();
        builder.Services.ResetOnBroadcastResumed<ProviderCatalog>(c => c.Invalidate());
        builder.Services.ResetOnBroadcastResumed<ModelCatalog>(c => c.Invalidate());
        builder.Services.AddSingleton<ModelManagement>();
        builder.Services.AddSingleton<ModelListing>();
        builder.AddPostgresOutbox(typeof(ConfigChanged), typeof(AdminActionRecorded));
        builder.Services.AddSingleton<UpstreamHttp>();
        builder.Services.AddSingleton<UpstreamResilience>();
        builder.Services.AddSingleton<ChatPipeline>();
        // First, so it is asked before the default ProblemDetails writer.
        builder.Services.Insert(0, ServiceDescriptor.Singleton<IProblemDetailsWriter, ModelApiErrors>());
        builder.Services.AddMcpForwarding();
        builder.AddInternalGrpcClient<Contracts.Quota.V1.QuotaService.QuotaServiceClient>("quota");
        builder.Services.AddSingleton<IQuotaGate, GrpcQuotaGate>();
        builder.Services.AddSingleton<BusUsageSink>();
        builder.Services.AddSingleton<IUsageSink>(sp => sp.GetRequiredService<BusUsageSink>());
        builder.Services.AddHostedService<UsagePublisher>();
        builder.Services.AddSingleton<AccessLog>();
        builder.Services.AddSingleton<GatewayMetrics>();
        builder.AddEventSpool(typeof(UsageRecorded), typeof(AccessDenied));
        // Key and provider events on a queue of this instance's own: every replica must drop its cached copies.
        builder.AddRabbitMqBus(BusName,
            bus =>
            {
                bus.AddConsumer<ApiKeyEventsConsumer>().ExcludeFromConfigureEndpoints();
                bus.AddConsumer<ProviderEventsConsumer>().ExcludeFromConfigureEndpoints();
            },
            (context, cfg) => cfg.ReceiveEndpoint(new TemporaryEndpointDefinition("aigateway"), e =>
            {
                e.ConfigureConsumer<ApiKeyEventsConsumer>(context);
                e.ConfigureConsumer<ProviderEventsConsumer>(context);
            }));
        return builder;
    }

    private sealed class ConfigureKestrelLimits(IOptions<AiGatewayOptions> options) : IConfigureOptions<KestrelServerOptions>
    {
        public void Configure(KestrelServerOptions kestrel) =>
            kestrel.Limits.MaxRequestBodySize = options.Value.MaxRequestBodyBytes;
    }
}
