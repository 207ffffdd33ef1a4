using MassTransit;
using Microsoft.Extensions.Options;
using ThinkWatch.AiGateway.Conversion;
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
public sealed partial class ProviderCatalog(ProviderVault.ProviderVaultClient vault, IOptions<AiGatewayOptions> options, TimeProvider time, ILogger<ProviderCatalog> logger)
{
    private readonly SemaphoreSlim _reload = new(1, 1);
    private IReadOnlyList<UpstreamProvider>? _providers;
    private DateTimeOffset _loadedAt;
    private volatile bool _stale = true;

    public void Invalidate() => _stale = true;

    public async ValueTask<IReadOnlyList<UpstreamProvider>> GetAsync(CancellationToken cancellationToken)
    {
        if (Fresh() is { } current)
        {
            return current;
        }
        await _reload.WaitAsync(cancellationToken);
        try
        {
            // Another request may have reloaded while this one waited.
            if (Fresh() is { } reloaded)
            {
                return reloaded;
            }
            _stale = false;
            var answer = await vault.ListProvidersAsync(new ListProvidersRequest(), cancellationToken: cancellationToken);
            _providers = [.. answer.Providers.Select(p => new UpstreamProvider(p.Id, p.Name, p.Kind, string.IsNullOrEmpty(p.BaseUrl) ? null : p.BaseUrl, p.Settings, p.Credentials))];
            _loadedAt = time.GetUtcNow();
            return _providers;
        }
        catch (Grpc.Core.RpcException ex)
        {
            _stale = true;
            if (_providers is { } last)
            {
                LogReloadFailed(logger, ex.StatusCode);
                return last;
            }
            throw new GatewayException(new GatewayError(ErrorKind.Overloaded, "The gateway cannot reach its provider registry; try again shortly."));
        }
        finally
        {
            _reload.Release();
        }
    }

    private IReadOnlyList<UpstreamProvider>? Fresh() =>
        !_stale && time.GetUtcNow() - _loadedAt < options.Value.ProviderRefreshInterval ? _providers : null;

    [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "Reloading providers from Identity failed ({Status}); serving the last list")]
    private static partial void LogReloadFailed(ILogger logger, Grpc.Core.StatusCode status);
}

/// <summary>Identity changed providers: reload on the next request (on every gateway replica).</summary>
public sealed class ProviderEventsConsumer(ProviderCatalog catalog) : IConsumer<ConfigChanged>
{
    public Task Consume(ConsumeContext<ConfigChanged> context)
    {
        if (context.Message.Area == "providers")
        {
            catalog.Invalidate();
        }
        return Task.CompletedTask;
    }
}
