using ThinkWatch.ClickHouse;
using ThinkWatch.Integrations;

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

        builder.AddClickHouseClient(ClickHouseName);
        builder.AddClickHouseSchema(typeof(Extensions).Assembly);
        builder.AddRabbitMqBus(BusName);
        return builder;
    }
}
