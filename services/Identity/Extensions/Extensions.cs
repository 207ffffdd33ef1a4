using ThinkWatch.Integrations;

namespace ThinkWatch.Identity.Extensions;

public static class Extensions
{
    public const string DatabaseName = "identitydb";
    public const string Schema = "identity";

    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<IdentityOptions>()
            .BindConfiguration(IdentityOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        builder.AddNpgsqlDataSource(DatabaseName);
        builder.AddPostgresMigrations(Schema, typeof(Extensions).Assembly);
        return builder;
    }
}
