using ThinkWatch.AppHost.Local;

namespace ThinkWatch.AppHost.Tests;

/// <summary>Where the dashboard listens when nobody says: loopback HTTP, shifted with the run's ports.</summary>
[TestFixture]
public sealed class DashboardDefaultsTests
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;

    [Test]
    public void The_dashboard_and_its_endpoints_listen_on_loopback_and_move_with_the_port_offset()
    {
        var plain = DashboardDefaults.Apply(["--data", "/tmp/x"], NoEnvironment);
        var shifted = DashboardDefaults.Apply(["--port-offset", "100"], NoEnvironment);
        var shiftedInline = DashboardDefaults.Apply(["--port-offset=100"], NoEnvironment);

        Assert.That(plain, Is.EqualTo(new[]
        {
            "--data", "/tmp/x",
            "--ASPNETCORE_URLS=http://127.0.0.1:18888",
            "--ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL=http://127.0.0.1:18889",
            "--ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL=http://127.0.0.1:18890",
            "--ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL=http://127.0.0.1:18891",
            "--ASPIRE_ALLOW_UNSECURED_TRANSPORT=true",
        }));
        Assert.That(shifted, Does.Contain("--ASPNETCORE_URLS=http://127.0.0.1:18988").And.Contain("--ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL=http://127.0.0.1:18991"));
        Assert.That(shiftedInline.Skip(1), Is.EqualTo(shifted.Skip(2)));
    }

    [Test]
    public void What_the_environment_or_the_command_line_says_wins()
    {
        var args = DashboardDefaults.Apply(["--ASPNETCORE_URLS=http://0.0.0.0:9999"],
            name => name == "ASPIRE_ALLOW_UNSECURED_TRANSPORT" ? "false" : null);

        Assert.That(args.Count(a => a.StartsWith("--ASPNETCORE_URLS", StringComparison.Ordinal)), Is.EqualTo(1));
        Assert.That(args, Does.Contain("--ASPNETCORE_URLS=http://0.0.0.0:9999"));
        Assert.That(args.Any(a => a.StartsWith("--ASPIRE_ALLOW_UNSECURED_TRANSPORT", StringComparison.Ordinal)), Is.False);
        Assert.That(args, Does.Contain("--ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL=http://127.0.0.1:18889"));
    }
}
