using MassTransit;
using Microsoft.Extensions.Options;
using ThinkWatch.AuditIngest.Analytics;
using ThinkWatch.AuditIngest.Forwarding;
using ThinkWatch.AuditIngest.Ingest;
using ThinkWatch.AuditIngest.Logs;
using ThinkWatch.AuditIngest.Retention;
using ThinkWatch.ClickHouse;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Integrations;
using ThinkWatch.Security;

namespace ThinkWatch.AuditIngest.Extensions;

public static class Extensions
{
    public const string BusName = "rabbitmq";
    public const string ClickHouseName = "clickhouse";
    public const string DatabaseName = "auditdb";
    public const string Schema = "audit";

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
        builder.Services.AddSingleton<UsageAnalytics>();
        builder.Services.AddSingleton<SpendReport>();
        // Budgets for analytics; asked only when a spend report is built.
        builder.AddInternalGrpcClient<Contracts.Quota.V1.QuotaService.QuotaServiceClient>("quota");

        // SIEM forwarders: configuration and dead letters in Postgres, secrets sealed.
        builder.AddPostgresDataSource(DatabaseName, Schema);
        builder.AddPostgresMigrations(Schema, typeof(Extensions).Assembly);
        builder.AddPostgresOutbox(typeof(AdminActionRecorded));
        builder.AddSecretBox();
        builder.Services.AddSingleton<ForwarderStore>();
        builder.Services.AddHttpClient(WebhookTransport.ClientName, http => http.Timeout = TimeSpan.FromSeconds(10))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
        builder.Services.AddSingleton<IForwarderTransport, WebhookTransport>();
        builder.Services.AddSingleton<IForwarderTransport, SyslogTransport>();
        builder.Services.AddSingleton<IForwarderTransport, KafkaTransport>();
        builder.Services.AddSingleton<ForwardingDispatcher>();
        builder.Services.AddSingleton<DeadLetterReplayer>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DeadLetterReplayer>());
        builder.Services.AddSingleton<RetentionJob>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RetentionJob>());
        builder.AddRabbitMqBus(BusName, bus =>
        {
            AddIngestConsumer<UsageIngestConsumer>(bus);
            AddIngestConsumer<McpCallIngestConsumer>(bus);
            AddIngestConsumer<AdminAuditIngestConsumer>(bus);
            AddIngestConsumer<AccessIngestConsumer>(bus);
            AddIngestConsumer<UsageForwardConsumer>(bus);
            AddIngestConsumer<McpCallForwardConsumer>(bus);
            AddIngestConsumer<AdminAuditForwardConsumer>(bus);
            AddIngestConsumer<AccessForwardConsumer>(bus);
        });
        return builder;
    }

    /// <summary>
    /// A queue per event kind and purpose, consumed one batch at a time (so the stored-id check
    /// before each insert cannot race another batch of the same table in this instance).
    /// </summary>
    private static void AddIngestConsumer<T>(IBusRegistrationConfigurator bus) where T : class, IConsumer =>
        bus.AddConsumer<T>((context, consumer) =>
        {
            var o = context.GetRequiredService<IOptions<AuditIngestOptions>>().Value;
            consumer.Options<BatchOptions>(batch => batch.SetMessageLimit(o.BatchSize).SetTimeLimit(o.BatchTimeLimit).SetConcurrencyLimit(1));
        });
}
