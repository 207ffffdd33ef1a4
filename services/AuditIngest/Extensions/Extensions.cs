using MassTransit;
using Microsoft.Extensions.Options;
using ThinkWatch.AuditIngest.Ingest;
using ThinkWatch.AuditIngest.Logs;
using ThinkWatch.AuditIngest.Retention;
using ThinkWatch.ClickHouse;
using ThinkWatch.Integrations;
using ThinkWatch.Security;

namespace ThinkWatch.AuditIngest.Extensions;

public static class Extensions
{
    public const string BusName = "rabbitmq";
    public const string ClickHouseName = "clickhouse";

    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuditIngestOptions>()
            .BindConfiguration(AuditIngestOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        builder.AddConsoleAuthentication();
        builder.AddConsoleApi();

        builder.AddClickHouseClient(ClickHouseName);
        builder.AddClickHouseSchema(typeof(Extensions).Assembly);
        builder.Services.AddSingleton<EventWriter>();
        builder.Services.AddSingleton<LogSearch>();
        builder.Services.AddSingleton<RetentionJob>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RetentionJob>());
        builder.AddRabbitMqBus(BusName, bus =>
        {
            AddIngestConsumer<UsageIngestConsumer>(bus);
            AddIngestConsumer<McpCallIngestConsumer>(bus);
            AddIngestConsumer<AdminAuditIngestConsumer>(bus);
            AddIngestConsumer<AccessIngestConsumer>(bus);
        });
        return builder;
    }

    /// <summary>
    /// A queue per event kind, consumed one batch at a time (so the stored-id check before each
    /// insert cannot race another batch of the same table in this instance).
    /// </summary>
    private static void AddIngestConsumer<T>(IBusRegistrationConfigurator bus) where T : class, IConsumer =>
        bus.AddConsumer<T>((context, consumer) =>
        {
            var o = context.GetRequiredService<IOptions<AuditIngestOptions>>().Value;
            consumer.Options<BatchOptions>(batch => batch.SetMessageLimit(o.BatchSize).SetTimeLimit(o.BatchTimeLimit).SetConcurrencyLimit(1));
        });
}
