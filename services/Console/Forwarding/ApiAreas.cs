namespace ThinkWatch.Console.Forwarding;

/// <summary>
/// Which service owns each /api area. The console forwards browsers' and scripts' calls there unchanged, and its own
/// pages call the same areas (no page-only backdoor); the owning service checks the console token itself.
/// </summary>
public static class ApiAreas
{
    public static readonly IReadOnlyDictionary<string, string> Owners = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["/api/setup"] = "identity",
        ["/api/auth"] = "identity",
        ["/api/me"] = "identity",
        ["/api/users"] = "identity",
        ["/api/teams"] = "identity",
        ["/api/keys"] = "identity",
        ["/api/providers"] = "identity",
        ["/api/openapi"] = "identity",
        ["/api/reference"] = "identity",
        ["/api/limits"] = "quota",
        ["/api/pricing"] = "quota",
        ["/api/models"] = "aigateway",
        ["/api/routes"] = "aigateway",
        ["/api/mcp"] = "mcpgateway",
        ["/api/logs"] = "auditingest",
        ["/api/analytics"] = "auditingest",
        ["/api/log-forwarders"] = "auditingest",
    };

    /// <summary>The service owning <paramref name="path"/> (its first two segments), or null for an area nobody owns.</summary>
    public static string? OwnerOf(PathString path)
    {
        foreach (var (prefix, service) in Owners)
        {
            if (path.StartsWithSegments(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return service;
            }
        }
        return null;
    }
}

/// <summary>Where a service is reached (services:{name}:http:0, as the AppHost and the manifests give it).</summary>
public sealed class ServiceAddresses(IConfiguration configuration)
{
    public string? Of(string service) => configuration[$"services:{service}:http:0"] is { Length: > 0 } address ? address.TrimEnd('/') : null;
}
