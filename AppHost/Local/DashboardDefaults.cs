using System.Globalization;

namespace ThinkWatch.AppHost.Local;

/// <summary>
/// Where the Aspire dashboard and its OTLP/resource endpoints listen when nothing says otherwise: plain HTTP on loopback,
/// 18888–18891 shifted by --port-offset (so a second instance on other ports gets a dashboard of its own). The same whether
/// the AppHost is started by <c>dotnet run</c> or as <c>dotnet ThinkWatch.AppHost.dll</c> (no launch profile: without these,
/// Aspire wants a developer HTTPS certificate). An environment variable or a <c>--NAME=value</c> argument still wins.
/// </summary>
public static class DashboardDefaults
{
    public static string[] Apply(string[] args, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var offset = PortOffset(args);
        (string Name, string Value)[] defaults =
        [
            ("ASPNETCORE_URLS", Url(18888 + offset)),
            ("ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL", Url(18889 + offset)),
            ("ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL", Url(18890 + offset)),
            ("ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL", Url(18891 + offset)),
            ("ASPIRE_ALLOW_UNSECURED_TRANSPORT", "true"),
        ];
        var given = defaults.Where(d => environment(d.Name) is not null
            || args.Any(a => a.StartsWith($"--{d.Name}=", StringComparison.OrdinalIgnoreCase) || string.Equals(a, $"--{d.Name}", StringComparison.OrdinalIgnoreCase)));
        return [.. args, .. defaults.Except(given).Select(d => $"--{d.Name}={d.Value}")];
    }

    private static string Url(int port) => $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>--port-offset N or --port-offset=N; a bad value is left for <see cref="LocalOptions"/> to refuse.</summary>
    private static int PortOffset(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            var value = args[i] == "--port-offset" && i + 1 < args.Length ? args[i + 1]
                : args[i].StartsWith("--port-offset=", StringComparison.Ordinal) ? args[i]["--port-offset=".Length..] : null;
            if (value is not null)
            {
                return int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var offset) ? offset : 0;
            }
        }
        return 0;
    }
}
