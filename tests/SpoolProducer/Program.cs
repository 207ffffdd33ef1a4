// Usage: SpoolProducer <amqp-uri> <spool-directory> <user-id> <count>
// Spools <count> usage events for <user-id> through the durable event spool (as the gateways do),
// prints "spooled <count>", then keeps publishing what the spool holds until it is stopped or killed.
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Integrations;
using ThinkWatch.Testing;

var (rabbitUri, spoolDirectory, user, count) = (args[0], args[1], args[2], int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture));
using var host = SpoolingProducer.Build(rabbitUri, spoolDirectory, typeof(UsageRecorded));
await host.StartAsync();
var spool = host.Services.GetRequiredService<EventSpool>();
var at = DateTimeOffset.UtcNow;
for (var n = 0; n < count; n++)
{
    spool.Enqueue(new UsageRecorded(Guid.NewGuid(), at, null, user, null, "key", "openai", "gpt-4o", "/v1/chat/completions",
        n, 1, 0, 0, false, n + 1, 10, 100, null, 200, false, []));
}
Console.WriteLine($"spooled {count}");
await host.WaitForShutdownAsync();
