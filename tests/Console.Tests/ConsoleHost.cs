using Microsoft.Extensions.DependencyInjection;
using ThinkWatch.Identity.Testing;
using ThinkWatch.Testing;

namespace ThinkWatch.Console.Tests;

/// <summary>The console on real sockets in front of a real Identity (its own database), as the AppHost runs them.</summary>
public sealed class ConsoleHost : IAsyncDisposable
{
    private readonly ServiceHost<ConsoleOptions> _host;

    private ConsoleHost(IdentityHost identity, ServiceHost<ConsoleOptions> host, Uri address) => (Identity, _host, Address) = (identity, host, address);

    public IdentityHost Identity { get; }
    public Uri Address { get; }
    public IServiceProvider Services => _host.Services;

    /// <param name="extra">More settings, e.g. services:quota:http:0 for an area's owner.</param>
    public static async Task<ConsoleHost> StartAsync(IReadOnlyDictionary<string, string?>? extra = null)
    {
        var identity = await IdentityHost.StartAsync(network: true);
        var settings = new Dictionary<string, string?>
        {
            ["services:identity:http:0"] = identity.Http.BaseAddress!.ToString().TrimEnd('/'),
            ["ConsoleAuth:SigningKey"] = IdentityHost.SigningKey,
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        // One clock for both: the console checks the lifetime of the tokens Identity issues.
        var (host, address) = await ServiceHost<ConsoleOptions>.StartOnLoopbackAsync(settings, services => services.AddSingleton<TimeProvider>(identity.Time));
        return new ConsoleHost(identity, host, address);
    }

    /// <summary>A client of the console origin that follows no redirects and keeps no cookies.</summary>
    public HttpClient Client() => new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = Address };

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await Identity.DisposeAsync();
    }
}
