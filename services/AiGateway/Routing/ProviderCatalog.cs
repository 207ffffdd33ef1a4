using ThinkWatch.AiGateway.Conversion;
using MassTransit;
using Microsoft.Extensions.Options;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Contracts.Identity.V1;

namespace ThinkWatch.AiGateway.Routing;

/// <summary>A provider as the gateway calls it, credentials included (memory only, never logged).</summary>
public sealed record UpstreamProvider(string Id, string Name, string Kind, string? BaseUrl, IReadOnlyDictionary<string, string> Settings, ProviderCredentials Credentials)
{
    public override string ToString() => $"{Name} ({Kind})";
}

/// <summary>
/// The providers from Identity's vault, held in memory. Reloaded when Identity announces a
/// change (ConfigChanged "providers"), and at least every <see cref="AiGatewayOptions.ProviderRefreshInterval"/>
/// in case an event was missed. If a reload fails the last good list keeps serving.
/// </summary>
public sealed class ProviderCatalog
{
    private readonly Integrations.RefreshingValue<IReadOnlyList<UpstreamProvider>> _providers;

    public ProviderCatalog(ProviderVault.ProviderVaultClient vault, IOptions<AiGatewayOptions> options, TimeProvider time, ILogger<ProviderCatalog> logger) =>
        _providers = new("provider registry",
            async cancellationToken =>
            {
                var answer = await vault.ListProvidersAsync(new ListProvidersRequest(), cancellationToken: cancellationToken);
                return [.. answer.Providers.Select(p => new UpstreamProvider(p.Id, p.Name, p.Kind, string.IsNullOrEmpty(p.BaseUrl) ? null : p.BaseUrl, p.Settings, p.Credentials))];
            },
            ex => ex is Grpc.Core.RpcException { StatusCode: not Grpc.Core.StatusCode.Cancelled },
            () => options.Value.ProviderRefreshInterval, time, logger, GatewayException.Unavailable);

    public void Invalidate() => _providers.Invalidate();

    public ValueTask<IReadOnlyList<UpstreamProvider>> GetAsync(CancellationToken cancellationToken) => _providers.GetAsync(cancellationToken);
}

/// <summary>Providers (Identity) or the model table changed: reload on the next request, on every gateway replica.</summary>
public sealed class ProviderEventsConsumer(ProviderCatalog catalog, Models.ModelCatalog models) : IConsumer<ConfigChanged>
{
    public Task Consume(ConsumeContext<ConfigChanged> context)
    {
        switch (context.Message.Area)
        {
            case "providers":
                catalog.Invalidate();
                break;
            case "models":
                models.Invalidate();
                break;
        }
        return Task.CompletedTask;
    }
}
