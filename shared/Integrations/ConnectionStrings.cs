using Microsoft.Extensions.Configuration;

namespace ThinkWatch.Integrations;

internal static class ConnectionStrings
{
    /// <summary>Reads ConnectionStrings:{name} (ConnectionStrings__{name} in the environment), or fails with a clear message.</summary>
    public static string Require(IConfiguration configuration, string name) =>
        configuration.GetConnectionString(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"Connection string '{name}' is not configured. Set ConnectionStrings__{name} (the AppHost does this for every reference).");
}
