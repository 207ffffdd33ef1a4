using System.Text.RegularExpressions;

namespace ThinkWatch.McpGateway.Servers;

/// <summary>An upstream MCP server as the gateway knows it.</summary>
public sealed record McpServer(
    Guid Id, string Name, string DisplayName, Uri Url, string Transport, string AuthMode, bool Enabled, string Status, string? StatusDetail,
    DateTimeOffset? CheckedAt, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>What a console user sends to register a server.</summary>
public sealed record McpServerInput(string? Name, string? DisplayName, string? Url, string? Transport, string? AuthMode, bool? Enabled);

public static class ServerTransports
{
    public const string StreamableHttp = "streamable_http";
    public const string Sse = "sse";
    public static readonly string[] All = [StreamableHttp, Sse];
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

    public static Dictionary<string, string[]> Check(McpServerInput input)
    {
        var errors = new Dictionary<string, string[]>();
        if (input.Name is not { } name || !Name().IsMatch(name))
        {
            errors["name"] = ["Required: 1–32 lower-case letters, digits or '-', starting with a letter (it prefixes the server's tools: name__tool)."];
        }
        if (!Uri.TryCreate(input.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(url.UserInfo) || url.Fragment.Length > 0)
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
        if (input.DisplayName is { Length: > 200 })
        {
            errors["displayName"] = ["At most 200 characters."];
        }
        return errors;
    }
}
