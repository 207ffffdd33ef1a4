namespace ThinkWatch.AiGateway.Tests;

/// <summary>A fixture with its own gateway (see <see cref="GatewayHost"/>); the fake upstream forgets its script before each test.</summary>
public abstract class GatewayFixture
{
    protected GatewayHost Gateway { get; private set; } = null!;

    /// <summary>Gateway settings for this fixture (AiGateway:…), on top of GatewayHost's.</summary>
    protected virtual IReadOnlyDictionary<string, string?>? Settings => null;

    [OneTimeSetUp]
    public async Task StartGateway() => Gateway = await GatewayHost.StartAsync(Settings);

    [OneTimeTearDown]
    public async Task StopGateway() => await Gateway.DisposeAsync();

    [SetUp]
    public void ResetUpstream() => Gateway.Upstream.Reset();
}
