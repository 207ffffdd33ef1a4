using Microsoft.Extensions.Options;
using ThinkWatch.Identity.Keys;
using ThinkWatch.Identity.Passwords;
using ThinkWatch.Identity.Setup;
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

        builder.AddNpgsqlDataSource(DatabaseName, Schema);
        builder.AddPostgresMigrations(Schema, typeof(Extensions).Assembly);
        builder.Services.AddGrpc();

        builder.Services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<IdentityOptions>>().Value;
            return new PasswordHasher(o.PasswordHashMemoryKib, o.PasswordHashIterations);
        });
        builder.Services.AddSingleton<ApiKeyStore>();
        builder.Services.AddSingleton<KeyValidator>();
        builder.Services.AddSingleton<SetupStatus>();
        builder.Services.AddSingleton<SetupService>();
        builder.Services.AddSingleton<SetupGate>();
        return builder;
    }
}
