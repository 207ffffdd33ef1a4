using System.Text.RegularExpressions;
using ThinkWatch.McpGateway.Upstream;

namespace ThinkWatch.McpGateway.Servers;

/// <summary>An upstream MCP server as the gateway knows it.</summary>
public sealed record McpServer(
    Guid Id, string Name, string DisplayName, Uri Url, string Transport, string AuthMode, bool Enabled, string Status, string? StatusDetail,
    DateTimeOffset? CheckedAt, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, string? Template = null, string? Scopes = null, Uri? UserinfoEndpoint = null);

/// <summary>
/// What a console user sends to register a server. <see cref="Scopes"/>: OAuth scopes to ask when the authorization server names
/// none; <see cref="UserinfoEndpoint"/>: where a user's token tells whose it is (`@octocat`), when it is not a JWT.
/// </summary>
public sealed record McpServerInput(string? Name, string? DisplayName, string? Url, string? Transport, string? AuthMode, bool? Enabled,
    string? Scopes = null, string? UserinfoEndpoint = null);

public static class ServerTransports
{
    public const string StreamableHttp = "streamable_http";
    public const string Sse = "sse";
    public const string Stdio = "stdio";
    public static readonly string[] All = [StreamableHttp, Sse, Stdio];
}

public static class AuthModes
{
    public const string None = "none";
    public const string Static = "static";
    public const string OAuth = "oauth";
    public static readonly string[] All = [None, Static, OAuth];
}

public static class ServerStatus
{
    public const string Unknown = "unknown";
    public const string Up = "up";
    public const string Down = "down";
    public const string AuthRequired = "auth_required";
}

public static partial class ServerValidation
{
    /// <summary>Lower-case letters, digits and '-', starting with a letter: valid in tool names (2025-11-25 rules) and as a URI scheme prefix.</summary>
    [GeneratedRegex("^[a-z][a-z0-9-]{0,31}$")]
    public static partial Regex Name();

    /// <param name="stdioServers">The names of the configured child-process servers (McpGateway:StdioServers).</param>
    public static Dictionary<string, string[]> Check(McpServerInput input, IReadOnlyCollection<string> stdioServers)
    {
        var errors = new Dictionary<string, string[]>();
        if (input.Name is not { } name || !Name().IsMatch(name))
        {
            errors["name"] = ["Required: 1–32 lower-case letters, digits or '-', starting with a letter (it prefixes the server's tools: name__tool)."];
        }
        if (input.Url is { } raw && HasControlCharacters(raw))
        {
            errors["url"] = [ControlCharacterMessage];
        }
        else if (input.Transport == ServerTransports.Stdio)
        {
            if (input.Url is not { } stdio || !stdio.StartsWith("stdio:", StringComparison.Ordinal) || !stdioServers.Contains(stdio["stdio:".Length..]))
            {
                errors["url"] = [$"stdio:{{name}}, naming a server of the gateway's configuration (McpGateway:StdioServers): {(stdioServers.Count == 0 ? "none configured" : string.Join(", ", stdioServers))}."];
            }
        }
        else if (!Uri.TryCreate(input.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(url.UserInfo) || url.Fragment.Length > 0)
        {
            errors["url"] = ["Required: an absolute http(s) URL without credentials or fragment."];
        }
        if (input.Transport is { } transport && !ServerTransports.All.Contains(transport))
        {
            errors["transport"] = [$"One of {string.Join(", ", ServerTransports.All)}."];
        }
        if (input.AuthMode is { } mode && !AuthModes.All.Contains(mode))
        {
            errors["authMode"] = [$"One of {string.Join(", ", AuthModes.All)}."];
        }
        if (input.UserinfoEndpoint is { } userinfo && HasControlCharacters(userinfo))
        {
            errors["userinfoEndpoint"] = [ControlCharacterMessage];
        }
        else if (input.UserinfoEndpoint is { } other && !(Uri.TryCreate(other, UriKind.Absolute, out var info) && info.Scheme is "https" or "http"))
        {
            errors["userinfoEndpoint"] = ["An absolute http(s) URL."];
        }
        if (input.Scopes is { Length: > 1000 })
        {
            errors["scopes"] = ["At most 1000 characters, space-separated."];
        }
        if (input.DisplayName is { Length: > 200 })
        {
            errors["displayName"] = ["At most 200 characters."];
        }
        return errors;
    }

    /// <summary>
    /// The addresses a well-formed input points at (<see cref="Check"/> first): refused the way the connect-time guard would refuse
    /// them, so an admin learns at once why a server could never be reached — and metadata endpoints are never stored at all.
    /// </summary>
    public static async Task<Dictionary<string, string[]>> CheckDestinationsAsync(McpServerInput input, bool allowPrivate, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        foreach (var (field, value) in new[] { ("url", input.Transport == ServerTransports.Stdio ? null : input.Url), ("userinfoEndpoint", input.UserinfoEndpoint) })
        {
            if (value is not null && await SsrfGuard.RefusalAsync(new Uri(value), allowPrivate, DestinationResolveTimeout, cancellationToken) is { } refusal)
            {
                errors[field] = [$"The gateway will not connect there: {refusal}."];
            }
        }
        return errors;
    }

    private static readonly TimeSpan DestinationResolveTimeout = TimeSpan.FromSeconds(2);

    private const string ControlCharacterMessage = "Must not contain control characters (CR, LF, tab, NUL…), neither as they are nor percent-encoded.";

    /// <summary>Also percent-encoded: the stored URL is written back unescaped (Uri.ToString) and would carry a raw CR LF into requests and headers.</summary>
    private static bool HasControlCharacters(string value) => value.Any(char.IsControl) || Uri.UnescapeDataString(value).Any(char.IsControl);
}
