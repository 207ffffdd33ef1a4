using ThinkWatch.Integrations;

namespace ThinkWatch.Quota.Extensions;

public static class Extensions
{
    public const string DatabaseName = "quotadb";
    public const string RedisName = "redis";
    public const string Schema = "quota";

    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<QuotaOptions>()
            .BindConfiguration(QuotaOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        builder.AddNpgsqlDataSource(DatabaseName);
        builder.AddPostgresMigrations(Schema, typeof(Extensions).Assembly);
        builder.AddRedisClient(RedisName);
        return builder;
    }
}
