using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace ThinkWatch.Integrations;

public static class RedisExtensions
{
    /// <summary>
    /// Registers one shared <see cref="IConnectionMultiplexer"/> for ConnectionStrings:{connectionName}
    /// ("host:port,password=…" StackExchange.Redis syntax) through Aspire's Redis client integration (its
    /// health check, Redis command traces, logging), and makes that check the "redis" readiness check.
    /// The multiplexer keeps reconnecting on its own (it never gives up on a failed first connect), so a
    /// Redis restart needs no service restart. <paramref name="configure"/> adjusts the client's options
    /// (e.g. its backlog policy).
    /// </summary>
    /// <remarks>Not named like Aspire's <c>AddRedisClient</c>, which it calls: a call with only a name would be ambiguous.</remarks>
    public static IHostApplicationBuilder AddRedisMultiplexer(this IHostApplicationBuilder builder, string connectionName, Action<ConfigurationOptions>? configure = null)
    {
        // Ours fails at start-up with the variable to set; Aspire's only when the multiplexer is first asked for.
        ConnectionStrings.Require(builder.Configuration, connectionName);
        var clientName = builder.Environment.ApplicationName;
        builder.AddRedisClient(connectionName, configureOptions: options =>
        {
            options.AbortOnConnectFail = false;
            options.ClientName ??= clientName;
            configure?.Invoke(options);
        });
        builder.Services.AdoptForReadiness(AspireCheckName, "redis");
        return builder;
    }

    /// <summary>The name Aspire.StackExchange.Redis gives its (unkeyed) health check.</summary>
    internal const string AspireCheckName = "StackExchange.Redis";
}
