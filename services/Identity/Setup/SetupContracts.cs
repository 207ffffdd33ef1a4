using ThinkWatch.Identity.Keys;

namespace ThinkWatch.Identity.Setup;

/// <summary>
/// POST /api/setup: the first super admin and, optionally, a first API key (the fields of POST /api/keys; the key
/// belongs to the new super admin) and a first provider (those of POST /api/providers).
/// </summary>
public sealed record SetupRequest(string? Email, string? DisplayName, string? Password, CreateKeyRequest? ApiKey, Providers.CreateProviderRequest? Provider = null);

public sealed record SetupStatusResponse(bool Required);

public sealed record UserView(Guid Id, string Email, string DisplayName, string Role);

/// <summary>A key as its creator sees it, once: the plaintext is not retrievable later.</summary>
public sealed record CreatedKeyView(Guid Id, Guid LineageId, string Key, string KeyHint, string Name, IReadOnlyList<string> Surfaces,
    IReadOnlyList<string> AllowedModels, IReadOnlyList<string> AllowedMcpTools, string? McpAccountLabel, DateTimeOffset? ExpiresAt, int? InactivityTimeoutDays)
{
    public string Notice => "Store this key now: ThinkWatch keeps only its hash and cannot show it again.";
}

public sealed record SetupResponse(UserView User, CreatedKeyView? ApiKey, Guid? ProviderId = null);

/// <summary>Field-level checks shared by everything that takes these inputs.</summary>
public static class InputRules
{
    public const int MaxNameLength = 100;
    public const int MaxModelPatterns = 100;

    public static void Email(string? email, string field, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrWhiteSpace(email))
        {
            errors[field] = ["An email address is required."];
        }
        else if (email.Length > 254 || !System.Net.Mail.MailAddress.TryCreate(email, out var parsed) || parsed.Address != email.Trim())
        {
            errors[field] = ["Enter a valid email address, such as ada@example.com."];
        }
    }

    public static void Name(string? name, string field, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            errors[field] = ["A name is required."];
        }
        else if (name.Length > MaxNameLength || name.Any(char.IsControl))
        {
            errors[field] = [$"Use at most {MaxNameLength} characters and no control characters."];
        }
    }

    public static void Surfaces(string[]? surfaces, string field, Dictionary<string, string[]> errors)
    {
        if (surfaces is not { Length: > 0 })
        {
            errors[field] = [$"Choose at least one of: {string.Join(", ", KeySurfaces.All)}."];
        }
        else if (surfaces.FirstOrDefault(s => !KeySurfaces.All.Contains(s)) is { } unknown)
        {
            errors[field] = [$"Unknown surface '{unknown}'; use {string.Join(" or ", KeySurfaces.All)}."];
        }
    }

    /// <summary>Model patterns: names with an optional trailing or inner '*', e.g. "gpt-4o*", "claude-*".</summary>
    public static void ModelPatterns(string[]? patterns, string field, Dictionary<string, string[]> errors)
    {
        if (patterns is null)
        {
            return;
        }
        if (patterns.Length > MaxModelPatterns)
        {
            errors[field] = [$"At most {MaxModelPatterns} patterns."];
        }
        else if (patterns.FirstOrDefault(p => p.Length is 0 or > 200 || !p.All(c => char.IsAsciiLetterOrDigit(c) || "-._:/@*".Contains(c))) is { } bad)
        {
            errors[field] = [$"'{bad}' is not a model pattern: letters, digits, '-', '.', '_', ':', '/', '@' and '*' only."];
        }
    }

    /// <summary>An MCP account label to pin a key to (as the MCP gateway names connections); empty unpins.</summary>
    public static void AccountLabel(string? label, Dictionary<string, string[]> errors)
    {
        if (label is { Length: > 0 } && (label.Length > 64 || !char.IsAsciiLetterLower(label[0]) && !char.IsAsciiDigit(label[0])
                || !label.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '_' or '-')))
        {
            errors["mcpAccountLabel"] = ["1–64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit (the label of an MCP connection)."];
        }
    }
}
