using MassTransit;
using StackExchange.Redis;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Integrations;
using ThinkWatch.Quota.Limiting;
using ThinkWatch.Quota.Pricing;
using ThinkWatch.Quota.Rules;
using ThinkWatch.Security;

namespace ThinkWatch.Quota.Extensions;

public static class Extensions
{
    public const string DatabaseName = "quotadb";
    public const string RedisName = "redis";
    public const string BusName = "rabbitmq";
    public const string Schema = "quota";

    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<QuotaOptions>()
            .BindConfiguration(QuotaOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => o.AlertThresholds.All(t => t is > 0 and <= 1000), "Quota:AlertThresholds are percentages from 1 to 1000.")
            .ValidateOnStart();

        builder.AddPostgresDataSource(DatabaseName, Schema);
        builder.AddPostgresMigrations(Schema, typeof(Extensions).Assembly);
        // Fail fast while disconnected: the failure mode decides at once instead of requests queueing.
        builder.AddRedisMultiplexer(RedisName, o => o.BacklogPolicy = BacklogPolicy.FailFast);
        builder.AddConsoleAuthentication();
        builder.AddConsoleApi();
        builder.AddInternalGrpc();
        builder.AddPostgresOutbox(typeof(ConfigChanged), typeof(AdminActionRecorded), typeof(BudgetThresholdCrossed));
        // Rule changes on a queue of this instance's own: every replica must reload.
        builder.AddRabbitMqBus(BusName,
            bus => bus.AddConsumer<LimitsChangedConsumer>().ExcludeFromConfigureEndpoints(),
            (context, cfg) => cfg.ReceiveEndpoint(new TemporaryEndpointDefinition("quota"), e => e.ConfigureConsumer<LimitsChangedConsumer>(context)));

        builder.Services.AddSingleton<QuotaMetrics>();
        builder.Services.AddSingleton<RuleBookCache>();
        builder.Services.ResetOnBroadcastResumed<RuleBookCache>(c => c.Invalidate());
        builder.Services.AddSingleton<ConfigChanges>();
        builder.Services.AddSingleton<LimitsStore>();
        builder.Services.AddSingleton<PricingStore>();
        builder.Services.AddSingleton<LimiterHealth>();
        builder.Services.AddSingleton<Limiter>();
        builder.Services.AddSingleton<BudgetAlerts>();
        return builder;
    }
}
