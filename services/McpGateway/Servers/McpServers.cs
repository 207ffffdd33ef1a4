using System.Text.RegularExpressions;

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
        if (input.Transport == ServerTransports.Stdio)
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
        if (input.UserinfoEndpoint is { } userinfo && !(Uri.TryCreate(userinfo, UriKind.Absolute, out var info) && info.Scheme is "https" or "http"))
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
}
