using MassTransit;
using ThinkWatch.Contracts.Common.V1;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Contracts.Identity.V1;
using ThinkWatch.Contracts.Quota.V1;
using ThinkWatch.Integrations;
using ThinkWatch.McpGateway.Access;
using ThinkWatch.McpGateway.Accounting;
using ThinkWatch.McpGateway.Credentials;
using ThinkWatch.McpGateway.Mcp;
using ThinkWatch.McpGateway.OAuth;
using ThinkWatch.McpGateway.Servers;
using ThinkWatch.McpGateway.Upstream;
using ThinkWatch.Security;

namespace ThinkWatch.McpGateway.Extensions;

public static class Extensions
{
    public const string DatabaseName = "mcpgatewaydb";
    public const string Schema = "mcp";
    public const string BusName = "rabbitmq";

    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<McpGatewayOptions>()
            .BindConfiguration(McpGatewayOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        builder.AddPostgresDataSource(DatabaseName, Schema);
        builder.AddPostgresMigrations(Schema, typeof(Extensions).Assembly);
        builder.AddRedisMultiplexer("redis");

        builder.AddConsoleAuthentication();
        builder.Services.AddAuthentication().AddMcpAuthentication();
        builder.AddConsoleApi();

        builder.AddInternalGrpcClient<KeyService.KeyServiceClient>("identity");
        builder.AddApiKeyValidation(Surface.McpGateway);
        builder.AddInternalGrpcClient<QuotaService.QuotaServiceClient>("quota");
        builder.AddSecretBox();
        builder.AddPostgresOutbox(typeof(AdminActionRecorded));
        builder.AddEventSpool(typeof(McpCallRecorded), typeof(AccessDenied));
        // Key events on a queue of this instance's own: every replica must drop its cached copies.
        builder.AddRabbitMqBus(BusName,
            bus => bus.AddConsumer<ApiKeyEventsConsumer>().ExcludeFromConfigureEndpoints(),
            (context, cfg) => cfg.ReceiveEndpoint(new TemporaryEndpointDefinition("mcpgateway"), e => e.ConfigureConsumer<ApiKeyEventsConsumer>(context)));

        builder.Services.AddHttpContextAccessor();
        builder.Services.AddSingleton<ServerStore>();
        builder.Services.AddSingleton<ServerDirectory>();
        builder.Services.AddSingleton<GrantStore>();
        builder.Services.AddSingleton<ToolAccess>();
        builder.Services.AddSingleton<CredentialStore>();
        builder.Services.AddSingleton<GuardedHttp>();
        builder.Services.AddSingleton<UpstreamClients>();
        builder.Services.AddSingleton<OAuthDiscovery>();
        builder.Services.AddSingleton<OAuthClientStore>();
        builder.Services.AddSingleton<UpstreamIdentity>();
        builder.Services.AddSingleton<OAuthFlow>();
        builder.Services.AddSingleton<Catalog>();
        builder.Services.AddSingleton<IToolCallQuota, GrpcToolCallQuota>();
        builder.Services.AddSingleton<CallLog>();
        builder.Services.AddSingleton<ResponseCache>();
        builder.Services.AddHostedService<HealthProbes>();
        builder.Services.AddSingleton<ToolCalls>();
        builder.Services.AddMcpGatewayServer();
        return builder;
    }
}
