using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using ThinkWatch.Integrations;

namespace ThinkWatch.AiGateway.Extensions;

public static class Extensions
{
    public const string DatabaseName = "aigatewaydb";
    public const string Schema = "gateway";

    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<AiGatewayOptions>()
            .BindConfiguration(AiGatewayOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<IConfigureOptions<KestrelServerOptions>, ConfigureKestrelLimits>();

        builder.AddNpgsqlDataSource(DatabaseName);
        builder.AddPostgresMigrations(Schema, typeof(Extensions).Assembly);
        return builder;
    }

    private sealed class ConfigureKestrelLimits(IOptions<AiGatewayOptions> options) : IConfigureOptions<KestrelServerOptions>
    {
        public void Configure(KestrelServerOptions kestrel) =>
            kestrel.Limits.MaxRequestBodySize = options.Value.MaxRequestBodyBytes;
    }
}
