using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ThinkWatch.Integrations;
using ThinkWatch.Testing;

namespace ThinkWatch.Shared.Tests;

public sealed record BroadcastMessage(Guid Id);

public sealed class BroadcastConsumer(ConcurrentQueue<Guid> seen) : IConsumer<BroadcastMessage>
{
    public Task Consume(ConsumeContext<BroadcastMessage> context)
    {
        seen.Enqueue(context.Message.Id);
        return Task.CompletedTask;
    }
}

/// <summary>
/// Events every replica must see (key revoked, config changed) arrive on a per-instance temporary
/// queue. A broker restart deletes that queue; the subscription must come back by itself.
/// </summary>
[TestFixture]
public sealed class BroadcastRestartTests
{
    [Test]
    public async Task A_temporary_subscription_receives_again_after_the_broker_restarts()
    {
        await using var infra = await PrivateInfra.StartAsync();
        var seen = new ConcurrentQueue<Guid>();
        using var host = Build(infra.RabbitMqUri, seen);
        await host.StartAsync();
        try
        {
            await PublishAndWaitAsync(infra.RabbitMqUri, seen, "before the restart");

            await infra.StopAsync("rabbitmq");
            await infra.StartAsync("rabbitmq");

            var after = await PublishAndWaitAsync(infra.RabbitMqUri, seen, "after the restart");
            TestContext.Out.WriteLine($"first event delivered {after.TotalSeconds:0.0} s after the broker answered again");
        }
        finally
        {
            await host.StopAsync();
        }
    }

    /// <summary>Publishes until one arrives (each from a fresh bus, as another service would): 90 s at most.</summary>
    private static async Task<TimeSpan> PublishAndWaitAsync(string uri, ConcurrentQueue<Guid> seen, string when)
    {
        var started = DateTime.UtcNow;
        var publisher = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host(new Uri(uri)));
        await publisher.StartAsync(TimeSpan.FromSeconds(60));
        try
        {
            while (DateTime.UtcNow - started < TimeSpan.FromSeconds(90))
            {
                var id = Guid.NewGuid();
                await publisher.Publish(new BroadcastMessage(id));
                for (var i = 0; i < 20; i++)
                {
                    if (seen.Contains(id))
                    {
                        return DateTime.UtcNow - started;
                    }
                    await Task.Delay(50);
                }
            }
        }
        finally
        {
            await publisher.StopAsync();
        }
        Assert.Fail($"no event reached the temporary subscription {when} within 90 s");
        return TimeSpan.Zero;
    }

    private static IHost Build(string uri, ConcurrentQueue<Guid> seen)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:rabbitmq"] = uri });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(seen);
        builder.AddRabbitMqBus("rabbitmq",
            bus => bus.AddConsumer<BroadcastConsumer>().ExcludeFromConfigureEndpoints(),
            (context, cfg) => cfg.ReceiveEndpoint(new TemporaryEndpointDefinition("broadcast"), e => e.ConfigureConsumer<BroadcastConsumer>(context)));
        return builder.Build();
    }
}
