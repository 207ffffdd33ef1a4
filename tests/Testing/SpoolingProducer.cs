using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ThinkWatch.Integrations;

namespace ThinkWatch.Testing;

/// <summary>A producing service for tests: the durable event spool and MassTransit bus the gateways use, and nothing else.</summary>
public static class SpoolingProducer
{
    public static IHost Build(string rabbitUri, string spoolDirectory, params Type[] messageTypes)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:rabbitmq"] = rabbitUri,
            ["Spool:Directory"] = spoolDirectory,
        });
        builder.Logging.ClearProviders();
        // Warnings kept for a failing test to show (publish failures, MassTransit's connection trouble).
        var logs = new RecentLogs();
        builder.Logging.AddProvider(logs);
        builder.Services.AddSingleton(logs);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddMetrics();
        builder.AddRabbitMqBus("rabbitmq");
        builder.AddEventSpool(messageTypes);
        return builder.Build();
    }
}
