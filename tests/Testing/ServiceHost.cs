using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace ThinkWatch.Testing;

/// <summary>
/// One ThinkWatch service in-process (TestServer) with the
/// settings a test gives it, as the AppHost would give them through the environment.
/// </summary>
public sealed class ServiceHost<TEntryPoint>(IReadOnlyDictionary<string, string?> settings, Action<IServiceCollection>? services = null)
    : WebApplicationFactory<TEntryPoint>
    where TEntryPoint : class
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        if (services is not null)
        {
            builder.ConfigureTestServices(services);
        }
    }

    /// <summary>
    /// The service on real sockets (Kestrel on 127.0.0.1 and a free port, for other services and SDK clients to reach),
    /// started and ready (the test fails if it is not within a minute). The caller disposes the host.
    /// </summary>
    public static async Task<(ServiceHost<TEntryPoint> Host, Uri Address)> StartOnLoopbackAsync(IReadOnlyDictionary<string, string?> settings,
        Action<IServiceCollection>? services = null)
    {
        var port = LoopbackPorts.Closed();
        var host = new ServiceHost<TEntryPoint>(settings, services);
        host.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, port));
        _ = host.Services; // starts the server
        var address = new Uri($"http://127.0.0.1:{port}/");
        using var http = new HttpClient { BaseAddress = address };
        var (status, body) = await WaitForReadyAsync(http, TimeSpan.FromSeconds(60));
        NUnit.Framework.Assert.That(status, NUnit.Framework.Is.EqualTo(200), body);
        return (host, address);
    }

    /// <summary>Polls /health/ready until it answers 200 or the time is up; returns the last answer.</summary>
    public async Task<(int Status, string Body)> WaitForReadyAsync(TimeSpan timeout)
    {
        using var client = CreateClient();
        return await WaitForReadyAsync(client, timeout);
    }

    /// <summary>The same, through any client (a service on real sockets).</summary>
    public static async Task<(int Status, string Body)> WaitForReadyAsync(HttpClient client, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            using var response = await client.GetAsync("/health/ready");
            var body = await response.Content.ReadAsStringAsync();
            if (response.IsSuccessStatusCode || DateTime.UtcNow > deadline)
            {
                return ((int)response.StatusCode, body);
            }
            await Task.Delay(100);
        }
    }
}
