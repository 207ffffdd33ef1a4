using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ModelContextProtocol.Protocol;
using ThinkWatch.McpGateway.Servers;
using ThinkWatch.McpGateway.Upstream;
using ThinkWatch.Testing;

namespace ThinkWatch.McpGateway.Tests;

/// <summary>Health probes of a stdio server against tests/StdioMcpServer, counting the child processes started.</summary>
[TestFixture]
public sealed class StdioProbeTests
{
    private string _starts = null!;
    private ServiceProvider _services = null!;
    private UpstreamClients _clients = null!;
    private FakeTimeProvider _time = null!;
    private readonly McpServer _server = new(Guid.NewGuid(), "local", "Local", new Uri("stdio:local"), ServerTransports.Stdio, AuthModes.None, true,
        ServerStatus.Up, null, null, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);

    [SetUp]
    public void Start()
    {
        _starts = Path.Combine(Path.GetTempPath(), "thinkwatch-stdio-starts-" + Guid.NewGuid().ToString("N"));
        var settings = McpHost.StdioSettings();
        settings["McpGateway:StdioServers:local:Environment:STDIO_STARTS_FILE"] = _starts;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        _services = new ServiceCollection().Configure<McpGatewayOptions>(configuration.GetSection(McpGatewayOptions.Section)).BuildServiceProvider();
        var options = _services.GetRequiredService<IOptionsMonitor<McpGatewayOptions>>();
        _time = TestClock.Create();
        _clients = new UpstreamClients(new GuardedHttp(options), options, _time, NullLoggerFactory.Instance);
    }

    [TearDown]
    public async Task Stop()
    {
        await _clients.DisposeAsync();
        await _services.DisposeAsync();
        File.Delete(_starts);
    }

    private string[] Started() => File.Exists(_starts) ? File.ReadAllLines(_starts) : [];

    private Task<string> WhoAmIAsync() => _clients.UseAsync(_server, UpstreamClients.Anonymous, null,
        async c => ((TextContentBlock)(await c.CallToolAsync("whoami")).Content[0]).Text, CancellationToken.None);

    [Test]
    public async Task Probes_use_the_shared_anonymous_child_instead_of_starting_one_each()
    {
        var probes = new[]
        {
            await _clients.ProbeAsync(_server, null, CancellationToken.None),
            await _clients.ProbeAsync(_server, null, CancellationToken.None),
            await _clients.ProbeAsync(_server, null, CancellationToken.None),
        };
        var whoami = await WhoAmIAsync();
        var afterProbes = Started();
        var verified = await _clients.ProbeAsync(_server, UpstreamClients.BearerHeaders("pasted-token"), CancellationToken.None);

        Assert.That(probes, Is.All.EqualTo((ServerStatus.Up, "2 tools")));
        Assert.That(afterProbes, Has.Length.EqualTo(1), "one child for three probes and a call");
        Assert.That(whoami, Is.EqualTo($"stdio: anonymous in {afterProbes[0]}"), "the call used the child the probes started");
        Assert.That(verified.Status, Is.EqualTo(ServerStatus.Up));
        Assert.That(Started(), Has.Length.EqualTo(2), "a token being verified gets a process of its own (never the shared one)");
    }

    [Test]
    public async Task A_child_used_only_by_probes_still_idles_out_and_traffic_keeps_it()
    {
        await _clients.ProbeAsync(_server, null, CancellationToken.None);
        _time.Advance(TimeSpan.FromMilliseconds(300));
        await _clients.ProbeAsync(_server, null, CancellationToken.None);
        var evictedAfterProbes = await _clients.EvictIdleAsync(TimeSpan.FromMilliseconds(200));

        await WhoAmIAsync();
        _time.Advance(TimeSpan.FromMilliseconds(300));
        await WhoAmIAsync();
        var evictedAfterTraffic = await _clients.EvictIdleAsync(TimeSpan.FromMilliseconds(200));

        Assert.That(evictedAfterProbes, Is.EqualTo(1), "probes do not count as use");
        Assert.That(evictedAfterTraffic, Is.Zero, "a call 0 ms ago is not idle");
        Assert.That(Started(), Has.Length.EqualTo(2), "started again for the calls after it idled out");
    }
}
