using ThinkWatch.Integrations;

namespace ThinkWatch.McpGateway.Extensions;

public static class Extensions
{
    public const string DatabaseName = "mcpgatewaydb";
    public const string Schema = "mcp";

    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<McpGatewayOptions>()
            .BindConfiguration(McpGatewayOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        builder.AddNpgsqlDataSource(DatabaseName);
        builder.AddPostgresMigrations(Schema, typeof(Extensions).Assembly);
        return builder;
    }
}
